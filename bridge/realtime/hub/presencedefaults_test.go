package hub

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestZeroConfigPresenceLimitIsSupabases: a hub with no presence settings applies the Realtime
// server's CLIENT_PRESENCE_MAX_CALLS (5) and CLIENT_PRESENCE_WINDOW_MS (30000), as PROTOCOL.md §2
// says ("Supabase allows 5 track/untrack calls per 30 s per client and channel"): 5 counted track
// calls within 30 s are served and the 6th gets "Client presence rate limit exceeded" and
// phx_close. The join's own first track is not counted (Config.PresenceMaxCalls: on the Realtime
// server every join starts a window of its own). The numbers are literals, not
// DefaultPresenceMaxCalls and DefaultPresenceWindow, which every other test overrides or reuses.
func TestZeroConfigPresenceLimitIsSupabases(t *testing.T) {
	clock := newFakeClock()
	h := startHub(t, Config{Now: clock.Now})
	c := dial(t, h, dialOpts{})
	cj := c.join(topic, cfgJSON(false, false, "c"))
	track := func(n int) {
		t.Helper()
		c.sendMsg(cj, c.ref(), topic, "presence", fmt.Sprintf(`{"type":"presence","event":"track","payload":{"n":%d}}`, n))
	}
	served := func(n int) {
		t.Helper()
		track(n)
		if m := c.nextMsg(); m.Event != "phx_reply" || !strings.Contains(string(m.Payload), `"status":"ok"`) {
			t.Fatalf("track %d got %s %s, want an ok reply", n, m.Event, m.Payload)
		}
		if m := c.nextMsg(); m.Event != "presence_diff" || !strings.Contains(string(m.Payload), fmt.Sprintf(`{"n":%d,`, n)) {
			t.Fatalf("track %d got %s %s, want its presence_diff", n, m.Event, m.Payload)
		}
	}
	refused := func(n int) {
		t.Helper()
		track(n)
		c.expectText(`["` + cj + `",null,"realtime:ABC123","system",{"extension":"system","status":"error","message":"Client presence rate limit exceeded","channel":"ABC123"}]`)
		c.expectText(`["` + cj + `","` + cj + `","realtime:ABC123","phx_close",{}]`)
	}

	served(0) // the join's own track, not counted
	for n := 1; n <= 4; n++ {
		served(n)
	}
	clock.Advance(30*time.Second - time.Nanosecond) // still inside the window the first call opened
	served(5)
	refused(6)

	// 30 s after the window opened it is over: a rejoin's track and 5 more are served, the 6th not.
	clock.Advance(time.Nanosecond)
	cj = c.join(topic, cfgJSON(false, false, "c"))
	served(7) // the rejoin's re-track, not counted
	for n := 8; n <= 12; n++ {
		served(n)
	}
	refused(13)
	if got := h.Stats().PresenceLimited; got != 2 {
		t.Errorf("PresenceLimited = %d, want 2", got)
	}
}
