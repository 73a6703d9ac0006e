package status

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// receivedEvent is one event a test stream received.
type receivedEvent struct{ name, data string }

// liveStream is an /api/events response a test reads in the background.
type liveStream struct {
	events chan receivedEvent // every event, in order; the reader waits for the test to take it
	ended  chan error         // receives once when the stream ends: nil for a clean end (EOF)
}

// openStream opens /api/events with the given Host header over its own TCP connection and, when
// the server answers 200, reads it in the background until ctx ends or the test does. It returns
// the status code, and the body of a refusal.
func openStream(ctx context.Context, t *testing.T, base, host string) (int, string, *liveStream) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
	if host != "" {
		req.Host = host
	}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("stream with Host %q: %v", host, err)
	}
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(body), nil
	}
	ls := &liveStream{events: make(chan receivedEvent), ended: make(chan error, 1)}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "event: "); ok {
				name = n
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				select {
				case ls.events <- receivedEvent{name, d}:
				case <-ctx.Done():
					ls.ended <- ctx.Err()
					return
				}
			}
		}
		ls.ended <- sc.Err()
	}()
	t.Cleanup(func() { res.Body.Close(); <-readerDone })
	return res.StatusCode, "", ls
}

// next returns the stream's next event of the given name, failing the test if the stream ends
// first.
func (ls *liveStream) next(ctx context.Context, t *testing.T, name string) receivedEvent {
	t.Helper()
	for {
		select {
		case ev := <-ls.events:
			if ev.name == name {
				return ev
			}
		case err := <-ls.ended:
			t.Fatalf("stream ended (%v) while waiting for a %q event", err, name)
		case <-ctx.Done():
			t.Fatalf("no %q event: %v", name, ctx.Err())
		}
	}
}

// end waits for the stream to end, draining what it still delivers, and returns how it ended.
func (ls *liveStream) end(ctx context.Context, t *testing.T) error {
	t.Helper()
	for {
		select {
		case <-ls.events:
		case err := <-ls.ended:
			return err
		case <-ctx.Done():
			t.Fatalf("the stream did not end: %v", ctx.Err())
		}
	}
}

func mustOpen(ctx context.Context, t *testing.T, base, host string) *liveStream {
	t.Helper()
	code, body, ls := openStream(ctx, t, base, host)
	if code != http.StatusOK {
		t.Fatalf("stream with Host %q: %d %q, want 200", host, code, body)
	}
	return ls
}

func controlsIn(t *testing.T, ev receivedEvent) bool {
	t.Helper()
	var snap Snapshot
	if err := json.Unmarshal([]byte(ev.data), &snap); err != nil {
		t.Fatalf("status event %q: %v", ev.data, err)
	}
	return snap.Controls
}

// TestReloadEndsStreamsOfRemovedHosts: a reload that removes a host name from the allow-list ends
// every live stream opened under that name, cleanly, and frees its slot; streams under names still
// allowed keep delivering, and a new token alone ends nothing (streams need no token).
func TestReloadEndsStreamsOfRemovedHosts(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}, pixels: []byte{1, 2, 3}}
	srv, base := startServer(t, Config{
		Provider: p, Controller: &fakeController{}, Token: "tok",
		AllowedHosts:   []string{"lights.venue.example", "*.stage.example"},
		StatusInterval: 20 * time.Millisecond, PreviewInterval: 10 * time.Millisecond,
		MaxStreams: 3, MaxStreamsPerClient: 3,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	lights := mustOpen(ctx, t, base, "lights.venue.example:8080")
	stage := mustOpen(ctx, t, base, "a.stage.example")
	byIP := mustOpen(ctx, t, base, "") // Host is the server's IP literal: always allowed
	for _, ls := range []*liveStream{lights, stage, byIP} {
		if !controlsIn(t, ls.next(ctx, t, "status")) {
			t.Fatal("status event says controls are off with a token set")
		}
	}
	if code, body, _ := openStream(ctx, t, base, "b.stage.example"); code != http.StatusTooManyRequests {
		t.Fatalf("a fourth stream: %d %q, want 429 (caps full)", code, body)
	}

	if err := srv.SetAccess("tok", []string{"*.stage.example"}); err != nil {
		t.Fatal(err)
	}
	if err := lights.end(ctx, t); err != nil {
		t.Fatalf("the stream under the removed name ended with %v, want a clean end", err)
	}
	for range 3 {
		stage.next(ctx, t, "status")
		stage.next(ctx, t, "preview")
		byIP.next(ctx, t, "status")
	}
	if code, _, _ := openStream(ctx, t, base, "lights.venue.example:8080"); code != http.StatusMisdirectedRequest {
		t.Fatalf("a new stream under the removed name: %d, want 421", code)
	}
	// The ended stream's slot, in the global and the per-client count, is free again.
	stage2 := mustOpen(ctx, t, base, "b.stage.example")
	stage2.next(ctx, t, "status")

	// A new token (none, here) changes no stream's admission: all stay, and say controls are off.
	if err := srv.SetAccess("", []string{"*.stage.example"}); err != nil {
		t.Fatal(err)
	}
	for _, ls := range []*liveStream{stage, stage2, byIP} {
		for controlsIn(t, ls.next(ctx, t, "status")) {
		}
	}

	// A refused reload (a bad pattern) changes nothing, so ends nothing.
	if err := srv.SetAccess("", []string{"http://bad.example"}); !errors.Is(err, ErrBadHostPattern) {
		t.Fatalf("SetAccess with a bad pattern: %v", err)
	}
	for _, ls := range []*liveStream{stage, stage2, byIP} {
		ls.next(ctx, t, "status")
	}

	// Removing the pattern ends both streams under it; the one by IP literal stays.
	if err := srv.SetAccess("", nil); err != nil {
		t.Fatal(err)
	}
	for _, ls := range []*liveStream{stage, stage2} {
		if err := ls.end(ctx, t); err != nil {
			t.Fatalf("a stream under the removed pattern ended with %v, want a clean end", err)
		}
	}
	for range 3 {
		byIP.next(ctx, t, "status")
	}
	if n := srv.streams.viewers(); n != 1 {
		t.Fatalf("%d live streams on the server, want 1", n)
	}
}

// TestReloadEndsAStalledStream: a viewer under a removed name that stopped reading (its
// connection's buffers full, the server blocked writing to it) is ended by the reload too, not
// only when the slow-viewer write timeout gives up on it, and its slot comes back.
func TestReloadEndsAStalledStream(t *testing.T) {
	// Large previews fill the loopback connection's buffers within a few of them.
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}, pixels: make([]byte, 1<<20)}
	srv, base := startServerWith(t, Config{
		Provider: p, AllowedHosts: []string{"lights.venue.example"},
		StatusInterval: 20 * time.Millisecond, PreviewInterval: 10 * time.Millisecond,
		MaxStreams: 1,
	}, func(s *Server) { s.streamWriteTimeout = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A raw connection that reads the response header and then nothing.
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	if _, err := io.WriteString(conn, "GET /api/events HTTP/1.1\r\nHost: lights.venue.example\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("stalled stream's answer: %q %v", status, err)
	}
	// Wait until the server is stuck writing to it: events of both kinds wait for it.
	for !srv.streams.allViewersBehind() {
		select {
		case <-ctx.Done():
			t.Fatal("the stalled stream never fell behind")
		case <-time.After(5 * time.Millisecond):
		}
	}

	if err := srv.SetAccess("", nil); err != nil {
		t.Fatal(err)
	}
	// Its slot (MaxStreams is 1) comes back, long before the hour-long write timeout.
	for {
		code, body, ls := openStream(ctx, t, base, "")
		if code == http.StatusOK {
			ls.next(ctx, t, "status")
			break
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("a new stream after the reload: %d %q", code, body)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the stalled stream under the removed name kept its slot")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// allViewersBehind reports whether every live stream has an event of each kind waiting: its
// handler is not taking them, being stuck writing an earlier one.
func (b *broadcaster) allViewersBehind() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for st := range b.subs {
		st.pendingMu.Lock()
		behind := st.pending[statusEvent] != nil && st.pending[previewEvent] != nil
		st.pendingMu.Unlock()
		if !behind {
			return false
		}
	}
	return len(b.subs) > 0
}

// TestReloadKeepsStreamsOfNamesAlwaysAllowed: names the page answers to whatever the allow-list
// says (.lan and .local names, single labels, IP literals) keep their streams when a reload
// empties the list, even a name that was also listed; a listed-only name's stream ends.
func TestReloadKeepsStreamsOfNamesAlwaysAllowed(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}}
	srv, base := startServer(t, Config{Provider: p, AllowedHosts: []string{"lights.venue.lan", "lights.venue.example"},
		StatusInterval: 20 * time.Millisecond, PreviewInterval: time.Hour, MaxStreamsPerClient: 8})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kept := map[string]*liveStream{}
	for _, host := range []string{"lights.venue.lan", "pi.local:8080", "raspberrypi", "[::1]:8080", "192.168.1.20"} {
		kept[host] = mustOpen(ctx, t, base, host)
	}
	listedOnly := mustOpen(ctx, t, base, "lights.venue.example")
	listedOnly.next(ctx, t, "status")

	if err := srv.SetAccess("", nil); err != nil {
		t.Fatal(err)
	}
	if err := listedOnly.end(ctx, t); err != nil {
		t.Fatalf("the listed-only name's stream ended with %v, want a clean end", err)
	}
	for range 3 {
		for host, ls := range kept {
			if ev := ls.next(ctx, t, "status"); !strings.Contains(ev.data, "XYZ789") {
				t.Fatalf("Host %q: status event %q", host, ev.data)
			}
		}
	}
}

// TestStreamSubscribingDuringAReloadIsChecked: a stream request that passed the Host check just
// before a reload removed its name, and subscribes just after the reload's sweep, is turned
// away (421) rather than left running under the removed name.
func TestStreamSubscribingDuringAReloadIsChecked(t *testing.T) {
	srv, err := New(Config{Provider: &fakeProvider{}, AllowedHosts: []string{"lights.venue.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetAccess("", nil); err != nil {
		t.Fatal(err)
	}
	// The handler itself, as the mux calls it after the Host check has let the request in.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // were it let in
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://lights.venue.example/api/events", nil)
	rec := httptest.NewRecorder()
	srv.handleEvents(rec, req)
	if rec.Code != http.StatusMisdirectedRequest || !strings.Contains(rec.Body.String(), "status.allowed_hosts") {
		t.Fatalf("a stream under a name removed after its Host check: %d %q, want 421", rec.Code, rec.Body)
	}
	if n := srv.streams.viewers(); n != 0 {
		t.Fatalf("%d streams subscribed, want 0", n)
	}
}
