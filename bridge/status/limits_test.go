package status

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialFrom opens a raw TCP connection to the server at base from the loopback address from,
// with a receive buffer of rcvbuf bytes when rcvbuf > 0 (set before connecting, so that the
// window the server sees is small too).
func dialFrom(ctx context.Context, t *testing.T, base, from string, rcvbuf int) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closedByServer reports whether the server closed conn (which has sent nothing it should
// answer): a read ends with EOF or a reset instead of blocking until ctx's deadline.
func closedByServer(ctx context.Context, conn net.Conn) bool {
	deadline, _ := ctx.Deadline()
	_ = conn.SetReadDeadline(deadline)
	_, err := conn.Read(make([]byte, 1))
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// roundTrip sends one keep-alive request on conn and reads the answer, proving the server took
// the connection (and counts it, while it stays open).
func roundTrip(t *testing.T, conn net.Conn) {
	t.Helper()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("a connection within the caps: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
}

// getFrom does one GET over a fresh connection from the loopback address from; err is set when
// the server closed the connection without an answer.
func getFrom(ctx context.Context, base, from, path string) (int, error) {
	tr := &http.Transport{
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext,
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// eventuallyServed retries a GET of /healthz from from until it is answered: the client's
// connection slot has come back.
func eventuallyServed(ctx context.Context, t *testing.T, base, from, why string) {
	t.Helper()
	for {
		code, err := getFrom(ctx, base, from, "/healthz")
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %s never got its connection slot back (last: %d %v)", why, from, code, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestConnectionsCappedPerClientAndInTotal: one LAN host cannot hold more than its share of the
// server's sockets (the extra ones are closed at once), others are still served up to the total
// cap, and a closed connection frees its slot. The connections are live streams: at either cap a
// newcomer would take the place of a connection without a request in progress
// (TestNewViewerEvictsIdleKeepAliveAndHalfSentHeaders).
func TestConnectionsCappedPerClientAndInTotal(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}}
	_, base := startServer(t, Config{Provider: p, MaxConnections: 4, MaxConnectionsPerClient: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	openStream := func(from string) func() {
		t.Helper()
		code, body, closeIt := streamFrom(ctx, t, base, from)
		t.Cleanup(closeIt)
		if code != http.StatusOK {
			t.Fatalf("a stream from %s within the caps: %d %q", from, code, body)
		}
		return closeIt
	}

	closeFirst := openStream("127.0.0.1")
	openStream("127.0.0.1")
	if !closedByServer(ctx, dialFrom(ctx, t, base, "127.0.0.1", 0)) {
		t.Fatal("a third connection from one client was kept open (cap 2 per client)")
	}
	// Another client is still served, up to the total cap.
	openStream("127.0.0.2")
	openStream("127.0.0.2")
	if !closedByServer(ctx, dialFrom(ctx, t, base, "127.0.0.3", 0)) {
		t.Fatal("a fifth connection was kept open (total cap 4)")
	}
	closeFirst()
	eventuallyServed(ctx, t, base, "127.0.0.3", "after a connection closed")
}

// TestHalfSentBodyIsDropped: a client that sends a control request's headers and then only part
// of its body does not hold the connection (and its slot) for ever, whether the handler reads the
// body (right token) or turns it down unread (wrong token).
func TestHalfSentBodyIsDropped(t *testing.T) {
	for _, token := range []string{"tok", "wrong"} {
		t.Run("token "+token, func(t *testing.T) {
			ctl := &fakeController{}
			_, base := startServerWith(t, Config{Provider: &fakeProvider{}, Controller: ctl, Token: "tok", MaxConnectionsPerClient: 1},
				func(s *Server) { s.readTimeout = 100 * time.Millisecond })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn := dialFrom(ctx, t, base, "127.0.0.1", 0)
			fmt.Fprintf(conn, "POST /api/control/blackout HTTP/1.1\r\nHost: 127.0.0.1\r\n%s: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"on\":", TokenHeader, token)
			// The server answers (400 or 401) or not, but closes the connection.
			deadline, _ := ctx.Deadline()
			_ = conn.SetReadDeadline(deadline)
			if _, err := io.Copy(io.Discard, conn); isTimeout(err) {
				t.Fatal("the server kept the connection of a half-sent body open")
			}
			eventuallyServed(ctx, t, base, "127.0.0.1", "a half-sent body")
			ctl.mu.Lock()
			defer ctl.mu.Unlock()
			if len(ctl.calls) != 0 {
				t.Fatalf("a half-sent control ran: %q", ctl.calls)
			}
		})
	}
}

// TestSlowReaderOfAnAnswerIsDropped: a client that asks for a large answer and does not read it
// does not hold the connection (and its slot) for ever, and what it finally reads is cut short.
func TestSlowReaderOfAnAnswerIsDropped(t *testing.T) {
	// An answer far larger than the loopback connection's buffers.
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: strings.Repeat("x", 16<<20)}}}
	_, base := startServerWith(t, Config{Provider: p, MaxConnectionsPerClient: 1},
		func(s *Server) { s.writeTimeout = 100 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn := dialFrom(ctx, t, base, "127.0.0.1", 4096)
	if _, err := io.WriteString(conn, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	eventuallyServed(ctx, t, base, "127.0.0.1", "a stalled reader")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return // cut before the header was read: fine
	}
	defer res.Body.Close()
	if n, err := io.Copy(io.Discard, res.Body); err == nil {
		t.Fatalf("the stalled reader still got the whole answer (%d bytes)", n)
	}
}

// TestHeaderSizeBounded: a request whose header is larger than any browser sends is refused
// (431) rather than buffered up to net/http's 1 MB default.
func TestHeaderSizeBounded(t *testing.T) {
	base := start(t, Config{Provider: &fakeProvider{}})
	req, _ := http.NewRequest(http.MethodGet, base+"/api/status", nil)
	req.Header.Set("X-Filler", strings.Repeat("a", 100<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 100 KiB header: %d, want 431", res.StatusCode)
	}
	// A header the size of a heavy browser's (cookies of other apps on the same host name) passes.
	req.Header.Set("X-Filler", strings.Repeat("a", 16<<10))
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("a 16 KiB header: %d, want 200", res.StatusCode)
	}
}

// TestStreamOutlivesRequestTimeouts: the bounds on a request's arrival and its answer's reading
// do not cut a live stream, which moves its own write deadline with every event.
func TestStreamOutlivesRequestTimeouts(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}}
	const requestTimeout = 30 * time.Millisecond
	_, base := startServerWith(t, Config{Provider: p, StatusInterval: requestTimeout / 3, PreviewInterval: time.Hour},
		func(s *Server) { s.readTimeout, s.writeTimeout = requestTimeout, requestTimeout })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ls := mustOpen(ctx, t, base, "")
	// Events come at most one per StatusInterval, so these span well over the request bounds.
	for range 30 {
		ls.next(ctx, t, "status")
	}
}
