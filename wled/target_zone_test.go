package wled_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

// An IPv6 link-local address names its interface with a zone, written as `ip` prints it
// (fe80::1%eth0); a URL must escape the "%" (RFC 6874: [fe80::1%25eth0]). Both forms are one
// device, and String gives the escaped one back.
func TestParseTargetIPv6Zone(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want wled.Target
		str  string
	}{
		{"fe80::1%eth0", wled.Target{Protocol: wled.ProtocolAuto, Host: "fe80::1%eth0", HTTPPort: 80}, "wled://[fe80::1%25eth0]:80"},
		{"[fe80::1%eth0]:8080", wled.Target{Protocol: wled.ProtocolAuto, Host: "fe80::1%eth0", HTTPPort: 8080}, "wled://[fe80::1%25eth0]:8080"},
		{"wled://[fe80::1%wlan0]", wled.Target{Protocol: wled.ProtocolAuto, Host: "fe80::1%wlan0", HTTPPort: 80}, "wled://[fe80::1%25wlan0]:80"},
		{"wled://[fe80::1%25wlan0]", wled.Target{Protocol: wled.ProtocolAuto, Host: "fe80::1%wlan0", HTTPPort: 80}, "wled://[fe80::1%25wlan0]:80"},
		{"ddp://[fe80::1%eth0]:4049?leds=3", wled.Target{Protocol: wled.ProtocolDDP, Host: "fe80::1%eth0", Port: 4049, LEDs: 3}, "ddp://[fe80::1%25eth0]:4049?leds=3"},
		{"dnrgb://[fe80::2%br-lan]?leds=3", wled.Target{Protocol: wled.ProtocolDNRGB, Host: "fe80::2%br-lan", Port: wled.RealtimePort, LEDs: 3}, "dnrgb://[fe80::2%25br-lan]:21324?leds=3"},
	} {
		got, err := wled.ParseTarget(tc.in)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want || got.String() != tc.str {
			t.Errorf("ParseTarget(%q) = %+v (%s), want %+v (%s)", tc.in, got, got, tc.want, tc.str)
			continue
		}
		if again, err := wled.ParseTarget(got.String()); err != nil || again != got {
			t.Errorf("ParseTarget(%q) = %+v, %v; want it back", got.String(), again, err)
		}
	}
}

func TestParseTargetBadIPv6Zone(t *testing.T) {
	for _, in := range []string{"fe80::1%", "wled://[fe80::1%]", "ddp://[fe80::1%25]", "wled://[192.168.1.2%eth0]", "wled://[fe80::1%eth0", "::%\xb2", "wled://[fe80::1%25%B2]", "ddp://[fe80::1%e/th0]"} {
		_, err := wled.ParseTarget(in)
		if !errors.Is(err, wled.ErrBadTarget) {
			t.Errorf("ParseTarget(%q) = %v, want ErrBadTarget", in, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "invalid URL escape") {
			t.Errorf("ParseTarget(%q): %q, want an error about the address, not URL escaping", in, msg)
		}
		t.Logf("%s: %v", in, err)
	}
}
