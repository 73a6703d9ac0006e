package realtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// joinThenServer serves one client: it answers the client's join, then hands the socket and the
// channel's topic to afterJoin, which must never read again (so no leave reply and no close frame
// reaches the client) and return once stop is closed or a write fails. It returns the server's
// URL; the server stops when the test ends.
func joinThenServer(t *testing.T, afterJoin func(c *websocket.Conn, topic string, stop <-chan struct{})) (url string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, data, err := c.Read(r.Context())
		if err != nil {
			return
		}
		var m wire.Message
		if wire.DecodeTextV2(data, &m) != nil {
			return
		}
		reply, _ := wire.AppendTextV2(nil, &wire.Message{JoinRef: m.JoinRef, Ref: m.Ref, Topic: m.Topic, Event: "phx_reply", Payload: []byte(`{"status":"ok","response":{}}`)})
		_ = c.Write(r.Context(), websocket.MessageText, reply)
		afterJoin(c, m.Topic, stop)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { close(stop); _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// runUntilReady starts a client on url with a 200 ms LeaveTimeout, waits for ready, cancels it and
// fails unless Run returns within 4 s: the daemon has 2 s to exit after SIGTERM, and
// coder/websocket's own close wait is 5 s, so 4 s catches a client that waits on it.
func runUntilReady(t *testing.T, url string, ready func(*Client) bool) {
	t.Helper()
	c, err := New(Config{URL: url, APIKey: "k", Channel: "ABC234", LeaveTimeout: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	go func() {
		for range c.Events() { // a consumer, as the daemon has
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !ready(c) {
		if time.Now().After(deadline) {
			t.Fatal("the client never got ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case <-done:
		t.Logf("Run returned %v after cancel", time.Since(start))
	case <-time.After(4 * time.Second):
		t.Fatal("Run still waiting for the server 4 s after cancel")
	}
}

// TestShutdownBoundedWhenServerGoesSilent: a server that answers the join and then never reads
// again must not hold the client's shutdown: the leave and the close each get LeaveTimeout, then
// the connection is cut.
func TestShutdownBoundedWhenServerGoesSilent(t *testing.T) {
	url := joinThenServer(t, func(_ *websocket.Conn, _ string, stop <-chan struct{}) { <-stop })
	runUntilReady(t, url, func(c *Client) bool { return c.State() == StateJoined })
}

// TestShutdownBoundedWhenServerStreamsButIgnoresTheClose: a server that goes on sending (a
// broadcast every 20 ms) but never reads, so never answers the leave or the close frame, must not
// hold the client's shutdown either. coder/websocket's close handshake then holds the read lock and
// reads the server's frames with a context of its own for 5 s; cancelling the read loop's context
// cannot end that, closing the TCP connection can.
func TestShutdownBoundedWhenServerStreamsButIgnoresTheClose(t *testing.T) {
	url := joinThenServer(t, func(c *websocket.Conn, topic string, stop <-chan struct{}) {
		bc, _ := wire.AppendTextV2(nil, &wire.Message{Topic: topic, Event: "broadcast", Payload: []byte(`{"type":"broadcast","event":"tick","payload":{}}`)})
		for {
			wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
			err := c.Write(wctx, websocket.MessageText, bc)
			wcancel()
			if err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	runUntilReady(t, url, func(c *Client) bool { return c.Stats().FramesIn >= 5 })
}

// TestShutdownBoundedWhenAWriteIsStuck: a server that answers the join and then stops reading
// (a half-open link) while the client goes on broadcasting fills the socket's send buffer, and a
// write then waits for PushTimeout. Cancelling Run must still end it within LeaveTimeout and a
// close, not after the write's 30 s here (review 307: 9.5 s with the default 10 s).
func TestShutdownBoundedWhenAWriteIsStuck(t *testing.T) {
	url := joinThenServer(t, func(_ *websocket.Conn, _ string, stop <-chan struct{}) { <-stop })
	c, err := New(Config{URL: url, APIKey: "k", Channel: "ABC234", LeaveTimeout: 300 * time.Millisecond,
		PushTimeout: 30 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = c.Run(ctx) }()
	go func() {
		for range c.Events() {
		}
	}()
	for deadline := time.Now().Add(5 * time.Second); c.State() != StateJoined; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the client never joined")
		}
	}

	var flood sync.WaitGroup
	flood.Add(1)
	go func() {
		defer flood.Done()
		payload := json.RawMessage(`{"sdp":"` + strings.Repeat("a", 200<<10) + `"}`)
		for ctx.Err() == nil {
			_ = c.Broadcast(ctx, "webrtc-signal", payload)
		}
	}()
	// The writes have stalled once FramesOut stops growing for half a second.
	last, still := uint64(0), 0
	for still < 10 {
		time.Sleep(50 * time.Millisecond)
		if n := c.Stats().FramesOut; n != last {
			still, last = 0, n
		} else {
			still++
		}
	}
	t.Logf("writes stalled after %d frames", last)
	start := time.Now()
	cancel()
	select {
	case <-runDone:
		t.Logf("Run returned %v after cancel", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("Run still waiting on a stuck write 10 s after cancel")
	}
	flood.Wait()
}

func TestRedactCatchesEscapedKeys(t *testing.T) {
	c, err := New(Config{URL: "http://127.0.0.1:1", APIKey: "s3cr+t/key==", Channel: "ABC234"})
	if err != nil {
		t.Fatal(err)
	}
	msg := `dial ws://h/realtime/v1/websocket?apikey=s3cr%2Bt%2Fkey%3D%3D&vsn=2.0.0: refused; raw s3cr+t/key==`
	got := c.redact(msg)
	if strings.Contains(got, "s3cr") {
		t.Fatalf("key survives redaction: %q", got)
	}
}
