package realtime_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// runStalled runs h's client with nobody reading Events: the test is a consumer that has stalled.
// stop cancels Run and waits for it; what is still queued stays readable on Events.
func runStalled(t *testing.T, h *harness) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	}
	t.Cleanup(func() {
		stop()
		for range h.c.Events() {
		}
	})
	return stop
}

// TestPresenceSyncSurvivesBroadcastFlood: led-update broadcasts flood a consumer that has fallen
// behind, before and after a musician joins, far past the Events bound. The queue drops the oldest
// broadcasts and stays within its bound, but it still holds a Presence sync, so a consumer that
// re-reads Presence() on syncs (the session's peer set) learns of the join.
func TestPresenceSyncSurvivesBroadcastFlood(t *testing.T) {
	const queue, flood = 16, 3 * 16
	srv := newFakeServer(t)
	h := newHarness(t, srv, realtime.Config{EventQueue: queue, BroadcastAck: true})
	stop := runStalled(t, h)
	h.waitState(realtime.StateJoined, 10*time.Second)
	c := srv.lastConn()
	ledUpdates := func(from int) {
		for i := from; i < from+flood; i++ {
			srv.send(c, wire.Ref{}, wire.Ref{}, "realtime:ABC123", "broadcast",
				fmt.Sprintf(`{"type":"broadcast","event":"led-update","payload":{"colors":["#ff0000"],"seq":%d}}`, i))
		}
	}
	ledUpdates(0)
	srv.send(c, wire.Ref{}, wire.Ref{}, "realtime:ABC123", "presence_diff",
		`{"joins":{"peer-bob":{"metas":[{"phx_ref":"b1","name":"Bob"}]}},"leaves":{}}`)
	ledUpdates(flood)
	// The server acks this broadcast after sending everything above, and the client handles frames
	// in order: once it is acknowledged, every event before it has been queued or dropped.
	if err := h.c.Broadcast(context.Background(), "marker", map[string]int{}); err != nil {
		t.Fatal(err)
	}
	stop()

	var kept []realtime.Event
	for ev := range h.c.Events() {
		kept = append(kept, ev)
	}
	if len(kept) > queue {
		t.Errorf("the queue held %d events, over its bound %d", len(kept), queue)
	}
	syncs, broadcasts := 0, 0
	for _, ev := range kept {
		switch ev.Kind {
		case realtime.EventPresenceSync:
			syncs++
		case realtime.EventBroadcast:
			broadcasts++
		}
	}
	if syncs == 0 {
		t.Fatalf("no Presence sync among the %d queued events: the consumer never learns that Bob joined", len(kept))
	}
	if len(h.c.Presence()["peer-bob"]) != 1 {
		t.Errorf("Presence() = %v, want Bob in it", h.c.Presence())
	}
	if st := h.c.Stats(); st.EventsDropped < uint64(2*flood-broadcasts) {
		t.Errorf("EventsDropped = %d, but %d broadcasts never reached the consumer", st.EventsDropped, 2*flood-broadcasts)
	}
}
