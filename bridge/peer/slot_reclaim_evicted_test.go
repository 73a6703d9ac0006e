package peer

import (
	"slices"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// A musician whose slot was taken back by a newcomer who then never connects gets it back: here
// ana, slower than the slot timeout, is admitted in a silent member's slot, goes overdue, and a
// second silent member joining takes her slot; once that one has held it unconnected for its
// bound twice over, the first evicted waiter takes it back, and so on until ana, admitted again
// with twice her bound, connects. No Presence sync drives it: the holders' own timers do. Before,
// the reclaims stopped at an evicted waiter, and ana waited for ever behind the silent newcomer
// (review 241: after 20 s, waiting [squat-0 ana], holding [squat-new]).
func TestEvictedMusicianTakesHerSlotBackFromASilentNewcomer(t *testing.T) {
	m, _, s := anaOverdueThenJoined(t, "squat-new")
	if st := m.Stats(); st.SlotsReclaimed != 2 || !slices.Equal(st.Waiting, []MusicianID{"squat-0", "ana"}) {
		t.Fatalf("slots reclaimed %d, waiting %v; want 2, [squat-0 ana]", st.SlotsReclaimed, st.Waiting)
	}

	connected := bridgeConnected(m, "ana")
	for deadline := time.Now().Add(10 * time.Second); !connected(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			st := m.Stats()
			t.Fatalf("ana not connected 10 s after squat-new took her slot: slots reclaimed %d, waiting %v", st.SlotsReclaimed, st.Waiting)
		}
	}
	st := m.Stats()
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 25 })

	// Ana connected keeps her slot; the two silent members wait, neither holding a slot, and
	// take nothing back from her.
	now := m.Stats()
	if !connected() {
		t.Fatal("ana lost her connection")
	}
	waiting := slices.Clone(now.Waiting)
	slices.Sort(waiting)
	if !slices.Equal(waiting, []MusicianID{"squat-0", "squat-new"}) || now.SlotsReclaimed != st.SlotsReclaimed {
		t.Errorf("waiting %v, slots reclaimed %d; want squat-0 and squat-new, still %d", now.Waiting, now.SlotsReclaimed, st.SlotsReclaimed)
	}
	for _, id := range []MusicianID{"squat-0", "squat-new"} {
		if holdsSlot(m, id) {
			t.Errorf("%s holds a slot beside ana's, with MaxPeers 1", id)
		}
	}
}

// A newcomer who answers but never connects (a browser whose ICE fails every time) does not hold
// the slot of a musician evicted for her for good either: once stalled, unconnected for
// maxSlotTimeoutFactor × the slot timeout since her admission, she gives it back to the evicted
// waiters, and ana, admitted again with twice her bound, connects. Before, a holder heard from
// was left to connect for as long as she stayed, and ana waited behind her until she left.
func TestEvictedMusicianTakesHerSlotBackFromANewcomerWhoNeverConnects(t *testing.T) {
	m, r, s := anaOverdueThenJoined(t, "stuck")
	// Her side signals (so a browser is behind her), and her connection never comes up: the
	// one candidate she sends is unreachable, and she answers no offer.
	mid := "0"
	r.toBridge(room.Signal{Type: room.SignalCandidate, FromPeerID: "stuck", TargetPeerID: bridgeID,
		Candidate: &room.ICECandidate{Candidate: "candidate:1 1 udp 2130706431 192.0.2.1 9 typ host", SDPMid: &mid}})
	m.mu.Lock()
	stuck := m.musicians["stuck"]
	m.mu.Unlock()
	waitFor(t, "stuck heard", stuck.heard.Load)

	connected := bridgeConnected(m, "ana")
	for deadline := time.Now().Add(10 * time.Second); !connected(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			st := m.Stats()
			t.Fatalf("ana not connected 10 s after stuck took her slot: slots reclaimed %d, waiting %v, stuck holds a slot: %v",
				st.SlotsReclaimed, st.Waiting, holdsSlot(m, "stuck"))
		}
	}
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 25 })
}

// anaOverdueThenJoined sets the scene of the tests above: in a room of one slot, taken by a
// silent squatter, ana is admitted in the squatter's slot and goes overdue (slower than the slot
// timeout, faster than twice it), and newcomer joins, taking ana's slot. r and s are the room and
// the sinks of the manager m.
func anaOverdueThenJoined(t *testing.T, newcomer MusicianID) (m *Manager, r *testRoom, s *sinks) {
	t.Helper()
	requireLoopback(t)
	r, s = newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 1
	cfg.OfferDelay = 150 * time.Millisecond // ana slower than the slot timeout, faster than twice it
	cfg.SlotTimeout = 100 * time.Millisecond
	m = startManager(t, cfg, r)
	overdueSquatters(t, m, 1)
	newTestMusician(t, r, "ana", musicianOpts{})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatalf("ana refused although the only slot was overdue: %v", err)
	}
	m.mu.Lock()
	ana := m.musicians["ana"]
	m.mu.Unlock()
	waitFor(t, "ana overdue", ana.overdue.Load)
	if err := m.MusicianJoined(newcomer); err != nil {
		t.Fatalf("%s refused although ana's slot was overdue: %v", newcomer, err)
	}
	return m, r, s
}
