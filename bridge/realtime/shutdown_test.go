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
