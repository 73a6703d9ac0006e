package hub

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

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
