package status

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestSendQueueReadsWhatTheKernelHolds: on a real loopback connection whose peer does not read,
// the queue reports the bytes written and not yet taken, without allocating; once the peer has
// read everything, it drains to 0.
func TestSendQueueReadsWhatTheKernelHolds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := dialFrom(ctx, t, "http://"+ln.Addr().String(), "127.0.0.1", 4096)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q := newSendQueue(conn.(*net.TCPConn))
	if n, ok := q.bytes(); !ok || n != 0 {
		t.Fatalf("an idle connection's queue: %d bytes (read: %v), want 0", n, ok)
	}
	const sent = 48 << 10 // more than the peer's receive buffer, less than the send buffer
	if _, err := conn.Write(make([]byte, sent)); err != nil {
		t.Fatal(err)
	}
	n, ok := q.bytes()
	if !ok || n <= 0 || n > sent {
		t.Fatalf("after %d bytes the peer does not read: %d queued (read: %v), want some and at most %d", sent, n, ok, sent)
	}
	if allocs := testing.AllocsPerRun(100, func() { q.bytes() }); allocs != 0 {
		t.Errorf("reading the queue allocates %v times, want 0", allocs)
	}
	go func() { _, _ = io.CopyN(io.Discard, peer, sent) }()
	for {
		if n, ok = q.bytes(); ok && n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the queue never drained after the peer read everything: %d bytes", n)
		case <-time.After(time.Millisecond):
		}
	}
}
