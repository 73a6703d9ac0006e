package status

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// sequencedEvent is one event of TestSlowViewerGetsTheNewestState's stream: its kind and the
// sequence number the test published it with.
type sequencedEvent struct {
	kind string
	seq  int
}

// readSequenced reads the next event off an event stream whose events carry {"seq":n}.
func readSequenced(tp *textproto.Reader) (sequencedEvent, error) {
	var ev sequencedEvent
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return ev, err
		}
		switch {
		case line == "" && ev.kind != "":
			return ev, nil
		case strings.HasPrefix(line, "event: "):
			ev.kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var body struct{ Seq int }
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &body); err != nil {
				return ev, fmt.Errorf("event data %.40q…: %v", line, err)
			}
			ev.seq = body.Seq
		}
	}
}

// TestSlowViewerGetsTheNewestState: a viewer that stops reading while the server publishes
// (a phone on a link slower than the preview stream, at its extreme) then reads on gets the
// newest status and the newest preview, after no more than what the connection's buffers held:
// its backlog is bounded by bytes in flight, not by events published, and previews (large, 30/s)
// do not crowd status events out. Freshness is read off the events' sequence numbers.
func TestSlowViewerGetsTheNewestState(t *testing.T) {
	// The broadcaster's own ticks never fire: the test publishes every event itself. A preview
	// held back for a full send queue is tried again soon, as when previews come 30 times a second.
	srv, base := startServerWith(t, Config{Provider: &fakeProvider{}, StatusInterval: time.Hour, PreviewInterval: time.Hour},
		func(s *Server) { s.heldPreviewRetry = 5 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A small receive buffer: the reader, not loopback's large buffers, is the bottleneck, as
	// a slow link is.
	conn := dialFrom(ctx, t, base, "127.0.0.1", 4096)
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline) // a lost newest event fails the test instead of hanging it
	if _, err := io.WriteString(conn, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("event stream answered %v (%v)", res, err)
	}
	tp := textproto.NewReader(bufio.NewReader(res.Body))

	const (
		rounds      = 100      // per stall: one status and one preview each
		previewSize = 32 << 10 // a few hundred LEDs of base64, a bit more than 10 strips × 300 RGB
		// What the buffers between server and viewer hold (the server's send buffer, capped at
		// streamSendBuffer, which Linux doubles; the viewer's small receive buffer), in previews,
		// plus the one being written and the one waiting in its slot, rounded up.
		maxPreviewsPerStall = 2*streamSendBuffer/previewSize + 4
	)
	pad := strings.Repeat("x", previewSize)
	seq := 0
	for stall := range 3 {
		// The viewer reads nothing while a whole burst is published.
		for range rounds {
			seq++
			srv.streams.publish(statusEvent, sseEvent("status", fmt.Appendf(nil, `{"seq":%d}`, seq)))
			srv.streams.publish(previewEvent, sseEvent("preview", fmt.Appendf(nil, `{"seq":%d,"pad":%q}`, seq, pad)))
		}
		// Then it reads until it has the newest of both kinds.
		var got []sequencedEvent
		last := map[string]int{}
		for last["status"] != seq || last["preview"] != seq {
			ev, err := readSequenced(tp)
			if err != nil {
				t.Fatalf("stall %d: after %d events (%v), waiting for status and preview %d: %v", stall, len(got), got, seq, err)
			}
			if ev.seq <= last[ev.kind] {
				t.Fatalf("stall %d: %s %d after %s %d: out of order", stall, ev.kind, ev.seq, ev.kind, last[ev.kind])
			}
			last[ev.kind] = ev.seq
			got = append(got, ev)
		}
		previews, statuses := 0, 0
		for _, ev := range got {
			if ev.kind == "preview" {
				previews++
			} else {
				statuses++
			}
		}
		t.Logf("stall %d: %d of %d previews and %d of %d status events delivered: %v", stall, previews, rounds, statuses, rounds, got)
		if previews > maxPreviewsPerStall {
			t.Errorf("stall %d: the viewer read %d previews to catch up, want at most %d (what the buffers hold): a backlog of stale frames", stall, previews, maxPreviewsPerStall)
		}
		// Once the server is stuck writing, the newest status waits beside the newest preview
		// and goes first.
		if n := len(got); n < 2 || got[n-2] != (sequencedEvent{"status", seq}) {
			t.Errorf("stall %d: the newest status was not written just before the newest preview: %v", stall, got)
		}
	}
}

// TestPublishAllocatesNothing: handing an event to viewers (a preview 30 times a second to each)
// allocates nothing, whether their slots are empty or hold an event still.
func TestPublishAllocatesNothing(t *testing.T) {
	b := newBroadcaster(Config{MaxStreams: 4, MaxStreamsPerClient: 4}, func() bool { return false })
	for i := range 3 {
		st := &stream{wake: make(chan struct{}, 1), client: fmt.Sprint("viewer-", i), stop: make(chan struct{})}
		if err := b.subscribe(st, func(string) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	status, preview := sseEvent("status", []byte(`{}`)), sseEvent("preview", []byte(`{}`))
	if n := testing.AllocsPerRun(100, func() {
		b.publish(statusEvent, status)
		b.publish(previewEvent, preview)
	}); n != 0 {
		t.Errorf("publish allocates %v times per status and preview, want 0", n)
	}
}
