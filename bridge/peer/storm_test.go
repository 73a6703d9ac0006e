package peer

import (
	"fmt"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// A musician in Presence that storms the bridge with offers, each an ICE restart, gets few of
// them answered: each answer also gathers and trickles the bridge's candidates, and a room
// server cuts a client off past 100 messages a second (hub.DefaultMaxMessagesPerSecond, as
// hosted Realtime does), so a few such musicians at ten negotiations a second each silenced
// the bridge's signalling for everyone. Stepped with a fake clock: 100 offers a second of its
// time for 2 s.
func TestOfferStormFromMusicianAnsweredSparingly(t *testing.T) {
	m, r, fc := startFakeClockManager(t, nil)
	if err := m.MusicianJoined("eve"); err != nil {
		t.Fatal(err)
	}
	base := anOffer(t)
	const storm, every = 200, 10 * time.Millisecond
	for i := range storm {
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "eve", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: withUfrag(base, fmt.Sprintf("storm%04d", i))}})
		time.Sleep(time.Millisecond) // let the musician's goroutine take it, or it coalesces
		fc.Advance(every)
	}
	time.Sleep(100 * time.Millisecond)
	answers := countSignals(r.bridgeSignals(), room.SignalAnswer, "eve")
	allowed := offerBurst + int(storm*every/offerInterval)
	t.Logf("%d offers over %v: %d answers (at most %d), %d signals to eve", storm, storm*every, answers, allowed, len(r.bridgeSignals()))
	if answers > allowed {
		t.Fatalf("%d answers to %d offers over %v (at most %d)", answers, storm, storm*every, allowed)
	}
	if answers == 0 {
		t.Fatal("no offer of the storm was answered")
	}
}
