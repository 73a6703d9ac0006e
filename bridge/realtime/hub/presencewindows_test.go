package hub

import (
	"fmt"
	"testing"
)

// presenceWindowCount is the number of presence windows the hub keeps for its only socket.
func presenceWindowCount(h *testHub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.conns {
		n += len(c.presenceWindows)
	}
	return n
}

// TestPresenceWindowsBounded is the reviewer's case, at a smaller scale: a socket hopping across
// topics (join, track, leave) within the message rate kept one presence window per topic ever
// tracked in the last PresenceWindow (900 for 900 topics), past the MaxChannelsPerClient the
// pruning was meant to hold it to. Now a track on one topic more is refused like a presence
// flood (system error, phx_close, counted) and the socket keeps MaxChannelsPerClient windows; once
// they are over, a new topic's track is served again.
func TestPresenceWindowsBounded(t *testing.T) {
	const channels = 5
	clock := newFakeClock()
	h := startHub(t, Config{MaxChannelsPerClient: channels, Now: clock.Now})
	c := dial(t, h, dialOpts{})
	// hop joins topic i, tracks and leaves; it reports whether the track was served.
	hop := func(i int) bool {
		t.Helper()
		topic := fmt.Sprintf("realtime:hop%d", i)
		jr := c.join(topic, cfgJSON(false, false, "k"))
		c.sendMsg(jr, c.ref(), topic, "presence", `{"type":"presence","event":"track","payload":{"a":1}}`)
		if m := c.nextMsg(); m.Event == "system" {
			c.expectText(`["` + jr + `","` + jr + `","` + topic + `","phx_close",{}]`)
			return false
		} else if m.Event != "phx_reply" {
			t.Fatalf("track on %s: %s %s", topic, m.Event, m.Payload)
		}
		c.nextMsg() // presence_diff
		c.sendMsg(jr, c.ref(), topic, "phx_leave", `{}`)
		c.nextMsg() // reply
		c.nextMsg() // phx_close
		return true
	}
	for i := range channels {
		if !hop(i) {
			t.Fatalf("track on topic %d of %d refused", i, channels)
		}
	}
	for i := channels; i < 3*channels; i++ {
		if hop(i) {
			t.Fatalf("track on topic %d served while %d windows are running", i, channels)
		}
		if n := presenceWindowCount(h); n > channels {
			t.Fatalf("the socket keeps %d presence windows, more than MaxChannelsPerClient (%d)", n, channels)
		}
	}
	if got := h.Stats().PresenceLimited; got != 2*channels {
		t.Errorf("PresenceLimited = %d, want %d", got, 2*channels)
	}
	// The windows end: the next topic is served, and the windows that were over are gone.
	clock.Advance(DefaultPresenceWindow)
	if !hop(100) {
		t.Fatal("a track after every window ended was refused")
	}
	if n := presenceWindowCount(h); n != 1 {
		t.Errorf("the socket keeps %d presence windows after the others ended, want 1", n)
	}
}
