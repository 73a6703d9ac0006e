package hub

import (
	"net/http"
	"strings"
	"testing"
)

// TestHeldHostNotRelayedBesideANewHost: the host's socket leaves while a second member claims
// isHost, and Presence elects that member at once, as every participant does. The old host's
// grace ends there: its client over REST and a socket rejoining with its key are refused, so the
// strips get one host's frames, until the old key tracks again and Presence elects it.
func TestHeldHostNotRelayedBesideANewHost(t *testing.T) {
	clock := newFakeClock()
	h := startHub(t, Config{Now: clock.Now})
	bridge := dial(t, h, dialOpts{from: "127.0.0.1"})
	bridge.track(bridge.join(topic, cfgJSON(false, false, "bridge-peer")), bridgeMeta)
	host := dial(t, h, dialOpts{from: "127.0.0.2"})
	hostTrack := host.track(host.join(topic, cfgJSON(false, true, "host-peer")), hostMeta240)
	second := dial(t, h, dialOpts{from: "127.0.0.3"})
	sj := second.join(topic, cfgJSON(false, true, "second-peer"))
	awaitDiff(bridge, hostTrack, second.track(sj, `{"name":"Second","isHost":true,"joinedAt":"2026-01-01T11:00:00.000Z"}`))
	host.closeNow()
	waitFor(t, "the host's socket to leave", func() bool { return roomSize(h, topic) == 2 })
	awaitLeave(bridge, "host-peer") // its Presence leave: the second claimant is elected

	newHostSends := func(what, color string) {
		t.Helper()
		if r := gatedSend(second, sj, false, "led-update", `{"colors":["`+color+`"],"seq":1}`); r != string(okEmptyReply) {
			t.Errorf("%s: led-update from the elected host: reply %s, want ok", what, r)
		} else {
			expectRelayed(t, bridge, what, color) // the next frame: nothing of the old host's came before
		}
	}
	newHostSends("new host elected", "#0000f1")

	clock.Advance(hostLeaveGrace / 2)
	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#ff0001"],"seq":900}`); code != http.StatusForbidden {
		t.Errorf("REST led-update from the old host's client, another host elected: HTTP %d %s, want 403", code, body)
	}
	newHostSends("after the old host's REST", "#0000f2")

	old := dial(t, h, dialOpts{from: "127.0.0.2"})
	oj := old.join(topic, cfgJSON(false, true, "host-peer"))
	for i, binary := range []bool{false, true} {
		color := []string{"#ff0002", "#ff0003"}[i]
		if r := gatedSend(old, oj, binary, "led-update", `{"colors":["`+color+`"],"seq":901}`); !strings.Contains(r, `"status":"error"`) {
			t.Errorf("led-update (binary %v) from a socket rejoined with the old host's key, another host elected: reply %s, want an error", binary, r)
		}
	}
	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#ff0004"],"seq":902}`); code != http.StatusForbidden {
		t.Errorf("REST led-update from the rejoined old host's client before its track: HTTP %d %s, want 403", code, body)
	}
	newHostSends("after the rejoined old host's frames", "#0000f3")

	// Its track with the earlier joinedAt has Presence elect it again: it is heard, the second is not.
	skipQueued(old)
	awaitDiff(bridge, old.track(oj, hostMeta240))
	if r := gatedSend(old, oj, false, "led-update", `{"colors":["#ff0005"],"seq":903}`); r != string(okEmptyReply) {
		t.Errorf("led-update from the old host elected again: reply %s, want ok", r)
	} else {
		expectRelayed(t, bridge, "old host elected again", "#ff0005")
	}
	if r := gatedSend(second, sj, false, "led-update", `{"colors":["#0000f4"],"seq":2}`); !strings.Contains(r, `"status":"error"`) {
		t.Errorf("led-update from the second claimant, no longer elected: reply %s, want an error", r)
	}
	bridge.barrier()
	// Forged: the REST from a client with no member in the room, and the second once not elected;
	// untracked: the rejoined socket's two frames and its client's REST before its track.
	if st := h.Stats(); st.ForgedSenders != 2 || st.UntrackedSenders != 3 {
		t.Errorf("ForgedSenders %d, UntrackedSenders %d; want 2, 3", st.ForgedSenders, st.UntrackedSenders)
	}
}

// TestHostGraceEndsWhenAnotherIsElected: the host left with nobody else claiming, so it is held;
// a member then tracks isHost and Presence elects it. From then on the old host's client and key
// are not the host, not even once that member gives the claim up within the grace: only a track
// of the old key that Presence elects makes it the host again.
func TestHostGraceEndsWhenAnotherIsElected(t *testing.T) {
	clock := newFakeClock()
	h, bridge := hostRoom(t, clock)
	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#000031"],"seq":1}`); code != http.StatusAccepted {
		t.Errorf("REST led-update from the held host's client, nobody elected: HTTP %d %s, want 202", code, body)
	} else {
		expectRelayed(t, bridge, "held host's REST", "#000031")
	}

	claimant := dial(t, h, dialOpts{from: "127.0.0.3"})
	cj := claimant.join(topic, cfgJSON(false, true, "claimant-peer"))
	awaitDiff(bridge, claimant.track(cj, `{"name":"Claimant","isHost":true,"joinedAt":"2026-01-01T12:00:00.000Z"}`))
	clock.Advance(hostLeaveGrace / 4)
	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#000032"],"seq":2}`); code != http.StatusForbidden {
		t.Errorf("REST led-update from the old host's client, another host elected: HTTP %d %s, want 403", code, body)
	}

	// Nobody is elected now, within the old host's grace.
	awaitDiff(bridge, claimant.track(cj, `{"name":"Claimant","isHost":false,"joinedAt":"2026-01-01T12:00:00.000Z"}`))
	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#000033"],"seq":3}`); code != http.StatusForbidden {
		t.Errorf("REST led-update from the old host's client once the other host gave up: HTTP %d %s, want 403", code, body)
	}
	old := dial(t, h, dialOpts{from: "127.0.0.2"})
	oj := old.join(topic, cfgJSON(false, true, "host-peer"))
	if r := gatedSend(old, oj, true, "led-update", `{"colors":["#000034"],"seq":4}`); !strings.Contains(r, `"status":"error"`) {
		t.Errorf("led-update from a socket rejoined with the old host's key before its track: reply %s, want an error", r)
	}
	awaitDiff(bridge, old.track(oj, hostMeta240))
	if r := gatedSend(old, oj, false, "led-update", `{"colors":["#000035"],"seq":5}`); r != string(okEmptyReply) {
		t.Errorf("led-update from the old host elected again: reply %s, want ok", r)
	} else {
		expectRelayed(t, bridge, "old host elected again", "#000035")
	}
	bridge.barrier()
}
