package hub

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// dialStatus dials the hub's WebSocket endpoint with a raw query (so that it can carry a vsn the
// test client would not send) and returns the HTTP status of a refused upgrade, or 101 when the
// socket opened (it is then closed at the end of the test).
func dialStatus(t *testing.T, h *testHub, query string, header http.Header, from string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	opts := &websocket.DialOptions{HTTPHeader: header}
	if from != "" {
		opts.HTTPClient = fromClient(t, from)
	}
	ws, resp, err := websocket.Dial(ctx, "ws://"+h.addr+Path+"?"+query, opts)
	if err == nil {
		t.Cleanup(func() { ws.CloseNow() })
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial ?%s: %v (no HTTP response)", query, err)
	}
	return resp.StatusCode
}

// getStatus sends a plain GET (not an upgrade) to path and returns the status and body.
func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// TestHandshakeRefusalsByReason provokes every reason the server refuses a WebSocket upgrade, over
// real sockets, and checks that each is counted under its own reason and in the total, and that
// nothing else is: a good key, a good vsn and an allowed Origin open a socket and count nothing.
func TestHandshakeRefusalsByReason(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	h := startHub(t, Config{Secret: "s3cret", MaxConnections: 3, MaxConnectionsPerAddress: 2, AllowedOrigins: []string{"jam.example"}})
	const good = "apikey=s3cret&vsn=2.0.0"
	expect := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: HTTP %d, want %d", what, got, want)
		}
	}

	expect("wrong key", dialStatus(t, h, "apikey=nope&vsn=2.0.0", nil, ""), http.StatusUnauthorized)
	status, body := getStatus(t, h.httpURL()+Path+"?vsn=2.0.0")
	expect("no key", status, http.StatusUnauthorized)
	if !strings.Contains(body, "API key is missing") {
		t.Errorf("no key: body %q", body)
	}
	expect("vsn 3.0.0", dialStatus(t, h, "apikey=s3cret&vsn=3.0.0", nil, ""), http.StatusBadRequest)
	expect("foreign Origin", dialStatus(t, h, good, http.Header{"Origin": {"https://evil.example"}}, ""), http.StatusForbidden)
	status, _ = getStatus(t, h.httpURL()+Path+"?"+good)
	expect("plain GET", status, http.StatusUpgradeRequired)

	expect("first socket from 127.0.0.1", dialStatus(t, h, good, http.Header{"Origin": {"https://jam.example"}}, "127.0.0.1"), http.StatusSwitchingProtocols)
	expect("second socket from 127.0.0.1", dialStatus(t, h, good, nil, "127.0.0.1"), http.StatusSwitchingProtocols)
	expect("third socket from 127.0.0.1", dialStatus(t, h, good, nil, "127.0.0.1"), http.StatusTooManyRequests)
	expect("socket from 127.0.0.2", dialStatus(t, h, good, nil, "127.0.0.2"), http.StatusSwitchingProtocols)
	expect("fourth socket, from 127.0.0.3", dialStatus(t, h, good, nil, "127.0.0.3"), http.StatusTooManyRequests)

	// A REST request with a bad key is a REST refusal, not a handshake refusal.
	expect("REST with a wrong key", postWithWrongKey(t, h), http.StatusUnauthorized)

	st := h.Stats()
	want := HandshakeRefusals{BadKey: 2, BadVsn: 1, BadUpgrade: 2, AddressFull: 1, ServerFull: 1}
	if st.HandshakeRefusals != want {
		t.Errorf("refusals %+v, want %+v", st.HandshakeRefusals, want)
	}
	if st.HandshakeRefused != 7 || st.RESTRefused != 1 || st.Connections != 3 {
		t.Errorf("HandshakeRefused %d, RESTRefused %d, Connections %d; want 7, 1 and 3", st.HandshakeRefused, st.RESTRefused, st.Connections)
	}
}

// TestHandshakeRefusedWhileClosing: once Close has begun, an upgrade is refused with HTTP 503 and
// counted as Closing. Serve closes its listener before its connections, so the server is mounted
// on an http.Server of the test's own, which keeps accepting.
func TestHandshakeRefusedWhileClosing(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpSrv := &http.Server{Handler: s.Handler()}
	served := make(chan struct{})
	go func() { defer close(served); httpSrv.Serve(ln) }()
	t.Cleanup(func() {
		httpSrv.Close()
		<-served
	})
	h := &testHub{Server: s, addr: ln.Addr().String()}

	open := dial(t, h, dialOpts{})
	open.barrier()
	s.Close()
	if code := open.waitClosed(); code != websocket.StatusGoingAway {
		t.Errorf("open socket closed with %v, want 1001", code)
	}
	if got := dialStatus(t, h, "apikey=k&vsn=2.0.0", nil, ""); got != http.StatusServiceUnavailable {
		t.Fatalf("upgrade after Close: HTTP %d, want 503", got)
	}
	if st := h.Stats(); st.HandshakeRefusals != (HandshakeRefusals{Closing: 1}) || st.HandshakeRefused != 1 {
		t.Errorf("refusals %+v (total %d), want one Closing", st.HandshakeRefusals, st.HandshakeRefused)
	}
}
