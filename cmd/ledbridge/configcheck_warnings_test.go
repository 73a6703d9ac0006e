package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// `config check` prints the warnings `join` logs at start-up about the configuration itself, from
// the same code: no strip will light (no device, discovery off), an expired
// supabase.access_token, and, on the machine running the check, webrtc.interfaces matching
// nothing and a UDP port range too narrow for max_peers. They are warnings: the check passes.
func TestConfigCheckPrintsStartUpWarnings(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"no strips", "discovery:\n  enabled: false\n", "warning: no strip will light"},
		{"narrow port range", "devices: [\"ddp://10.0.0.2?leds=30\"]\nwebrtc:\n  network_types: [udp4]\n  interfaces: [lo]\n  ice_servers:\n    - urls: [\"stun:stun.example.org:3478\"]\n  udp_port_min: 50000\n  udp_port_max: 50003\n  max_peers: 4\n",
			"warning: webrtc.udp_port_min..webrtc.udp_port_max is too narrow"},
		{"expired access token", "devices: [\"ddp://10.0.0.2?leds=30\"]\nsupabase:\n  url: https://x.supabase.co\n  key: k\n  private: true\n  access_token: " + expiredJWT + "\n",
			"warning: supabase.access_token expired"},
		{"no such interface", "devices: [\"ddp://10.0.0.2?leds=30\"]\nwebrtc:\n  interfaces: [nosuchif0]\n", "warning: webrtc.interfaces matches no interface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "config", "check", "--config", writeConfig(t, "room:\n  code: JAM234\n"+tc.body))
			cmd.Env = append(os.Environ(), "LEDBRIDGE_DEVICES=")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("config check: %v\n%s", err, stderr.String())
			}
			if strings.Count(stderr.String(), tc.want) != 1 || !strings.HasPrefix(stdout.String(), "config ok") {
				t.Errorf("config check: stdout %q, stderr %q; want config ok and one %q", stdout.String(), stderr.String(), tc.want)
			}
		})
	}
}

// expiredJWT is a JWT whose exp (2001-09-09) has passed; its signature is not checked here.
var expiredJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1000000000}`)) + ".c2ln"
