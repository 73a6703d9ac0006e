package status

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzControl feeds the page's handler (Host check, routing, token guard, control bodies) a
// request as anyone on the network can shape it: method, path, Host, token, body and peer
// address, with one status.allowed_hosts pattern as an operator could write it. It must never
// panic nor answer 5xx (but /healthz, whose 503 means unhealthy); a JSON reply must be valid
// JSON, which the page parses; a control answered 200 must have run exactly one call (a test
// pattern 1 to 60 s long, as the handler promises the session), and anything else none: a
// refused or garbled request must never black the strips out or change their brightness.
func FuzzControl(f *testing.F) {
	const token = "tok"
	f.Add("POST", "/api/control/brightness", "localhost:8080", token, `{"value":0.5}`, "10.0.0.1:5", "*.stage.example")
	f.Add("POST", "/api/control/brightness", "localhost", token, `{"value":0.5}{"value":1}`, "10.0.0.1:5", "")
	f.Add("POST", "/api/control/test-pattern", "127.0.0.1", token, `{"seconds":59.9999999999}`, "[fe80::1%eth0]:5", "Lights.Venue.example")
	f.Add("POST", "/api/control/test-pattern", "127.0.0.1", token, `{"seconds":1e-300}`, "127.0.0.1:5", "")
	f.Add("POST", "/api/control/identify", "[::1]:80", token, `{"device":"strip-1"}`, "x", "")
	f.Add("POST", "/api/control/mode", "lights.venue.example", "bad", `{"mode":"local"}`, "10.0.0.2:1", "lights.venue.example")
	f.Add("POST", "/api/control/blackout", "a.stage.example", token, ``, "10.0.0.2:1", "*.stage.example")
	f.Add("POST", "/api/control/blackout", "a.stage.example", token, `{"onn":false}`, "10.0.0.2:1", "*.stage.example")
	f.Add("POST", "/api/control/blackout", "evil.example", token, `{"on":true}`, "10.0.0.2:1", "*.stage.example")
	f.Add("POST", "/api/control/%2e%2e/blackout", "localhost", token, `{"on":true}`, "10.0.0.2:1", "")
	f.Add("PUT", "/api/control/mode", "localhost", token, `{"mode":"auto"}`, "", "[")
	f.Add("GET", "/api/status", "localhost", "", ``, "1.2.3.4:5", "")
	f.Add("GET", "/healthz", "localhost", "", ``, "1.2.3.4:5", "")
	f.Add("GET", "/", "localhost\x00", "", ``, "1.2.3.4:5", "")
	f.Add("GET", "/%BB", "localhost", "", ``, "1.2.3.4:5", "") // a page path that is not UTF-8: 404, not 500
	f.Add("HEAD", "/app.js%FF", "localhost", "", ``, "1.2.3.4:5", "")
	f.Fuzz(func(t *testing.T, method, path, host, sent, body, remote, pattern string) {
		var hosts []string
		if pattern != "" {
			hosts = []string{pattern}
		}
		ctl := &valueController{}
		s, err := New(Config{Provider: &fakeProvider{}, Controller: ctl, Token: token, AllowedHosts: hosts,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return // a pattern New refuses never serves
		}
		_ = s.admitsHost(host)
		req, err := http.NewRequest(method, "http://x"+path, strings.NewReader(body))
		if err != nil {
			return // net/http's server would not have parsed it either
		}
		if p := req.URL.Path; strings.HasPrefix(p, "/api/events") || strings.HasPrefix(p, "/metrics") {
			return // a stream ends only when its client goes; /metrics is promhttp's
		}
		req.Host = host
		req.RemoteAddr = remote
		if sent != "" {
			req.Header.Set(TokenHeader, sent)
		}
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, req)

		if rec.Code >= 500 && req.URL.Path != "/healthz" {
			t.Fatalf("%s %q: %d %s", method, path, rec.Code, rec.Body)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(bytes.TrimSpace(rec.Body.Bytes())) {
			t.Fatalf("%s %q: invalid JSON reply %q", method, path, rec.Body)
		}
		calls := ctl.take()
		if rec.Code != http.StatusOK {
			if len(calls) != 0 {
				t.Fatalf("%s %q body %q: answered %d but ran %q", method, path, body, rec.Code, calls)
			}
			return
		}
		if !strings.HasPrefix(req.URL.Path, "/api/control/") {
			return
		}
		if len(calls) != 1 {
			t.Fatalf("%s %q body %q: answered 200 but ran %q", method, path, body, calls)
		}
		if d, ok := strings.CutPrefix(calls[0], "test "); ok {
			if d, err := time.ParseDuration(d); err != nil || d < time.Second || d > time.Minute {
				t.Fatalf("body %q: test pattern of %v (%v), not 1 to 60 s", body, d, err)
			}
		}
	})
}
