package hub

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestServeReturnsWhenAClientNeverAnswersTheClose: a client that stops reading must not hold the
// server's shutdown (the embedded server shares the daemon's 2 s exit budget).
func TestServeReturnsWhenAClientNeverAnswersTheClose(t *testing.T) {
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	ws, _, err := websocket.Dial(dctx, "ws://"+ln.Addr().String()+Path+"?apikey=k&vsn=2.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// This client never reads again, so it never answers the server's close frame.
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Connections == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server never counted the connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Serve returned %v after cancel", time.Since(start))
	case <-time.After(4 * time.Second): // coder/websocket's own close wait is 5 s
		t.Fatal("Serve still waiting for a silent client 4 s after cancel")
	}
}
