package status

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeProvider struct {
	mu     sync.Mutex
	snap   Snapshot
	pixels []byte
}

func (f *fakeProvider) Snapshot() Snapshot { f.mu.Lock(); defer f.mu.Unlock(); return f.snap }

func (f *fakeProvider) Previews(dst []Preview) []Preview {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(dst, Preview{ID: "strip-1", Pixels: append([]byte(nil), f.pixels...)})
}

type fakeController struct {
	mu    sync.Mutex
	calls []string
}

func (c *fakeController) record(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, s)
	return nil
}
func (c *fakeController) SetMode(m string) error {
	if m != "auto" && m != "local" && m != "broadcast" {
		return errors.New("unknown mode " + m)
	}
	return c.record("mode " + m)
}
func (c *fakeController) SetBrightness(v float64) error     { return c.record("brightness") }
func (c *fakeController) SetBlackout(on bool) error         { return c.record("blackout") }
func (c *fakeController) TestPattern(d time.Duration) error { return c.record("test " + d.String()) }
func (c *fakeController) Identify(id string) error          { return c.record("identify " + id) }

func start(t *testing.T, cfg Config) string {
	t.Helper()
	_, base := startServer(t, cfg)
	return base
}

// startServer serves cfg on a loopback port until the test ends and returns the server and its
// base URL.
func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	return startServerWith(t, cfg, func(*Server) {})
}

// startServerWith is startServer with tune run on the server before it serves (to shorten or
// lengthen its timeouts).
func startServerWith(t *testing.T, cfg Config, tune func(*Server)) (*Server, string) {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tune(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set(TokenHeader, token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestPageStatusHealthMetrics(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{
		Room:      Room{Code: "ABC123", HostedBy: "lan", URL: "http://10.0.0.2:4000", Mode: "auto", Look: "local", Tempo: 120},
		Musicians: []Musician{{ID: "p1", Name: "Ana", Notes: []Note{{Name: "A4", MIDI: 69, Hz: 440, Color: "#ff0000"}}}},
		Health:    Health{OK: false, Reason: "room not joined"},
	}}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ledbridge_test_frames_total", Help: "t"})
	reg.MustRegister(c)
	c.Add(3)
	base := start(t, Config{Provider: p, Gatherer: reg, Token: "s3cret-token", Controller: &fakeController{}})

	code, body := get(t, base+"/")
	if code != 200 || !strings.Contains(body, "<title>ledbridge</title>") || !strings.Contains(body, "app.js") {
		t.Fatalf("GET / = %d %q", code, body[:min(len(body), 200)])
	}
	if code, body := get(t, base+"/app.js"); code != 200 || !strings.Contains(body, "EventSource") {
		t.Fatalf("GET /app.js = %d", code)
	}
	code, body = get(t, base+"/api/status")
	var snap Snapshot
	if code != 200 || json.Unmarshal([]byte(body), &snap) != nil || snap.Room.Code != "ABC123" || snap.Musicians[0].Notes[0].Name != "A4" || !snap.Controls {
		t.Fatalf("GET /api/status = %d %s", code, body)
	}
	if strings.Contains(body, "s3cret-token") {
		t.Fatal("/api/status leaks the control token")
	}
	code, body = get(t, base+"/healthz")
	if code != 503 || !strings.Contains(body, "room not joined") {
		t.Fatalf("unhealthy /healthz = %d %q", code, body)
	}
	p.mu.Lock()
	p.snap.Health = Health{OK: true}
	p.mu.Unlock()
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("healthy /healthz = %d", code)
	}
	code, body = get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "ledbridge_test_frames_total 3") {
		t.Fatalf("/metrics = %d %q", code, body)
	}
}

func TestControls(t *testing.T) {
	p := &fakeProvider{}
	t.Run("disabled without a token", func(t *testing.T) {
		base := start(t, Config{Provider: p, Controller: &fakeController{}})
		if code, _ := post(t, base+"/api/control/mode", "", `{"mode":"local"}`); code != 403 {
			t.Fatalf("code %d, want 403", code)
		}
	})
	ctl := &fakeController{}
	base := start(t, Config{Provider: p, Controller: ctl, Token: "tok"})
	if code, _ := post(t, base+"/api/control/mode", "", `{"mode":"local"}`); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := post(t, base+"/api/control/mode", "tok-wrong", `{"mode":"local"}`); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, body := post(t, base+"/api/control/mode", "tok", `{"mode":"local"}`); code != 200 {
		t.Fatalf("mode: %d %s", code, body)
	}
	if code, body := post(t, base+"/api/control/mode", "tok", `{"mode":"disco"}`); code != 400 || !strings.Contains(body, "disco") {
		t.Fatalf("bad mode: %d %s", code, body)
	}
	if code, _ := post(t, base+"/api/control/identify", "tok", `{"device":"strip-1"}`); code != 200 {
		t.Fatalf("identify: %d", code)
	}
	if code, _ := post(t, base+"/api/control/test-pattern", "tok", `{"seconds":2}`); code != 200 {
		t.Fatalf("test-pattern: %d", code)
	}
	if code, _ := post(t, base+"/api/control/brightness", "tok", `not json`); code != 400 {
		t.Fatalf("garbage body: %d", code)
	}
	if code, _ := post(t, base+"/api/control/brightness", "tok", strings.Repeat("x", 10000)); code != 400 {
		t.Fatalf("oversized body: %d", code)
	}
	if code, _ := post(t, base+"/api/control/selfdestruct", "tok", `{}`); code != 404 {
		t.Fatalf("unknown control: %d", code)
	}
	ctl.mu.Lock()
	defer ctl.mu.Unlock()
	want := []string{"mode local", "identify strip-1", "test 2s"}
	if strings.Join(ctl.calls, ",") != strings.Join(want, ",") {
		t.Fatalf("controller calls = %q, want %q", ctl.calls, want)
	}
}

func TestEventsStream(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}, pixels: []byte{255, 0, 0, 0, 255, 0}}
	base := start(t, Config{Provider: p, StatusInterval: 20 * time.Millisecond, PreviewInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event string
	gotStatus, gotPreview := false, false
	for sc.Scan() && !(gotStatus && gotPreview) {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := strings.TrimPrefix(line, "data: ")
			switch event {
			case "status":
				var s Snapshot
				if err := json.Unmarshal([]byte(data), &s); err != nil || s.Room.Code != "XYZ789" {
					t.Fatalf("status event %q: %v", data, err)
				}
				gotStatus = true
			case "preview":
				var pv map[string]struct {
					RGBW bool   `json:"rgbw"`
					Px   string `json:"px"`
				}
				if err := json.Unmarshal([]byte(data), &pv); err != nil {
					t.Fatalf("preview event %q: %v", data, err)
				}
				px, _ := base64.StdEncoding.DecodeString(pv["strip-1"].Px)
				if string(px) != string(p.pixels) {
					t.Fatalf("preview pixels %v, want %v", px, p.pixels)
				}
				gotPreview = true
			}
		}
	}
	if !gotStatus || !gotPreview {
		t.Fatalf("stream ended early: status %v preview %v (%v)", gotStatus, gotPreview, sc.Err())
	}
}

func TestNewNeedsProvider(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNoProvider) {
		t.Fatalf("err = %v", err)
	}
}

func TestProcessSampler(t *testing.T) {
	var p ProcessSampler
	start := time.Now()
	p.Sample(start)
	// Burn some CPU so the next sample has something to measure.
	x := 0
	for time.Since(start) < 600*time.Millisecond {
		x++
	}
	cpu, rss, g := p.Sample(time.Now())
	if cpu <= 0 || cpu > 400 || rss == 0 || g == 0 {
		t.Fatalf("cpu %.1f%% rss %d goroutines %d (x=%d)", cpu, rss, g, x)
	}
}

// streamFrom opens /api/events over a fresh TCP connection from the loopback address from.
func streamFrom(ctx context.Context, t *testing.T, base, from string) (int, string, func()) {
	t.Helper()
	tr := &http.Transport{
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext,
		DisableKeepAlives: true,
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("stream from %s: %v", from, err)
	}
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		tr.CloseIdleConnections()
		return res.StatusCode, string(body), func() {}
	}
	return res.StatusCode, "", func() { res.Body.Close(); tr.CloseIdleConnections() }
}

// TestEventsStreamsCappedPerClient: one LAN host cannot take every live-stream slot; others still
// get theirs until the global cap, and a host that closes a page gets its slot back.
func TestEventsStreamsCappedPerClient(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}}
	base := start(t, Config{Provider: p, MaxStreams: 6})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	open := func(from string, want int, wantBody string) {
		t.Helper()
		code, body, closeIt := streamFrom(ctx, t, base, from)
		closers = append(closers, closeIt)
		if code != want || !strings.Contains(body, wantBody) {
			t.Fatalf("stream from %s: %d %q, want %d %q", from, code, body, want, wantBody)
		}
	}
	for range 4 {
		open("127.0.0.1", http.StatusOK, "")
	}
	open("127.0.0.1", http.StatusTooManyRequests, "too many live viewers from this address")
	open("127.0.0.2", http.StatusOK, "")
	open("127.0.0.2", http.StatusOK, "")
	open("127.0.0.3", http.StatusServiceUnavailable, "too many live viewers")
	// Both refusals say when to ask again: a page shows it (EventSource cannot read them).
	for _, from := range []string{"127.0.0.1", "127.0.0.3"} {
		tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
		res, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		tr.CloseIdleConnections()
		if res.StatusCode == http.StatusOK || res.Header.Get("Retry-After") != streamRetryAfter {
			t.Errorf("refused stream from %s: HTTP %d, Retry-After %q, want a refusal with %q", from, res.StatusCode, res.Header.Get("Retry-After"), streamRetryAfter)
		}
	}

	// 127.0.0.1 closes a page: its slot comes back once the server has seen the connection go.
	closers[0]()
	for {
		code, body, closeIt := streamFrom(ctx, t, base, "127.0.0.1")
		closers = append(closers, closeIt)
		if code == http.StatusOK {
			break
		}
		if code != http.StatusTooManyRequests {
			t.Fatalf("after closing a stream: %d %q", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// No other site may frame the page (a framing page could lead staff into typing the control
// token into it): every answer says so, the page and its script as much as the API.
func TestPageRefusesToBeFramed(t *testing.T) {
	base := start(t, Config{Provider: &fakeProvider{}, Token: "t", Controller: &fakeController{}})
	for _, path := range []string{"/", "/app.js", "/api/status"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if csp, xfo := res.Header.Get("Content-Security-Policy"), res.Header.Get("X-Frame-Options"); !strings.Contains(csp, "frame-ancestors 'none'") || xfo != "DENY" {
			t.Errorf("GET %s: Content-Security-Policy %q, X-Frame-Options %q; want frame-ancestors 'none' and DENY", path, csp, xfo)
		}
	}
}
