package peer

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// A connected musician away from Presence (MusicianAway) keeps her peer-cap slot: bob, waiting
// behind her, is not admitted while she is held. Another member offering under her id while she
// is away gains nothing; a leave/rejoin storm holds one musician and costs no signal; and back
// in Presence she keeps her connection with no new offer or answer.
func TestAwayMusicianKeepsHerSlotAndHerConnection(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.MaxPeers = 1
	cfg.PresenceGrace = time.Hour // no hold ends by its grace here
	m := startManager(t, cfg, r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
	if err := m.MusicianJoined("bob"); !errors.Is(err, ErrPeerCap) {
		t.Fatalf("bob joined past the cap: %v", err)
	}

	if !m.MusicianAway("ana") {
		t.Fatal("ana's live connection was not kept when she left Presence")
	}
	if st := m.Stats(); !slices.Equal(st.Waiting, []MusicianID{"bob"}) {
		t.Fatalf("waiting %v while ana is held; want bob still waiting", st.Waiting)
	}

	im := newImpostor(t, r, "ana", 0)
	eavesdrop(r, im)
	r.toBridge(im.offer())
	waitFor(t, "the impostor's offer refused", func() bool { st, _ := musicianStats(m, "ana"); return st.ImpostorOffers == 1 })

	signals := len(r.bridgeSignals())
	for range 50 {
		if err := m.MusicianJoined("ana"); err != nil {
			t.Fatal(err)
		}
		m.MusicianAway("ana")
	}
	m.mu.Lock()
	holds := len(m.away)
	m.mu.Unlock()
	if holds != 1 {
		t.Fatalf("%d holds after a leave/rejoin storm of one musician", holds)
	}
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	before := s.fromMic("ana")
	waitFor(t, "ana's audio after she came back", func() bool { return s.fromMic("ana") >= before+50 })
	if n := len(r.bridgeSignals()); n != signals {
		t.Errorf("the bridge sent %d signals over the storm and her return, want none", n-signals)
	}
	if n := len(s.get("ana")); n != 1 {
		t.Errorf("%d sinks for ana, want her first one kept", n)
	}
	st, _ := musicianStats(m, "ana")
	if st.ConnectionState != webrtc.PeerConnectionStateConnected || ana.connState() != webrtc.PeerConnectionStateConnected || !st.InPresence {
		t.Errorf("ana after she came back: bridge %+v, hers %s", st, ana.connState())
	}
	if all, mic := s.packets("ana"), s.fromMic("ana"); all != mic {
		t.Errorf("%d of the packets in ana's sinks are not hers", all-mic)
	}

	m.releaseNow("ana") // for good: her slot is bob's at once
	if st, ok := musicianStats(m, "bob"); !ok || !st.InPresence {
		t.Errorf("bob not admitted into ana's slot when she left for good: %+v", m.Stats())
	}
}

// A held musician who does not come back is released when the grace ends, and nothing of hers is left running; one whose connection closes meanwhile is
// released then; one whose connection is not up is released at once.
func TestAwayMusicianReleased(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.PresenceGrace = 300 * time.Millisecond
	m := startManager(t, cfg, r)
	idle := goleak.IgnoreCurrent() // the Manager alone, with no musician

	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
	if !m.MusicianAway("ana") {
		t.Fatal("ana's live connection was not kept when she left Presence")
	}
	waitFor(t, "ana released after the grace", func() bool { _, ok := musicianStats(m, "ana"); return !ok })
	waitFor(t, "ana's sink closed", func() bool { sk := s.get("ana"); return len(sk) == 1 && sk[0].closed.Load() == 1 })
	waitFor(t, "ana's side closed", func() bool { return ana.connState() == webrtc.PeerConnectionStateClosed })
	ana.close()
	if err := goleak.Find(idle); err != nil {
		t.Errorf("goroutines left behind by ana: %v", err)
	}

	// Her connection closes while she is away: released then, whatever the grace.
	cfg2 := bridgeConfig(t, r, s)
	cfg2.PresenceGrace = time.Hour
	m2 := startManager(t, cfg2, r)
	ben := newTestMusician(t, r, "ben", musicianOpts{offerFirst: true})
	if err := m2.MusicianJoined("ben"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ben", bridgeConnected(m2, "ben"))
	if !m2.MusicianAway("ben") {
		t.Fatal("ben's live connection was not kept when he left Presence")
	}
	ben.close() // DTLS close_notify
	waitFor(t, "ben released when his connection closed", func() bool { _, ok := musicianStats(m2, "ben"); return !ok })

	// Not connected (the bridge waits to offer, nobody answers): released at once.
	if err := m2.MusicianJoined("cy"); err != nil {
		t.Fatal(err)
	}
	if m2.MusicianAway("cy") {
		t.Fatal("cy's connection, not up, was kept")
	}
	if _, ok := musicianStats(m2, "cy"); ok {
		t.Fatal("cy, whose connection was not up, is still there after leaving Presence")
	}
	if n := countSignals(r.bridgeSignals(), room.SignalOffer, "cy"); n != 0 {
		t.Errorf("the bridge offered to cy %d times", n)
	}
}

// releaseNow releases musician id at once, as the end of her PresenceGrace would (MusicianAway),
// for tests about what a release frees rather than about the hold before it.
func (m *Manager) releaseNow(id MusicianID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releaseLocked(id)
}

// A musician missing from the Presence the room server gives on the bridge's rejoin
// (MusicianMissing: the server may have restarted, and her client not rejoined yet) is held for
// RejoinGrace, not PresenceGrace, and keeps her connection when she is back; one who leaves
// (MusicianAway) is still released after PresenceGrace; one missing whose connection is not up is
// released at once.
func TestMissingMusicianHeldForTheRejoinGrace(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.PresenceGrace = 300 * time.Millisecond
	cfg.RejoinGrace = 3 * time.Second
	m := startManager(t, cfg, r)
	connect := func(id MusicianID) *testMusician {
		t.Helper()
		mus := newTestMusician(t, r, string(id), musicianOpts{offerFirst: true})
		if err := m.MusicianJoined(id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "bridge connected to "+string(id), bridgeConnected(m, id))
		waitFor(t, string(id)+"'s audio", func() bool { return s.fromMic(id) >= 10 })
		return mus
	}
	ana, ben := connect("ana"), connect("ben")

	if !m.MusicianMissing("ana") {
		t.Fatal("ana's live connection was not kept when she was missing after the bridge's rejoin")
	}
	if !m.MusicianAway("ben") {
		t.Fatal("ben's live connection was not kept when he left Presence")
	}
	waitFor(t, "ben released after the Presence grace", func() bool { _, ok := musicianStats(m, "ben"); return !ok })
	before := s.fromMic("ana")
	waitFor(t, "ana's audio while she is missing", func() bool { return s.fromMic("ana") >= before+50 }) // 1 s
	if st, ok := musicianStats(m, "ana"); !ok || st.ConnectionState != webrtc.PeerConnectionStateConnected {
		t.Fatalf("ana, missing for longer than the Presence grace: %+v", st)
	}
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(cfg.RejoinGrace) // her hold would have ended by now
	if st, ok := musicianStats(m, "ana"); !ok || st.ConnectionState != webrtc.PeerConnectionStateConnected ||
		ana.connState() != webrtc.PeerConnectionStateConnected || len(s.get("ana")) != 1 {
		t.Fatalf("ana back after she was missing: bridge %+v, hers %s, %d sinks", st, ana.connState(), len(s.get("ana")))
	}
	if ben.connState() != webrtc.PeerConnectionStateClosed {
		t.Errorf("ben's side is %s after his release", ben.connState())
	}

	// Missing once more, and not back: released at the end of the rejoin grace.
	if !m.MusicianMissing("ana") {
		t.Fatal("ana's live connection was not kept the second time")
	}
	missingAt := time.Now()
	waitFor(t, "ana released after the rejoin grace", func() bool { _, ok := musicianStats(m, "ana"); return !ok })
	if d := time.Since(missingAt); d < cfg.RejoinGrace-100*time.Millisecond {
		t.Errorf("ana released %v after she went missing, before the rejoin grace (%v)", d, cfg.RejoinGrace)
	}

	// Not connected (the bridge waits to offer, nobody answers): released at once.
	if err := m.MusicianJoined("cy"); err != nil {
		t.Fatal(err)
	}
	if m.MusicianMissing("cy") {
		t.Fatal("cy's connection, not up, was kept")
	}
	if _, ok := musicianStats(m, "cy"); ok {
		t.Fatal("cy, whose connection was not up, is still there after going missing")
	}
}
