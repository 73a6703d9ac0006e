package lanhost

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLocal(t *testing.T) {
	for host, want := range map[string]bool{
		"192.168.1.5:8080": true, "[fe80::1%eth0]:4000": true, "[::1]": true, "10.0.0.2": true,
		"localhost:8080": true, "LOCALHOST": true, "raspberrypi": true, "raspberrypi.": true,
		"pi.local": true, "PI.LOCAL.:80": true, "lights.lan": true, "x.home.arpa": true, "box.internal": true,
		"evil.example.net": false, "evil.example.net:4000": false, "pi.local.evil.net": false,
		"localhost.evil.net": false, "": false, ":80": false,
	} {
		if got := Local(Name(host)); got != want {
			t.Errorf("Local(Name(%q)) = %v, want %v", host, got, want)
		}
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"Pi.Local.:8080": "pi.local", "[::1]:80": "::1", "[fe80::1]": "fe80::1", "10.0.0.2": "10.0.0.2", "": "",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
