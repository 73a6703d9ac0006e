package hub

import (
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestServeLeavesNoHTTPGoroutines: Serve returns only after every goroutine serving a request has
// exited, including a client that connected and never finished its request headers and one that
// is trickling a REST broadcast body. http.Server.Shutdown neither closes such connections (they
// are not idle) nor waits for them past its deadline, so they would outlive Serve by up to the
// header and body timeouts.
func TestServeLeavesNoHTTPGoroutines(t *testing.T) {
	_, ln, cancel, served := serveUntilCancelled(t)

	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if _, err := silent.Write([]byte("GET " + Path + " HTTP/1.1\r\n")); err != nil { // headers never end
		t.Fatal(err)
	}
	trickle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer trickle.Close()
	req := "POST " + BroadcastAPIPath + "/ROOM/events/tempo-change HTTP/1.1\r\nHost: x\r\n" +
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"tempo\":"
	if _, err := trickle.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server read what was sent (no assertion on time)

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Serve did not return")
	}
	// Both clients are still connected: only the server can have ended its goroutines.
	goleak.VerifyNone(t)
}
