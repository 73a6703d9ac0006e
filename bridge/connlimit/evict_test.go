package connlimit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
)

// TestEvictsOldestConnectionWithoutRequest: at the cap in all, a new connection is admitted by
// closing the oldest one that has sent nothing (on the old code the newcomer was refused, so a
// host holding Max bare connections from several addresses locked every client out); one that
// has sent its request is kept, and when every connection has, the newcomer is refused.
func TestEvictsOldestConnectionWithoutRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Config{Max: 2, PerClient: 2, Subject: "test"})
	got := serve(t, l)
	addr := ln.Addr().String()

	busy := dialFrom(t, addr, "127.0.0.1")
	if _, err := busy.Write([]byte("G")); err != nil {
		t.Fatal(err)
	}
	if _, err := next(t, got).Read(make([]byte, 1)); err != nil { // the server has read its request's start
		t.Fatal(err)
	}
	bare := dialFrom(t, addr, "127.0.0.2")
	next(t, got)
	newcomer := dialFrom(t, addr, "127.0.0.3")
	next(t, got)
	if !closedByServer(bare) {
		t.Fatal("the bare connection was kept at the cap")
	}
	if all, _ := l.Open(""); all != 2 {
		t.Fatalf("Open = %d in all, want 2", all)
	}
	// The newcomer is bare in turn, so the next one takes its place; busy stays.
	fourth := dialFrom(t, addr, "127.0.0.4")
	admitted := next(t, got)
	if !closedByServer(newcomer) {
		t.Fatal("the oldest bare connection was kept at the cap")
	}
	if _, fromBusy := l.Open("127.0.0.1"); fromBusy != 1 {
		t.Fatal("the connection that had sent its request's start was evicted")
	}
	// Every connection has sent something now: one more is refused.
	if _, err := fourth.Write([]byte("G")); err != nil {
		t.Fatal(err)
	}
	if _, err := admitted.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if !closedByServer(dialFrom(t, addr, "127.0.0.5")) {
		t.Fatal("a connection was admitted at the cap although every open one had sent its request's start")
	}
}

// TestTrackEvictsUnfinishedHeadersAndIdleKeepAlives: with Track, a connection whose request
// headers are incomplete and a keep-alive waiting for its next request are evicted at the cap,
// oldest first, and a request being served is not.
func TestTrackEvictsUnfinishedHeadersAndIdleKeepAlives(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Config{Max: 3, PerClient: 3, Subject: "test"})
	inSlow, releaseSlow := make(chan struct{}), make(chan struct{})
	idle := make(chan struct{}, 8)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(inSlow)
				<-releaseSlow
			}
			io.WriteString(w, "ok")
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateIdle {
				idle <- struct{}{}
			}
		},
	}
	l.Track(srv)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() { close(releaseSlow); srv.Close(); <-served })
	addr := ln.Addr().String()

	slow := dialFrom(t, addr, "127.0.0.1")
	io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-inSlow
	halfSent := dialFrom(t, addr, "127.0.0.2")
	io.WriteString(halfSent, "GET /fast HTTP/1.1\r\nHo")
	keepAlive := dialFrom(t, addr, "127.0.0.3")
	get(t, keepAlive, bufio.NewReader(keepAlive))
	<-idle

	newcomer := dialFrom(t, addr, "127.0.0.4")
	get(t, newcomer, bufio.NewReader(newcomer))
	<-idle
	if !closedByServer(halfSent) {
		t.Fatal("the connection with half-sent headers was kept at the cap")
	}
	get(t, dialFrom(t, addr, "127.0.0.5"), nil)
	if !closedByServer(keepAlive) {
		t.Fatal("the oldest idle keep-alive was kept at the cap")
	}
	releaseSlow <- struct{}{}
	if resp, err := http.ReadResponse(bufio.NewReader(slow), nil); err != nil {
		t.Fatalf("the request being served was cut: %v", err)
	} else {
		resp.Body.Close()
	}
}

// get sends a GET for /fast on c and requires its answer.
func get(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if br == nil {
		br = bufio.NewReader(c)
	}
	io.WriteString(c, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET /fast: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestPerClientEvictsTheClientsOwnBareConnection: at PerClient, a client's new connection is
// admitted by closing that client's oldest connection without a request, never another client's
// (review 320: a program holding bare connections from ledbridge's address kept its session from
// its own hub).
func TestPerClientEvictsTheClientsOwnBareConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Config{Max: 10, PerClient: 2, Subject: "test"})
	got := serve(t, l)
	addr := ln.Addr().String()

	dialFrom(t, addr, "127.0.0.2") // another client's bare connection, older than all
	next(t, got)
	first := dialFrom(t, addr, "127.0.0.1")
	next(t, got)
	second := dialFrom(t, addr, "127.0.0.1")
	acceptedSecond := next(t, got)
	third := dialFrom(t, addr, "127.0.0.1")
	admitted := next(t, got)
	if !closedByServer(first) {
		t.Fatal("the client's oldest bare connection was kept at its cap")
	}
	if _, n := l.Open("127.0.0.1"); n != 2 {
		t.Fatalf("%d connections open from 127.0.0.1, want its cap of 2", n)
	}
	if _, n := l.Open("127.0.0.2"); n != 1 {
		t.Fatal("another client's connection was evicted")
	}
	// Once both have sent their request's start, a further one is refused.
	for _, c := range []net.Conn{second, third} {
		if _, err := c.Write([]byte("G")); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []net.Conn{acceptedSecond, admitted} {
		if _, err := a.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if !closedByServer(dialFrom(t, addr, "127.0.0.1")) {
		t.Fatal("a connection was admitted past the client's cap although its open ones had sent their request's start")
	}
}
