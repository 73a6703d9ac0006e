package hub

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// These tests cover what plain HTTP connections (not WebSockets) can make the hub hold: before
// Serve bounded them, one LAN host could open thousands of keep-alive connections (one GET on the
// broadcast API each) and keep their goroutines and descriptors for ever, and any number of REST
// bodies could be read at once.

// httpConn is a raw keep-alive HTTP connection to the hub from one loopback address.
type httpConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialHTTP(t *testing.T, h *testHub, from string) *httpConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: testTimeout}
	c, err := d.Dial("tcp", h.addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return &httpConn{t: t, conn: c, br: bufio.NewReader(c)}
}

// roundTrip sends req and reads the answer's status, or returns the error that ended the
// connection instead.
func (c *httpConn) roundTrip(req string) (int, error) {
	_ = c.conn.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c.conn, req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// getBroadcastAPI is the reviewer's request: a GET on the broadcast endpoint (405), keep-alive.
const getBroadcastAPI = "GET " + BroadcastAPIPath + " HTTP/1.1\r\nHost: hub\r\n\r\n"

// mustServe requires the connection to be served (it counts while it stays open).
func (c *httpConn) mustServe() {
	c.t.Helper()
	if code, err := c.roundTrip(getBroadcastAPI); err != nil || code != http.StatusMethodNotAllowed {
		c.t.Fatalf("GET on the broadcast API: HTTP %d, %v; want 405", code, err)
	}
}

// closedByServer reports whether the hub closed the connection (which has no request pending):
// a read ends with EOF or a reset instead of the test's deadline.
func (c *httpConn) closedByServer() bool { return c.closedWithin(testTimeout) }

// closedWithin is closedByServer with a deadline of d; a connection still open may be asked again.
func (c *httpConn) closedWithin(d time.Duration) bool {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	_, err := c.br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestHTTPConnectionsBounded: idle keep-alive connections count against MaxHTTPConnections and
// MaxHTTPConnectionsPerAddress; one past the per-address cap takes the place of that address's
// oldest idle one, one past the cap in all the oldest idle one's of any address (on the old code
// all were served and held). An upgraded WebSocket leaves that budget for the socket caps, which
// still count it.
func TestHTTPConnectionsBounded(t *testing.T) {
	h := startHub(t, Config{MaxHTTPConnections: 3, MaxHTTPConnectionsPerAddress: 2, MaxConnections: 4, MaxConnectionsPerAddress: 1})

	// A WebSocket from .4: its upgrade request took an HTTP slot, which it gives back once the
	// server has hijacked the connection (net/http may send the 101 before that: wait for it).
	dial(t, h, dialOpts{from: "127.0.0.4"})
	waitFor(t, "the upgraded connection's HTTP slot to come back", func() bool {
		_, n := h.httpLimiter.Load().Open("127.0.0.4")
		return n == 0
	})
	idle := []*httpConn{dialHTTP(t, h, "127.0.0.4"), dialHTTP(t, h, "127.0.0.4")}
	for _, c := range idle {
		c.mustServe()
	}
	closed := func() (n int) {
		for _, c := range idle {
			if c.closedWithin(10 * time.Millisecond) {
				n++
			}
		}
		return n
	}
	// A third from .4 is served in place of one of its idle keep-alives (which is the oldest
	// depends on when the server marked each idle after its answer).
	idle = append(idle, dialHTTP(t, h, "127.0.0.4"))
	idle[2].mustServe()
	waitFor(t, "one of .4's idle keep-alives to be closed for its third", func() bool { return closed() >= 1 })
	if _, n := h.httpLimiter.Load().Open("127.0.0.4"); n != 2 {
		t.Fatalf("%d HTTP connections open from 127.0.0.4, want its cap of 2", n)
	}
	dialHTTP(t, h, "127.0.0.5").mustServe()
	// A fourth in all (cap 3) is admitted by closing the oldest idle keep-alive
	// (TestHeaderlessConnectionsEvictedForANewClient).
	dialHTTP(t, h, "127.0.0.6").mustServe()
	waitFor(t, "another idle keep-alive to be closed for the newcomer", func() bool { return closed() >= 2 })
	if got := h.Stats().HTTPConnectionsRefused; got != 2 {
		t.Errorf("HTTPConnectionsRefused = %d, want 2 (two evicted)", got)
	}

	// .4's idle connections end: its slots come back, and a second WebSocket from it reaches the
	// socket caps, which refuse it (one socket per address) and count it.
	for _, c := range idle {
		c.conn.Close()
	}
	waitFor(t, "127.0.0.4's HTTP slots to come back", func() bool {
		_, err := tryDial(t, h, dialOpts{from: "127.0.0.4"})
		return err != nil && strings.Contains(err.Error(), "HTTP 429")
	})
	if st := h.Stats(); st.HandshakeRefusals.AddressFull != 1 || st.Connections != 1 {
		t.Errorf("AddressFull = %d, Connections = %d; want 1 and 1", st.HandshakeRefusals.AddressFull, st.Connections)
	}
}

// TestIdleHTTPConnectionClosed: a keep-alive connection that sends nothing after its request is
// closed by the server (on the old code it stayed open for ever). The idle timeout is shortened;
// nothing here measures it.
func TestIdleHTTPConnectionClosed(t *testing.T) {
	h := startHubWith(t, Config{}, func(s *Server) { s.httpIdle = 50 * time.Millisecond })
	c := dialHTTP(t, h, "127.0.0.1")
	c.mustServe()
	if !c.closedByServer() {
		t.Fatalf("an idle keep-alive connection was still open after %v", testTimeout)
	}
}

// TestHTTPHeaderSizeBounded: a 100 KiB header is refused with 431 (net/http's default would read
// up to 1 MB of it).
func TestHTTPHeaderSizeBounded(t *testing.T) {
	h := startHub(t, Config{})
	c := dialHTTP(t, h, "127.0.0.1")
	req := "GET " + BroadcastAPIPath + " HTTP/1.1\r\nHost: hub\r\nX-Padding: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
	if code, err := c.roundTrip(req); err != nil || code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("100 KiB header: HTTP %d, %v; want 431", code, err)
	}
}

// TestRESTRequestsInFlightBounded: REST broadcasts whose bodies are still arriving hold a slot
// each; past restMaxInFlightPerAddress from one client, or restMaxInFlight in all, a request is
// answered 429 before its body is read, and a slot comes back when a request is done. The held
// requests get an hour to send their bodies, so that a loaded machine cannot time one out early.
func TestRESTRequestsInFlightBounded(t *testing.T) {
	h := startHubWith(t, Config{}, func(s *Server) { s.restBody = time.Hour })
	const body = `{"messages":[{"topic":"ABC123","event":"e","payload":{}}]}`
	header := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", BroadcastAPIPath, len(body))
	inFlight := func() int {
		h.restSlots.mu.Lock()
		defer h.restSlots.mu.Unlock()
		return h.restSlots.requests.Total()
	}
	// start sends a request's header and half its body from ip: the request holds a slot until
	// the rest arrives.
	start := func(ip string) *httpConn {
		c := dialHTTP(t, h, ip)
		if _, err := io.WriteString(c.conn, header+body[:10]); err != nil {
			t.Fatal(err)
		}
		return c
	}
	refused := func(ip, want string) {
		t.Helper()
		c := dialHTTP(t, h, ip)
		_ = c.conn.SetDeadline(time.Now().Add(testTimeout))
		io.WriteString(c.conn, header) // no body: the answer must not wait for it
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatalf("request from %s: %v", ip, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(got), want) {
			t.Fatalf("request from %s: HTTP %d %s, want 429 %q", ip, resp.StatusCode, got, want)
		}
	}

	var held []*httpConn
	for i := range restMaxInFlightPerAddress {
		held = append(held, start("127.0.0.1"))
		waitFor(t, "the request to take its slot", func() bool { return inFlight() == i+1 })
	}
	refused("127.0.0.1", "Too many REST requests at once from this address")
	for n := restMaxInFlightPerAddress; n < restMaxInFlight; n++ {
		start(fmt.Sprintf("127.0.1.%d", n))
		waitFor(t, "the request to take its slot", func() bool { return inFlight() == n+1 })
	}
	refused("127.0.2.1", "Too many REST requests at once")
	if got := h.Stats().RESTRefused; got != 2 {
		t.Errorf("RESTRefused = %d, want 2", got)
	}

	// One request completes (202): its slot is free again for anyone.
	if _, err := io.WriteString(held[0].conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(held[0].br, nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("completed request: %v, %v; want 202", resp, err)
	}
	resp.Body.Close()
	waitFor(t, "the slot to come back", func() bool { return inFlight() == restMaxInFlight-1 })
	c := start("127.0.2.1")
	waitFor(t, "the new request to take the slot", func() bool { return inFlight() == restMaxInFlight })
	io.WriteString(c.conn, body[10:])
	if resp, err := http.ReadResponse(c.br, nil); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("request after a slot came back: %v, %v; want 202", resp, err)
	}
}

// TestHeaderlessConnectionsEvictedForANewClient is the reviewer's lock-out: hosts holding every
// HTTP slot with connections that send nothing (connlimit's tests) or only part of their request
// headers, from several addresses (dodging the per-address cap), made a musician's WebSocket fail
// with a reset (the newcomer was closed at accept). Now the oldest such connection is closed to
// admit her.
func TestHeaderlessConnectionsEvictedForANewClient(t *testing.T) {
	h := startHub(t, Config{MaxHTTPConnections: 8, MaxHTTPConnectionsPerAddress: 2})
	var held []*httpConn
	for i := range 8 {
		c := dialHTTP(t, h, fmt.Sprintf("127.0.0.%d", 10+i/2))
		io.WriteString(c.conn, "GET "+BroadcastAPIPath+" HTTP/1.1\r\nHo")
		held = append(held, c)
	}
	waitFor(t, "the hub to hold all 8 connections", func() bool {
		all, _ := h.httpLimiter.Load().Open("")
		return all == 8
	})
	musician := dial(t, h, dialOpts{from: "127.0.0.20"})
	musician.join("realtime:room", cfgJSON(false, false, ""))
	if !held[0].closedByServer() {
		t.Fatal("the oldest connection without a request was kept")
	}
}
