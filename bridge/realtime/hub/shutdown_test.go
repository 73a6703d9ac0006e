package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestServeReturnsWhenAClientNeverAnswersTheClose: a client that stops reading must not hold the
// server's shutdown (the embedded server shares the daemon's 2 s exit budget).
func TestServeReturnsWhenAClientNeverAnswersTheClose(t *testing.T) {
	srv, ln, cancel, served := serveUntilCancelled(t)

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
	requireServeReturns(t, cancel, served, "a silent client")
}

// TestServeReturnsWhenAClientKeepsSendingAndNeverAnswersTheClose: a client that goes on sending
// (a heartbeat every 20 ms, under the rate limit) but never reads, so never answers the close
// frame, must not hold shutdown either. coder/websocket's close handshake then holds the socket's
// read lock and reads the client's frames for 5 s; only closing the TCP connection under it cuts
// that short.
func TestServeReturnsWhenAClientKeepsSendingAndNeverAnswersTheClose(t *testing.T) {
	srv, ln, cancel, served := serveUntilCancelled(t)

	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	ws, _, err := websocket.Dial(dctx, "ws://"+ln.Addr().String()+Path+"?apikey=k&vsn=2.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
			err := ws.Write(wctx, websocket.MessageText, []byte(fmt.Sprintf(`[null,"%d","phoenix","heartbeat",{}]`, i)))
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
	}()
	defer func() { close(stop); <-sent }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().FramesIn < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the server never read the client's frames")
		}
		time.Sleep(5 * time.Millisecond)
	}
	requireServeReturns(t, cancel, served, "a client that sends but never answers the close")
}

// requireServeReturns cancels Serve and fails unless it returns, without error, within 4 s: the
// daemon has 2 s to exit, and coder/websocket's own close wait is 5 s, so 4 s catches a server that
// waits on it. what names the client that must not hold it.
func requireServeReturns(t *testing.T, cancel context.CancelFunc, served <-chan error, what string) {
	t.Helper()
	start := time.Now()
	cancel()
	awaitServe(t, start, served, what)
}

// awaitServe fails unless Serve, cancelled at start, returns without error within 4 s.
func awaitServe(t *testing.T, start time.Time, served <-chan error, what string) {
	t.Helper()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Serve returned %v after cancel", time.Since(start))
	case <-time.After(4 * time.Second):
		t.Fatalf("Serve still waiting for %s 4 s after cancel", what)
	}
}

// TestServeReturnsWhenShutdownBeginsDuringAnUpgrade: a socket whose upgrade completes after
// Close took its list of sockets is closed by its own handler; a client that never answers that
// close frame held shutdown for coder/websocket's 5 s handshake timeout (1 run in 80 under -race
// on a loaded machine, every run with this window held open).
func TestServeReturnsWhenShutdownBeginsDuringAnUpgrade(t *testing.T) {
	accepted, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	testHookAccepted = func() {
		once.Do(func() {
			close(accepted)
			<-release
		})
	}
	t.Cleanup(func() { testHookAccepted = nil })
	srv, ln, cancel, served := serveUntilCancelled(t)

	dialed := make(chan *websocket.Conn, 1)
	go func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		ws, _, err := websocket.Dial(dctx, "ws://"+ln.Addr().String()+Path+"?apikey=k&vsn=2.0.0", nil)
		if err != nil {
			t.Error(err)
		}
		dialed <- ws // it never reads, so it never answers the server's close frame
	}()
	<-accepted
	start := time.Now()
	cancel()
	// Close has taken its list of sockets once the server refuses new ones.
	for !srv.isClosed() {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if ws := <-dialed; ws != nil {
		defer ws.CloseNow()
	}
	awaitServe(t, start, served, "a socket upgraded during shutdown")
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
