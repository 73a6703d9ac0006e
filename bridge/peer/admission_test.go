package peer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// MaxPeers 1: a second musician that offers at once (like a browser) while
// the first is connected is refused; when the first leaves, the bridge answers
// the kept offer and the second connects. Before, its browser waited for that
// answer forever and, as the impolite peer, ignored the bridge's offers.
func TestMusicianRefusedByCapConnectsWhenASlotFrees(t *testing.T) {
	m, s, bob := bobWaitsBehindAna(t)

	m.releaseNow("ana")
	waitFor(t, "bob connected", func() bool { return bob.connState() == webrtc.PeerConnectionStateConnected })
	waitFor(t, "bridge connected to bob", bridgeConnected(m, "bob"))
	waitFor(t, "bob's audio", func() bool { return s.fromMic("bob") >= 25 })
	if n := bob.offersSent.Load(); n != 1 {
		t.Errorf("bob offered %d times", n)
	}
	if st := m.Stats(); len(st.Waiting) != 0 || st.RefusedOffersDropped != 0 {
		t.Errorf("waiting %v, refused offers dropped %d", st.Waiting, st.RefusedOffersDropped)
	}
}

// Kept refused offers (of musicians in Presence waiting for a slot) are bounded in number;
// the oldest goes first.
func TestRefusedOffersBounded(t *testing.T) {
	r := newTestRoom(t)
	cfg := Config{SelfID: bridgeID, MaxPeers: 1, SendSignal: r.sendFromBridge, Logger: testLogger(t)}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	for i := range maxRefusedOffers + 5 {
		if err := m.MusicianJoined(MusicianID(fmt.Sprint("s", i))); !errors.Is(err, ErrPeerCap) {
			t.Fatalf("s%d joined past the cap: %v", i, err)
		}
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: fmt.Sprint("s", i), TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: "v=0\r\n"}})
	}
	m.mu.Lock()
	kept := len(m.refusedOffers)
	m.mu.Unlock()
	if st := m.Stats(); kept != maxRefusedOffers || st.RefusedOffersDropped != 5 || st.RefusedPeerCap != 2*(maxRefusedOffers+5) {
		t.Fatalf("kept %d, dropped %d, refused %d", kept, st.RefusedOffersDropped, st.RefusedPeerCap)
	}
	m.MusicianAway("ana")
}

// An offer that reaches a musician whose goroutine has just ended on its own
// (Presence grace expired) is handed to a fresh musician, not lost in the
// old one's pendingOffer.
func TestLateOfferAfterGraceExitStartsAfresh(t *testing.T) {
	r := newTestRoom(t)
	m, err := NewManager(Config{SelfID: bridgeID, SendSignal: r.sendFromBridge, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Not running: the musician's goroutine never starts, as if it had just returned.
	offer := room.Signal{Type: room.SignalOffer, FromPeerID: "gus", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: "v=0\r\n"}}
	m.HandleSignal(offer)
	m.mu.Lock()
	old := m.musicians["gus"]
	m.mu.Unlock()
	m.musicianExited(old)
	m.mu.Lock()
	cur := m.musicians["gus"]
	m.mu.Unlock()
	if cur == nil || cur == old {
		t.Fatal("the late offer did not start a fresh musician")
	}
	cur.offerMu.Lock()
	got := cur.pendingOffer
	cur.offerMu.Unlock()
	if got == nil || got.Description.SDP != offer.Description.SDP {
		t.Fatalf("fresh musician's pending offer = %+v", got)
	}
	// A musician that left Presence does not come back for its late offer.
	if m.MusicianAway("gus") {
		t.Fatal("gus, with no connection, was held")
	}
	m.musicianExited(cur)
	if _, ok := musicianStats(m, "gus"); ok {
		t.Error("a musician that left was restarted")
	}
}

// A refused offer older than refusedOfferMaxAge is not answered on admission.
func TestRefusedOfferExpires(t *testing.T) {
	r, fc := newTestRoom(t), newFakeClock()
	m, err := NewManager(Config{SelfID: bridgeID, MaxPeers: 1, Clock: fc, SendSignal: r.sendFromBridge, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"old", "new"} {
		if err := m.MusicianJoined(MusicianID(id)); !errors.Is(err, ErrPeerCap) {
			t.Fatalf("%s joined past the cap: %v", id, err)
		}
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: id, TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: "v=0\r\n"}})
		fc.Advance(refusedOfferMaxAge / 2)
	}
	fc.Advance(time.Second) // old is now past the age, new is not
	if m.MusicianAway("ana") {
		t.Fatal("ana, with no connection, was held")
	}
	if err := m.MusicianJoined("old"); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	mus := m.musicians["old"]
	m.mu.Unlock()
	mus.offerMu.Lock()
	pending := mus.pendingOffer
	mus.offerMu.Unlock()
	if pending != nil || m.Stats().RefusedOffersDropped != 1 {
		t.Fatalf("expired offer handed over: pending %v, dropped %d", pending, m.Stats().RefusedOffersDropped)
	}
	if m.MusicianAway("old") {
		t.Fatal("old, with no connection, was held")
	}
	if err := m.MusicianJoined("new"); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	mus = m.musicians["new"]
	m.mu.Unlock()
	mus.offerMu.Lock()
	pending = mus.pendingOffer
	mus.offerMu.Unlock()
	if pending == nil {
		t.Fatal("the offer within its age was not handed over")
	}
	m.MusicianAway("new")
}

// The offer a musician in Presence made while the cap was full is kept however many offers
// strangers (senders not in Presence) send meanwhile: those used to push it out, and when a
// slot freed, the musician's browser went on waiting for an answer that never came.
func TestWaitingMusicianOfferSurvivesStrangerOffers(t *testing.T) {
	m, _, bob := bobWaitsBehindAna(t)

	base := anOffer(t)
	for i := range 2 * maxRefusedOffers {
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: fmt.Sprint("stranger", i), TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: withUfrag(base, fmt.Sprint("s", i))}})
	}
	m.releaseNow("ana")
	waitFor(t, "bridge connected to bob", bridgeConnected(m, "bob"))
	if n := bob.offersSent.Load(); n != 1 {
		t.Errorf("bob offered %d times", n)
	}
}

// Offers under made-up ids from peers not in Presence take no peer-cap slot: under a flood of
// them a musician who joins Presence is admitted and connects at once (before, each stranger
// held a slot for PresenceGrace, so it waited up to 10 s). A stranger that Presence confirms
// is still answered, also when the cap is full by then: its held offer waits for a slot. The
// fake clock never reaches PresenceGrace, so no stranger's slot could time out meanwhile.
func TestStrangerOffersTakeNoPeerCapSlot(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Clock = newFakeClock()
	cfg.MaxPeers = 2
	m := startManager(t, cfg, r)
	// bob offers before Presence announces him, like a browser whose offer overtakes the sync.
	bob := newTestMusician(t, r, "bob", musicianOpts{offerFirst: true})
	waitFor(t, "bob's offer held", func() bool { st, ok := musicianStats(m, "bob"); return ok && !st.InPresence })
	base := anOffer(t)
	const flood = 3 * maxStrangers
	for i := range flood {
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: fmt.Sprint("stranger", i), TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: withUfrag(base, fmt.Sprint("flood", i))}})
	}
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	waitFor(t, "ana's offer", func() bool { return ana.offersSent.Load() == 1 })
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatalf("ana refused while only strangers had offered: %v", err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	if err := m.MusicianJoined("bob"); err != nil {
		t.Fatalf("bob refused: %v", err)
	}
	waitFor(t, "bob connected", func() bool { return bob.connState() == webrtc.PeerConnectionStateConnected })

	m.mu.Lock()
	strangers, kept := m.strangersLocked(), len(m.refusedOffers)
	m.mu.Unlock()
	if strangers > maxStrangers || kept > maxRefusedOffers {
		t.Fatalf("%d offers from strangers: %d held by musicians (at most %d), %d kept (at most %d)", flood, strangers, maxStrangers, kept, maxRefusedOffers)
	}
	for _, id := range []MusicianID{"ana", "bob"} {
		if n := countSignals(r.bridgeSignals(), room.SignalAnswer, string(id)); n != 1 {
			t.Errorf("%s answered %d times", id, n)
		}
	}
	if n := len(r.bridgeSignals()) - countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") - countSignals(r.bridgeSignals(), room.SignalCandidate, "ana") -
		countSignals(r.bridgeSignals(), room.SignalAnswer, "bob") - countSignals(r.bridgeSignals(), room.SignalCandidate, "bob"); n != 0 {
		t.Errorf("the bridge sent %d signals to strangers", n)
	}

	// The cap is full now. Strangers that Presence confirms wait with their held offers, which
	// are answered when slots free: stranger1's after its PresenceGrace ended (its offer moves
	// to the kept ones), carl's while its musician still holds it.
	const late = "stranger1"
	if err := m.MusicianJoined(late); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("%s joined past the cap: %v", late, err)
	}
	cfg.Clock.(*fakeClock).Advance(DefaultPresenceGrace)
	waitFor(t, "strangers released", func() bool { return len(m.Stats().Musicians) == 2 })
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "carl", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: withUfrag(base, "carl")}})
	if err := m.MusicianJoined("carl"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("carl joined past the cap: %v", err)
	}
	for _, left := range []MusicianID{"ana", "bob"} {
		m.releaseNow(left)
	}
	for _, id := range []string{late, "carl"} {
		waitFor(t, id+"'s held offer answered", func() bool { return countSignals(r.bridgeSignals(), room.SignalAnswer, id) == 1 })
		if st, ok := musicianStats(m, MusicianID(id)); !ok || !st.InPresence {
			t.Errorf("%s after admission: %+v", id, st)
		}
		m.releaseNow(MusicianID(id))
	}
}

// bobWaitsBehindAna starts a manager with MaxPeers 1 and ana connected, then bob joins Presence and
// offers at once, as a browser does: both are refused by the cap, and bob's offer is kept.
func bobWaitsBehindAna(t *testing.T) (*Manager, *sinks, *testMusician) {
	t.Helper()
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 1
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	if err := m.MusicianJoined("bob"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("bob joined past the cap: %v", err)
	}
	bob := newTestMusician(t, r, "bob", musicianOpts{offerFirst: true})
	waitFor(t, "bob's offer refused", func() bool { return bob.offersSent.Load() == 1 && m.Stats().RefusedPeerCap == 2 })
	return m, s, bob
}
