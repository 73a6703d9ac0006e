package connlimit

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clientaddr"
)

// accepted is what the accept loop of a test server got.
type accepted struct {
	conn net.Conn
	err  error
}

// serve runs Accept on l until it fails, handing each connection to the test.
func serve(t *testing.T, l *Listener) <-chan accepted {
	t.Helper()
	out := make(chan accepted, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			out <- accepted{c, err}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return out
}

func dialFrom(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the listener closed c: a read ends with EOF or a reset rather
// than the deadline.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func next(t *testing.T, ch <-chan accepted) net.Conn {
	t.Helper()
	select {
	case a := <-ch:
		if a.err != nil {
			t.Fatalf("Accept: %v", a.err)
		}
		return a.conn
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
	}
	return nil
}

// TestCapsInAllAndPerClient: past PerClient from one loopback address, and past Max in all, a
// connection is closed at accept and counted; Close and Release give a slot back.
func TestCapsInAllAndPerClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	l := New(ln, Config{Max: 3, PerClient: 2, Subject: "test", OnRefuse: func() { refused.Add(1) }})
	got := serve(t, l)
	addr := ln.Addr().String()

	// Each sends something, so none is evicted to admit another
	// (TestEvictsOldestConnectionWithoutRequest, TestPerClientEvictsTheClientsOwnBareConnection).
	sent := func(c, a net.Conn) {
		t.Helper()
		if _, err := c.Write([]byte("G")); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}
	c1 := dialFrom(t, addr, "127.0.0.1")
	a1 := next(t, got)
	sent(c1, a1)
	c2 := dialFrom(t, addr, "127.0.0.1")
	a2 := next(t, got)
	sent(c2, a2)
	if !closedByServer(dialFrom(t, addr, "127.0.0.1")) {
		t.Fatal("a third connection from 127.0.0.1 (PerClient 2) stayed open")
	}
	c3 := dialFrom(t, addr, "127.0.0.2")
	a3 := next(t, got)
	sent(c3, a3)
	if !closedByServer(dialFrom(t, addr, "127.0.0.3")) {
		t.Fatal("a fourth connection in all (Max 3) stayed open")
	}
	if n := refused.Load(); n != 2 {
		t.Errorf("OnRefuse called %d times, want 2", n)
	}
	if all, one := l.Open(clientaddr.Key(a1.RemoteAddr().String())); all != 3 || one != 2 {
		t.Fatalf("Open = %d in all, %d from 127.0.0.1; want 3, 2", all, one)
	}

	a1.Close()
	a1.Close() // a second Close gives nothing back again
	a2.(*Conn).Release()
	Release(a2) // nor does a second Release, or one through the package function
	if all, one := l.Open(clientaddr.Key(a2.RemoteAddr().String())); all != 1 || one != 0 {
		t.Fatalf("after Close and Release: Open = %d in all, %d from 127.0.0.1; want 1, 0", all, one)
	}
	a2.Close()
	if all, _ := l.Open(""); all != 1 {
		t.Fatalf("Close after Release gave a slot back again: %d open", all)
	}
	// Both slots of 127.0.0.1 are free again.
	dialFrom(t, addr, "127.0.0.1")
	next(t, got)
	dialFrom(t, addr, "127.0.0.1")
	next(t, got)
}
