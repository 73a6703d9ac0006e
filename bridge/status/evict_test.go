package status

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestNewViewerEvictsIdleKeepAliveAndHalfSentHeaders: at MaxConnections, a new viewer gets in by
// closing an idle keep-alive or a connection that has sent only part of its request headers, and
// the live streams are never closed for it; once every connection is a live stream, a newcomer is
// refused. Before the status page told its limiter which connections were being served, both had
// sent a byte and counted as busy for good, so a host holding the slots with them (from several
// addresses, dodging the per-client cap) locked every new viewer out.
func TestNewViewerEvictsIdleKeepAliveAndHalfSentHeaders(t *testing.T) {
	p := &fakeProvider{snap: Snapshot{Room: Room{Code: "XYZ789"}}}
	_, base := startServerWith(t, Config{Provider: p, MaxConnections: 4, MaxStreamsPerClient: 8,
		StatusInterval: 20 * time.Millisecond, PreviewInterval: time.Hour},
		// Half-sent headers stay for as long as the test runs, unless the cap closes them.
		func(s *Server) { s.readHeaderTimeout = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The keep-alive first: the server marks it idle after answering, and the streams' round
	// trips give it time to (which of it and the half-sent one goes first is not asserted).
	keepAlive := dialFrom(ctx, t, base, "127.0.0.2", 0)
	roundTrip(t, keepAlive)
	streams := []*liveStream{mustOpen(ctx, t, base, ""), mustOpen(ctx, t, base, "")}
	halfSent := dialFrom(ctx, t, base, "127.0.0.3", 0)
	if _, err := io.WriteString(halfSent, "GET /api/status HTTP/1.1\r\nHo"); err != nil {
		t.Fatal(err)
	}

	// Two new viewers at the cap: each closes one of the two connections without a request in
	// progress, never a stream.
	streams = append(streams, mustOpen(ctx, t, base, ""), mustOpen(ctx, t, base, ""))
	for name, conn := range map[string]net.Conn{"idle keep-alive": keepAlive, "half-sent headers": halfSent} {
		if !closedByServer(ctx, conn) {
			t.Fatalf("the connection with %s was kept at the cap while new viewers came", name)
		}
	}
	// Every open connection is a live stream now: the next one is refused, and they all go on.
	if !closedByServer(ctx, dialFrom(ctx, t, base, "127.0.0.4", 0)) {
		t.Fatal("a connection was admitted at the cap although every open one is a live stream")
	}
	for _, ls := range streams {
		ls.next(ctx, t, "status")
		ls.next(ctx, t, "status")
	}
}
