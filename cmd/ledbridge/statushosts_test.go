package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
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

// TestJoinReloadAppliesStatusAccess: SIGHUP hands the running status page a new token and new
// allowed host names, and the reload's log line names a changed key that needs a restart.
func TestJoinReloadAppliesStatusAccess(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	write := func(token, hosts, fps string) {
		t.Helper()
		cfg := "discovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\noutput:\n  fps: " + fps +
			"\nstatus:\n  addr: 127.0.0.1:0\n  token: " + token + "\n  allowed_hosts: " + hosts + "\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("first-token-7f3a", `["lights.venue.example"]`, "60")
	cmd, statusURL, stderr := startJoinBinary(t, bin, "ACC234", cfgPath)
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, host, token string) int {
		t.Helper()
		req, _ := http.NewRequest(method, statusURL+path, strings.NewReader(`{"on":false}`))
		req.Host = host
		if token != "" {
			req.Header.Set("X-Ledbridge-Token", token)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	check := func(when string, want map[[3]string]int) {
		t.Helper()
		for req, code := range want {
			method, path := http.MethodGet, "/api/status"
			if req[2] != "" {
				method, path = http.MethodPost, "/api/control/blackout"
			}
			if got := do(method, path, req[0]+":8080", req[2]); got != code {
				t.Errorf("%s: %s %s Host %s token %q: %d, want %d", when, method, path, req[0], req[2], got, code)
			}
		}
	}
	check("at start", map[[3]string]int{
		{"lights.venue.example"}: 200, {"a.bar.example"}: 421,
		{"127.0.0.1", "", "first-token-7f3a"}: 200, {"127.0.0.1", "", "second-token-9c1e"}: 401,
	})

	write("second-token-9c1e", `["*.bar.example"]`, "30")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitJoin(t, 10*time.Second, "the reload", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	check("after the reload", map[[3]string]int{
		{"lights.venue.example"}: 421, {"a.bar.example"}: 200,
		{"127.0.0.1", "", "first-token-7f3a"}: 401, {"127.0.0.1", "", "second-token-9c1e"}: 200,
	})
	log := stderr.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "output.fps") || !strings.Contains(log, "restart") {
		t.Errorf("the reload did not warn that output.fps needs a restart:\n%s", log)
	}
	// The token is applied: its key may be among those changed, not among those needing a restart.
	var restart string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "configuration reloaded") {
			_, restart, _ = strings.Cut(line, " keys=")
		}
	}
	if strings.Contains(restart, "status.token") || strings.Contains(log, "second-token-9c1e") {
		t.Errorf("the reload log asks for a restart over the applied token (or shows it):\n%s", log)
	}
}
