package realtime

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// TestShutdownBoundedWhenServerGoesSilent: a server that answers the join and then never reads
// again must not hold the client's shutdown (the daemon has 2 s to exit after SIGTERM): the leave
// and the close each get LeaveTimeout, then the connection is cut.
func TestShutdownBoundedWhenServerGoesSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stuck := make(chan struct{})
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
		<-stuck // never read again: no leave reply, no close frame
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() { close(stuck); _ = srv.Close() }()

	c, err := New(Config{URL: "http://" + ln.Addr().String(), APIKey: "k", Channel: "ABC234", LeaveTimeout: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != StateJoined {
		if time.Now().After(deadline) {
			t.Fatal("never joined")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case <-done:
		t.Logf("Run returned %v after cancel", time.Since(start))
	case <-time.After(4 * time.Second): // the library's own close wait is 5 s: this catches it
		t.Fatal("Run still waiting for a silent server 4 s after cancel")
	}
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

// TestShutdownBoundedWhenServerStreamsButIgnoresTheClose: a server that goes on sending (a
// broadcast every 20 ms) but never reads, so never answers the leave or the close frame, must not
// hold the client's shutdown either. coder/websocket's close handshake then holds the read lock and
// reads the server's frames with a context of its own for 5 s; cancelling the read loop's context
// cannot end that, closing the TCP connection can.
func TestShutdownBoundedWhenServerStreamsButIgnoresTheClose(t *testing.T) {
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
		bc, _ := wire.AppendTextV2(nil, &wire.Message{Topic: m.Topic, Event: "broadcast", Payload: []byte(`{"type":"broadcast","event":"tick","payload":{}}`)})
		for { // never read again: no leave reply, no close frame
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
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() { close(stop); _ = srv.Close() }()

	c, err := New(Config{URL: "http://" + ln.Addr().String(), APIKey: "k", Channel: "ABC234", LeaveTimeout: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
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
	for c.Stats().FramesIn < 5 {
		if time.Now().After(deadline) {
			t.Fatal("never joined and received broadcasts")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case <-done:
		t.Logf("Run returned %v after cancel", time.Since(start))
	case <-time.After(4 * time.Second): // the library's own close wait is 5 s: this catches it
		t.Fatal("Run still waiting for a server that streams but ignores the close 4 s after cancel")
	}
}
