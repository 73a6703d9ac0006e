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
// join-track-join-track loop is stopped: at twice PresenceMaxCalls, as the first track of a join
// (a rejoin's re-track) is not counted up to PresenceMaxCalls times a window.
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
	// Three more rejoins are admitted, counted now; the seventh track in the window is refused.
	for n := 4; n <= 6; n++ {
		evil.sendMsg(ref, evil.ref(), topic, "phx_leave", "{}")
		nextEvent(evil, "phx_close")
		ref = evil.join(topic, cfgJSON(false, false, "evil"))
		track(ref, n)
		nextEvent(evil, "presence_diff")
	}
	evil.sendMsg(ref, evil.ref(), topic, "phx_leave", "{}")
	nextEvent(evil, "phx_close")
	ej = evil.join(topic, cfgJSON(false, false, "evil"))
	track(ej, 7)
	evil.expectText(`["` + ej + `",null,"realtime:ABC123","system",{"extension":"system","status":"error","message":"Client presence rate limit exceeded","channel":"ABC123"}]`)
	evil.expectText(`["` + ej + `","` + ej + `","realtime:ABC123","phx_close",{}]`)

	joins := 0
	for _, f := range victim.expectOnlyUTF8UntilBarrier() {
		if strings.Contains(string(f.data), `"joins":{"evil"`) {
			joins++
		}
	}
	if joins != 6 {
		t.Errorf("victim saw %d presence joins from the rejoining client, want 6", joins)
	}
	if st := h.Stats(); st.PresenceLimited != 1 {
		t.Errorf("PresenceLimited = %d, want 1", st.PresenceLimited)
	}
	// The window ends: tracking works again after a rejoin.
	clock.Advance(30 * time.Second)
	ej = evil.join(topic, cfgJSON(false, false, "evil"))
	track(ej, 8)
	evil.nextMsg() // reply
	evil.expectText(`[null,null,"realtime:ABC123","presence_diff",{"joins":{"evil":{"metas":[{"n":8,"phx_ref":"REF"}]}},"leaves":{}}]`)
}

// TestRejoinTrackAfterAFullWindowIsAdmitted: a client that used its 5 presence calls in a join
// and then had its channel closed (replaced, rate-limited, left) re-tracks once when it rejoins,
// as supabase-js and ledbridge do. On the Realtime server that join starts a fresh window; here
// the window survives the rejoin, and counting the re-track refused the client, rejoin after
// rejoin, for the rest of the window (about 38 s out of the room for ledbridge's schedule).
func TestRejoinTrackAfterAFullWindowIsAdmitted(t *testing.T) {
	clock := newFakeClock()
	h := startHub(t, Config{PresenceMaxCalls: 5, PresenceWindow: 30 * time.Second, Now: clock.Now})
	c := dial(t, h, dialOpts{})
	nextEvent := func(event string) wire.Message {
		for {
			if m := c.nextMsg(); m.Event == event {
				return m
			}
		}
	}
	track := func(joinRef string, n int) {
		c.sendMsg(joinRef, c.ref(), topic, "presence", fmt.Sprintf(`{"type":"presence","event":"track","payload":{"n":%d}}`, n))
	}
	cj := c.join(topic, cfgJSON(false, false, "bridge"))
	for n := 1; n <= 5; n++ {
		track(cj, n)
		nextEvent("presence_diff")
	}
	c.sendMsg(cj, c.ref(), topic, "phx_leave", "{}")
	nextEvent("phx_close")
	cj = c.join(topic, cfgJSON(false, false, "bridge"))
	track(cj, 6)
	if m := c.nextMsg(); m.Event != "phx_reply" || !strings.Contains(string(m.Payload), `"ok"`) {
		t.Fatalf("the rejoin's re-track got %s %s, want an ok reply", m.Event, m.Payload)
	}
	if st := h.Stats(); st.PresenceLimited != 0 {
		t.Errorf("PresenceLimited = %d, want 0", st.PresenceLimited)
	}
}
