package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// One client with eight members in a room (the per-address cap allows eight), each bursting
// within its own socket's 2 MiB byte budget, sent a member that pauses reading 16 MiB at once,
// past its 8 MiB queue, and the hub dropped it as a slow client (review 307). The client's
// sockets now burst one socket's budget together (addressBudgets.admitFrame): the senders are
// limited and the reader stays.
func TestOneClientsSocketsCannotEvictAPausedReader(t *testing.T) {
	h := startHub(t, Config{MaxClientsPerRoomPerAddress: 8})
	reader := dialWithSmallReceiveBuffer(t, h, "127.0.0.2")
	reader.join(topic, cfgJSON(false, false, "reader"))
	resume := reader.pauseReads()
	defer resume()
	payload := append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), 200<<10)...)
	payload = append(payload, `"}`...)
	const sockets, each = 8, 10 // 10 × 200 KiB: inside one socket's 2 MiB burst
	var senders []*rawClient
	var refs []string
	for i := range sockets {
		s := dial(t, h, dialOpts{from: "127.0.0.3"})
		refs = append(refs, s.join(topic, fmt.Sprintf(`{"broadcast":{"self":false,"ack":false},"presence":{"key":"sender-%d","enabled":false},"postgres_changes":[],"private":false}`, i)))
		senders = append(senders, s)
	}
	before := h.Stats().FramesIn
	for i, s := range senders {
		for range each {
			s.sendPush(refs[i], "", topic, "chat", wire.EncodingJSON, payload)
		}
	}
	// Every push read: each was relayed or refused by then, and a member whose queue overflowed
	// was dropped as it overflowed.
	waitFor(t, "every push read", func() bool { return h.Stats().FramesIn >= before+sockets*each })
	st := h.Stats()
	t.Logf("relayed %d, rate-limited %d, slow clients %d", st.Broadcasts, st.RateLimited, st.SlowClients)
	if st.SlowClients != 0 {
		t.Errorf("%d members dropped as slow clients by one client's %d sockets", st.SlowClients, sockets)
	}
	if st.RateLimited == 0 {
		t.Errorf("no push of %d × %d KiB from one client was limited", sockets*each, 200)
	}
	// Each socket let go of its client's entry as it closed.
	for _, s := range senders {
		s.closeNow()
	}
	waitFor(t, "the senders' sockets released", func() bool {
		h.addrs.mu.Lock()
		defer h.addrs.mu.Unlock()
		e := h.addrs.entries["127.0.0.3"]
		return e != nil && e.open == 0
	})
}

// dialWithSmallReceiveBuffer dials from the loopback address from with a 4 KiB socket receive
// buffer (a phone on Wi-Fi), so that what the hub sends it waits in the hub's queue.
func dialWithSmallReceiveBuffer(t *testing.T, h *testHub, from string) *rawClient {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+h.addr+Path+"?apikey=k&vsn=2.0.0",
		&websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(8 << 20)
	c := &rawClient{t: t, vsn: wire.V2, ws: ws, frames: make(chan rxFrame, 4096), readErr: make(chan error, 1), nextRef: 1}
	go c.readLoop()
	t.Cleanup(c.closeNow)
	return c
}

// A client that opens a socket, joins, tracks (a join's first track is free) and closes, in a
// loop, sent every member of the room thousands of presence_diffs a second: each new socket
// had a fresh Presence window (review 307). Its sockets now come at connectRate.
func TestOneClientCannotChurnSocketsIntoADiffFlood(t *testing.T) {
	h := startHub(t, Config{MaxClientsPerRoomPerAddress: 8})
	observer := dial(t, h, dialOpts{from: "127.0.0.2"})
	observer.join(topic, cfgJSON(false, false, "observer"))
	var frames atomic.Int64
	stop := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-observer.frames:
				frames.Add(1)
			case <-stop:
				return
			}
		}
	}()
	const window = 2 * time.Second
	opened, refused := 0, 0
	for start := time.Now(); time.Since(start) < window; {
		c, err := tryDial(t, h, dialOpts{from: "127.0.0.3"})
		if err != nil {
			refused++
			continue
		}
		opened++
		jr := c.join(topic, cfgJSON(false, false, fmt.Sprintf("ghost-%d", opened)))
		c.sendMsg(jr, c.ref(), topic, "presence", `{"type":"presence","event":"track","payload":{"name":"ghost","isHost":false}}`)
		c.nextMsg() // the track's reply
		c.closeNow()
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	<-drained
	burst := connectRate(DefaultMaxConnectionsPerAddress)
	most := int(burst.capacity + burst.perSecond*window.Seconds() + 1)
	t.Logf("in %v one client opened %d sockets (%d refused); the observer got %d frames", window, opened, refused, frames.Load())
	if opened > most {
		t.Errorf("one client opened %d sockets in %v; connectRate allows %d", opened, window, most)
	}
	if refused == 0 {
		t.Error("no socket was refused: the loop never met the limit, the test shows nothing")
	}
	// A join and a leave diff per socket, with the observer's own replies and state besides.
	if got := frames.Load(); got > int64(4*most) {
		t.Errorf("the observer got %d frames from %d sockets", got, opened)
	}
	// The budget refills: a second later the client may open a socket again (its refused
	// connections were closed, not left to fill its HTTP connection cap).
	time.Sleep(time.Second)
	c, err := tryDial(t, h, dialOpts{from: "127.0.0.3"})
	if err != nil {
		t.Fatalf("a second after the burst: %v (refusals %+v, HTTP connections refused %d)", err, h.Stats().HandshakeRefusals, h.Stats().HTTPConnectionsRefused)
	}
	c.closeNow()
}

// Requests that never become sockets (plain GETs to the WebSocket path: 426) do not spend a
// client's connect budget (review 310: junk requests from loopback kept ledbridge's own client
// out of its room).
func TestConnectRateSparesFailedUpgrades(t *testing.T) {
	h := startHub(t, Config{})
	burst := int(connectRate(DefaultMaxConnectionsPerAddress).capacity)
	get := func(from string) int {
		tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("http://" + h.addr + Path + "?apikey=k&vsn=2.0.0")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range burst + 10 {
		if code := get("127.0.0.3"); code != http.StatusUpgradeRequired {
			t.Fatalf("plain GET %d: %d, want 426", i, code)
		}
	}
	c, err := tryDial(t, h, dialOpts{from: "127.0.0.3"})
	if err != nil {
		t.Fatalf("after %d failed upgrades the client cannot open a socket: %v", burst+10, err)
	}
	c.closeNow()
}
