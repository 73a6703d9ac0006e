package status

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func getWithHost(t *testing.T, url, host string) (int, string) {
	t.Helper()
	// A wrongly admitted /api/events would stream forever: bound the request.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Host = host
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s with Host %q: %v", url, host, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// TestHostCheckAgainstDNSRebinding: a web page that re-points its own domain at the Pi sends that
// domain in Host; the page, /api/status and the live stream answer only to names a LAN visitor
// uses, and to the configured ones.
func TestHostCheckAgainstDNSRebinding(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789", URL: "http://10.0.0.2:4000"}}}
	base := start(t, Config{Provider: p, AllowedHosts: []string{"Lights.Venue.example", "*.stage.example"}})

	for _, host := range []string{
		"attacker.example", "attacker.example:8080", "ATTACKER.example.", "ledbridge.local.attacker.example",
		"lights.venue.example.attacker.example", "stage.example", "192.168.1.20.nip.io:8080", "a..local",
	} {
		for _, path := range []string{"/api/status", "/api/events", "/", "/healthz", "/metrics"} {
			code, body := getWithHost(t, base+path, host)
			if code != http.StatusMisdirectedRequest || !strings.Contains(body, "status.allowed_hosts") || strings.Contains(body, "XYZ789") {
				t.Errorf("Host %q %s: %d %q, want 421 naming status.allowed_hosts", host, path, code, body)
			}
		}
	}
	for _, host := range []string{
		"192.168.1.20:8080", "192.168.1.20", "[fe80::1]:8080", "[fe80::1]", "[fe80::1%25eth0]:8080", "127.0.0.1", "[::1]:8080",
		"raspberrypi:8080", "raspberrypi", "localhost:8080", "ledbridge.local", "LEDBRIDGE.LOCAL.:8080", "pi.lan",
		"pi.home.arpa", "pi.internal", "lights.venue.example", "lights.venue.example:8080", "a.stage.example", "b.a.stage.example:8080",
	} {
		code, body := getWithHost(t, base+"/api/status", host)
		if code != http.StatusOK || !strings.Contains(body, "XYZ789") {
			t.Errorf("Host %q: %d %q, want 200 with the status", host, code, body)
		}
	}
}

func TestNewRejectsBadAllowedHosts(t *testing.T) {
	for _, bad := range []string{"", "http://lights.example", "lights.example:8080", "*.", "*", "a b.example", "lights.example/path", "a..example", "*.*.example"} {
		if _, err := New(Config{Provider: &fakeProvider{}, AllowedHosts: []string{bad}}); !errors.Is(err, ErrBadHostPattern) {
			t.Errorf("AllowedHosts [%q]: err = %v, want ErrBadHostPattern", bad, err)
		}
	}
	for _, good := range []string{"lights.venue.example", "*.venue.example", "LIGHTS.example.", "stage_1.example"} {
		if err := CheckHostPattern(good); err != nil {
			t.Errorf("CheckHostPattern(%q) = %v", good, err)
		}
	}
}

// TestSetAccessChangesARunningServer: a configuration reload hands the running server a new
// control token and new host names; the next requests see them, and a bad pattern changes nothing.
func TestSetAccessChangesARunningServer(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}}
	srv, base := startServer(t, Config{Provider: p, Controller: &fakeController{}, Token: "old-token", AllowedHosts: []string{"lights.venue.example"}})
	expect := func(when string, hosts map[string]int, tokens map[string]int, controls bool) {
		t.Helper()
		for host, want := range hosts {
			if code, _ := getWithHost(t, base+"/api/status", host); code != want {
				t.Errorf("%s: Host %q: %d, want %d", when, host, code, want)
			}
		}
		for token, want := range tokens {
			if code, body := post(t, base+"/api/control/blackout", token, `{"on":false}`); code != want {
				t.Errorf("%s: token %q: %d %s, want %d", when, token, code, body, want)
			}
		}
		var snap Snapshot
		_, body := get(t, base+"/api/status")
		if err := json.Unmarshal([]byte(body), &snap); err != nil || snap.Controls != controls {
			t.Errorf("%s: /api/status controls = %v (%v), want %v", when, snap.Controls, err, controls)
		}
	}
	expect("at start",
		map[string]int{"lights.venue.example": 200, "a.bar.example": 421},
		map[string]int{"old-token": 200, "new-token": 401}, true)

	if err := srv.SetAccess("new-token", []string{"*.bar.example"}); err != nil {
		t.Fatal(err)
	}
	expect("after SetAccess",
		map[string]int{"lights.venue.example": 421, "a.bar.example": 200, "raspberrypi:8080": 200},
		map[string]int{"old-token": 401, "new-token": 200}, true)

	if err := srv.SetAccess("other", []string{"ok.example", "http://bad.example"}); !errors.Is(err, ErrBadHostPattern) {
		t.Fatalf("SetAccess with a bad pattern: %v, want ErrBadHostPattern", err)
	}
	expect("after a refused SetAccess",
		map[string]int{"ok.example": 421, "a.bar.example": 200},
		map[string]int{"other": 401, "new-token": 200}, true)

	if err := srv.SetAccess("", nil); err != nil {
		t.Fatal(err)
	}
	expect("after the token was removed",
		map[string]int{"a.bar.example": 421, "pi.local": 200},
		map[string]int{"new-token": 403, "": 403}, false)
}
