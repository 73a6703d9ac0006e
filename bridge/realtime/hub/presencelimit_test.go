package hub

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// TestPresenceRateLimitSurvivesRejoin: leaving and rejoining a topic (phx_leave then phx_join, or
// a second phx_join) does not start a new presence window, so the reviewer's
// join-track-join-track loop is stopped at PresenceMaxCalls.
func TestPresenceRateLimitSurvivesRejoin(t *testing.T) {
	clock := newFakeClock()
	h := startHub(t, Config{PresenceMaxCalls: 3, PresenceWindow: 30 * time.Second, Now: clock.Now})
	victim := dial(t, h, dialOpts{})
	victim.join(topic, cfgJSON(false, false, "victim"))
	evil := dial(t, h, dialOpts{})
	track := func(joinRef string, n int) {
		evil.sendMsg(joinRef, evil.ref(), topic, "presence", fmt.Sprintf(`{"type":"presence","event":"track","payload":{"n":%d}}`, n))
	}
	// nextEvent skips frames until one of event arrives.
	nextEvent := func(c *rawClient, event string) wire.Message {
		for {
			if m := c.nextMsg(); m.Event == event {
				return m
			}
		}
	}
	ej := evil.join(topic, cfgJSON(false, false, "evil"))
	track(ej, 1)
	nextEvent(evil, "presence_diff")
	// Leave, rejoin, track.
	evil.sendMsg(ej, evil.ref(), topic, "phx_leave", "{}")
	nextEvent(evil, "phx_close")
	ej = evil.join(topic, cfgJSON(false, false, "evil"))
	track(ej, 2)
	nextEvent(evil, "presence_diff")
	// A second join on the joined topic replaces the channel; track again: the third call.
	ref := evil.ref()
	evil.sendMsg(ref, ref, topic, "phx_join", `{"config":`+cfgJSON(false, false, "evil")+`}`)
	nextEvent(evil, "presence_state")
	track(ref, 3)
	nextEvent(evil, "presence_diff")
	// Rejoin once more: the fourth call in the window is refused.
	evil.sendMsg(ref, evil.ref(), topic, "phx_leave", "{}")
	nextEvent(evil, "phx_close")
	ej = evil.join(topic, cfgJSON(false, false, "evil"))
	track(ej, 4)
	evil.expectText(`["` + ej + `",null,"realtime:ABC123","system",{"extension":"system","status":"error","message":"Client presence rate limit exceeded","channel":"ABC123"}]`)
	evil.expectText(`["` + ej + `","` + ej + `","realtime:ABC123","phx_close",{}]`)

	joins := 0
	for _, f := range victim.expectOnlyUTF8UntilBarrier() {
		if strings.Contains(string(f.data), `"joins":{"evil"`) {
			joins++
		}
	}
	if joins != 3 {
		t.Errorf("victim saw %d presence joins from the rejoining client, want 3", joins)
	}
	if st := h.Stats(); st.PresenceLimited != 1 {
		t.Errorf("PresenceLimited = %d, want 1", st.PresenceLimited)
	}
	// The window ends: tracking works again after a rejoin.
	clock.Advance(30 * time.Second)
	ej = evil.join(topic, cfgJSON(false, false, "evil"))
	track(ej, 5)
	evil.nextMsg() // reply
	evil.expectText(`[null,null,"realtime:ABC123","presence_diff",{"joins":{"evil":{"metas":[{"n":5,"phx_ref":"REF"}]}},"leaves":{}}]`)
}
