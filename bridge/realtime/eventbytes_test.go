package realtime_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// TestEventQueueBoundedByBytes: a consumer that stalls while a peer sends frame-sized broadcasts
// pins at most Config.EventQueueBytes of them, not EventQueue (256) frames: the oldest are dropped
// and counted, and the newest, up to the marker that follows them, are kept in order.
func TestEventQueueBoundedByBytes(t *testing.T) {
	const queueBytes = 2 << 20
	srv := newFakeServer(t)
	h := newHarness(t, srv, realtime.Config{EventQueueBytes: queueBytes})
	stop := runStalled(t, h)
	h.waitState(realtime.StateJoined, 10*time.Second)

	const broadcasts = 20
	payload := strings.Repeat("x", 512<<10) // half a frame: the room's largest led-updates are 256 KiB
	for i := range broadcasts {
		frame, err := wire.AppendBinary(nil, &wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: "realtime:ABC123",
			Event: fmt.Sprintf("big-%02d", i), Encoding: wire.EncodingBinary, Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		srv.sendToLast(websocket.MessageBinary, frame)
	}
	// Frames are handled in order, so once the marker is in the Presence table every broadcast
	// before it has been queued or dropped.
	c := srv.lastConn()
	srv.send(c, wire.RefOf(c.joinRef), wire.Ref{}, "realtime:ABC123", "presence_diff",
		`{"joins":{"marker":{"metas":[{"phx_ref":"m1"}]}},"leaves":{}}`)
	// Nothing signals a Presence change but the stalled Events, so poll the table.
	for deadline := time.Now().Add(10 * time.Second); len(h.c.Presence()["marker"]) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the marker never reached the Presence table; stats %+v", h.c.Stats())
		}
	}
	stop() // closes Events; what is still queued stays readable

	var kept []realtime.Event
	held := 0
	for ev := range h.c.Events() {
		kept = append(kept, ev)
		held += len(ev.Payload)
	}
	if held > queueBytes {
		t.Errorf("the stalled queue held %d bytes of payload, over EventQueueBytes %d", held, queueBytes)
	}
	var big []string
	for _, ev := range kept {
		if ev.Kind == realtime.EventBroadcast {
			big = append(big, ev.Event)
		}
	}
	if len(big) == 0 || len(big) == broadcasts {
		t.Fatalf("kept %d of %d broadcasts, want the newest that fit in %d bytes", len(big), broadcasts, queueBytes)
	}
	for i, name := range big { // the newest, in order, and nothing in between missing
		if want := fmt.Sprintf("big-%02d", broadcasts-len(big)+i); name != want {
			t.Errorf("kept broadcasts %v, want the newest %d in order", big, len(big))
			break
		}
	}
	if last := kept[len(kept)-1]; last.Kind != realtime.EventPresenceSync || kept[len(kept)-2].Key != "marker" {
		t.Errorf("the queue does not end with the marker's join and sync: %v, %v", kept[len(kept)-2].Kind, last.Kind)
	}
	if st := h.c.Stats(); st.EventsDropped < uint64(broadcasts-len(big)) {
		t.Errorf("EventsDropped = %d, but %d broadcasts never reached the consumer", st.EventsDropped, broadcasts-len(big))
	}
}
