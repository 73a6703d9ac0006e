package peer

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// overdueSquatters fills every slot of m with room members that join Presence and never answer
// (no browser behind them), and waits until each has held its slot unconnected past the slot
// timeout. It returns their musicians, in the order they joined.
func overdueSquatters(t *testing.T, m *Manager, n int) []*musician {
	t.Helper()
	var squatters []*musician
	for i := range n {
		id := MusicianID(fmt.Sprintf("squat-%d", i))
		if err := m.MusicianJoined(id); err != nil {
			t.Fatal(err)
		}
		m.mu.Lock()
		squatters = append(squatters, m.musicians[id])
		m.mu.Unlock()
	}
	for _, sq := range squatters {
		waitFor(t, string(sq.id)+"'s slot timeout", sq.overdue.Load)
	}
	return squatters
}

// One musician waiting for one slot takes one: the overdue member whose slot she takes waits
// behind her and does not, in turn, take the slot of another overdue member, and so on down the
// line. Before, each evicted member counted as a new waiter: four silent members and one
// musician joining made four reclaims, three members torn down and admitted again at once.
func TestOneWaitingMusicianReclaimsOneSlot(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 4
	cfg.OfferDelay = 50 * time.Millisecond
	cfg.SlotTimeout = 200 * time.Millisecond
	m := startManager(t, cfg, r)
	squatters := overdueSquatters(t, m, 4)

	newTestMusician(t, r, "ana", musicianOpts{})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatalf("ana refused although every slot was overdue: %v", err)
	}
	if st := m.Stats(); st.SlotsReclaimed != 1 || !slices.Equal(st.Waiting, []MusicianID{squatters[0].id}) {
		t.Fatalf("slots reclaimed %d, waiting %v; want 1, [%s]", st.SlotsReclaimed, st.Waiting, squatters[0].id)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 25 })

	// Well past the slot timeout, with the evicted member waiting and the others overdue.
	if st := m.Stats(); st.SlotsReclaimed != 1 || !slices.Equal(st.Waiting, []MusicianID{squatters[0].id}) {
		t.Errorf("slots reclaimed %d, waiting %v; want still 1, [%s]", st.SlotsReclaimed, st.Waiting, squatters[0].id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, sq := range squatters[1:] {
		if m.musicians[sq.id] != sq {
			t.Errorf("%s was torn down and admitted again; only one slot was wanted", sq.id)
		}
	}
}

// presenceSyncsUntil calls MusicianJoined for ids, as each Presence sync of the room does, until
// cond holds or 20 s have passed, and reports whether it held.
func presenceSyncsUntil(m *Manager, ids []MusicianID, cond func() bool) bool {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, id := range ids {
			_ = m.MusicianJoined(id)
		}
		if cond() {
			return true
		}
	}
	return false
}

// Two musicians whose connecting takes longer than the slot timeout (a TURN relay far away),
// admitted in the slots of two silent members, both connect: the members they evicted wait and
// take no slot back from them. Before, each evicted member took back a slot the moment its
// holder was overdue, and the two musicians were torn down again and again, neither connecting.
func TestTwoSlowMusiciansBothConnectInSlotsReclaimedForThem(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 2
	cfg.OfferDelay = 150 * time.Millisecond // the bridge offers only after the slot timeout
	cfg.SlotTimeout = 100 * time.Millisecond
	m := startManager(t, cfg, r)
	overdueSquatters(t, m, 2)

	musicians := []MusicianID{"ana", "bob"}
	for _, id := range musicians {
		newTestMusician(t, r, string(id), musicianOpts{})
		if err := m.MusicianJoined(id); err != nil {
			t.Fatalf("%s refused although every slot was overdue: %v", id, err)
		}
	}
	both := func() bool { return bridgeConnected(m, "ana")() && bridgeConnected(m, "bob")() }
	if !presenceSyncsUntil(m, musicians, both) {
		st := m.Stats()
		t.Fatalf("after 20 s: ana connected %v, bob connected %v, slots reclaimed %d, waiting %v",
			bridgeConnected(m, "ana")(), bridgeConnected(m, "bob")(), st.SlotsReclaimed, st.Waiting)
	}
	if st := m.Stats(); st.SlotsReclaimed != 2 {
		t.Errorf("slots reclaimed %d; want 2, one for each musician", st.SlotsReclaimed)
	}
}

// With one slot and two slow musicians, the one waiting takes the slot from the first once
// (the first is overdue), and connects: the first, waiting behind, does not take it back.
// Before, the two swapped the slot every slot timeout and neither ever connected.
func TestTwoSlowMusiciansForOneSlotDoNotSwapForEver(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 1
	cfg.OfferDelay = 150 * time.Millisecond
	cfg.SlotTimeout = 100 * time.Millisecond
	m := startManager(t, cfg, r)
	musicians := []MusicianID{"ana", "bob"}
	for _, id := range musicians {
		newTestMusician(t, r, string(id), musicianOpts{})
	}
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	if err := m.MusicianJoined("bob"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("bob joined past the cap: %v", err)
	}
	if !presenceSyncsUntil(m, musicians, bridgeConnected(m, "bob")) {
		st := m.Stats()
		t.Fatalf("after 20 s: ana connected %v, bob connected %v, slots reclaimed %d, waiting %v",
			bridgeConnected(m, "ana")(), bridgeConnected(m, "bob")(), st.SlotsReclaimed, st.Waiting)
	}
	waitFor(t, "bob's audio", func() bool { return s.fromMic("bob") >= 25 })
	if st := m.Stats(); st.SlotsReclaimed != 1 || !slices.Equal(st.Waiting, []MusicianID{"ana"}) || !bridgeConnected(m, "bob")() {
		t.Errorf("slots reclaimed %d, waiting %v, bob connected %v; want 1, [ana], true", st.SlotsReclaimed, st.Waiting, bridgeConnected(m, "bob")())
	}
}

// A musician whose slot was taken back because she was slow to connect gets twice the bound at
// her next admission, so she connects then even if someone new waits: here ana, slower than the
// slot timeout but not than twice it, is evicted for bob, admitted again when bob leaves, and
// keeps her slot and connects although a silent member joins right behind her. Before, she was
// evicted for him after the same slot timeout and never connected.
func TestMusicianEvictedOnceGetsALongerBoundNextTime(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 1
	cfg.PresenceGrace = 100 * time.Millisecond
	cfg.OfferDelay = 600 * time.Millisecond // past the slot timeout, well within twice it
	const slotTimeout = 500 * time.Millisecond
	cfg.SlotTimeout = slotTimeout
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ana", musicianOpts{})
	newTestMusician(t, r, "bob", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	if err := m.MusicianJoined("bob"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("bob joined past the cap: %v", err)
	}
	waitFor(t, "bridge connected to bob", bridgeConnected(m, "bob"))
	if st := m.Stats(); st.SlotsReclaimed != 1 || !slices.Equal(st.Waiting, []MusicianID{"ana"}) {
		t.Fatalf("slots reclaimed %d, waiting %v; want 1, [ana]", st.SlotsReclaimed, st.Waiting)
	}

	m.MusicianAway("bob") // bob leaves; after his PresenceGrace ana has the slot again
	waitFor(t, "ana admitted again", func() bool { return holdsSlot(m, "ana") })
	if err := m.MusicianJoined("squat"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("squat joined past the cap: %v", err)
	}
	m.mu.Lock()
	bound := m.musicians["ana"].slotTimeout
	m.mu.Unlock()
	if bound != 2*slotTimeout {
		t.Errorf("ana's bound at her second admission %v; want %v", bound, 2*slotTimeout)
	}
	if !presenceSyncsUntil(m, []MusicianID{"ana", "squat"}, bridgeConnected(m, "ana")) {
		st := m.Stats()
		t.Fatalf("ana did not connect in 20 s after her second admission: slots reclaimed %d, waiting %v", st.SlotsReclaimed, st.Waiting)
	}
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 25 })
	if st := m.Stats(); st.SlotsReclaimed != 1 || !slices.Equal(st.Waiting, []MusicianID{"squat"}) {
		t.Errorf("slots reclaimed %d, waiting %v; want 1, [squat]", st.SlotsReclaimed, st.Waiting)
	}
}

// The bound at each admission after an eviction doubles, up to maxSlotTimeoutFactor times the
// slot timeout.
func TestSlotBoundDoublesUpToItsCap(t *testing.T) {
	base := DefaultSlotTimeout
	got, want := []time.Duration{}, []time.Duration{60 * time.Second, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute}
	for b := base; len(got) < len(want); {
		b = nextSlotBound(b, base)
		got = append(got, b)
	}
	if !slices.Equal(got, want) {
		t.Errorf("bounds after 1..4 evictions %v; want %v", got, want)
	}
}
