package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestJoinStatusPageAllowedHosts: status.allowed_hosts reaches the running daemon's status page,
// which answers to a configured name and to LAN names, and 421 to a DNS-rebinding page's domain.
func TestJoinStatusPageAllowedHosts(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	cfg := "discovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n  allowed_hosts: [\"lights.venue.example\"]\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, statusURL, _ := startJoinBinary(t, bin, "HST234", cfgPath)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, statusURL+"/api/status", nil)
		req.Host = host
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for _, host := range []string{"lights.venue.example", "lights.venue.example:8080", "raspberrypi:8080", "ledbridge.local", "192.168.1.20:8080"} {
		if code, body := get(host); code != http.StatusOK || !strings.Contains(body, "HST234") {
			t.Errorf("Host %q: %d %.80q, want 200 with the room", host, code, body)
		}
	}
	if code, body := get("attacker.example"); code != http.StatusMisdirectedRequest || !strings.Contains(body, "status.allowed_hosts") || strings.Contains(body, "HST234") {
		t.Errorf("Host attacker.example: %d %q, want 421 naming status.allowed_hosts", code, body)
	}
}
