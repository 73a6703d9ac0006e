package peer

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/clock"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// hasTimerWithin reports whether a pending timer fires within d from now, not now.
func (f *fakeClock) hasTimerWithin(d time.Duration) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.timers {
		if left := t.when.Sub(f.now); !t.done && left > 0 && left <= d {
			return true
		}
	}
	return false
}

// A tab that rebuilt its RTCPeerConnection while its old one still delivered her audio (a
// one-way failure, or a page that builds the new connection before it abandons the old) sends
// its offer once, and never again: perfect negotiation does not repeat an offer, and the tab,
// impolite, ignores the bridge's offers while it waits for its answer. The offer has a new
// certificate: it is refused while the bridge's connection to ana is connected, whether her
// audio arrives or has stopped for longer than audioFreshness, and kept. Once her page abandons
// the old connection (no close_notify: a reload, a crash), the bridge's goes "disconnected"
// after its ICE disconnected timeout, and the kept offer is answered (on a fresh
// PeerConnection, with the candidates that followed it). The rebuilt connection then carries
// her audio.
func TestRebuiltConnectionsSingleOfferAnsweredOnceTheOldConnectionIsAbandoned(t *testing.T) {
	m, r, s, fc, ana := streamingAna(t, func(c *Config) {
		// pion's, on real time: how long the abandoned connection's silence takes to be noticed.
		c.ICEDisconnectedTimeout = time.Second
	})
	firstAnswer := r.bridgeSignals()[0]

	// Her page builds a new RTCPeerConnection; the old one keeps streaming.
	rebuilt, signals := rebuildConnection(t, r, "ana")
	for _, sig := range signals {
		r.toBridge(sig)
	}
	waitFor(t, "the rebuilt connection's offer refused", func() bool { st, _ := musicianStats(m, "ana"); return st.ImpostorOffers == 1 })
	// A stray answer, which the bridge counts as a duplicate, goes through the musician's
	// inbox behind those candidates: once it is counted, they have been handled.
	st, _ := musicianStats(m, "ana")
	r.toBridge(room.Signal{Type: room.SignalAnswer, FromPeerID: "ana", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "answer", SDP: firstAnswer.Description.SDP}})
	waitFor(t, "the stray answer counted", func() bool { now, _ := musicianStats(m, "ana"); return now.Duplicates > st.Duplicates })

	// Her audio keeps arriving past the end of the first window: the offer is still refused.
	fc.Advance(audioFreshness / 2)
	before := s.fromMic("ana")
	waitFor(t, "ana's audio at the window's middle", func() bool { return s.fromMic("ana") >= before+5 })
	fc.Advance(audioFreshness / 2)
	// She pauses (her sender sends nothing; the old connection stays up): her silence, past
	// audioFreshness, does not admit the offer either, and no check of it waits on the clock.
	waitAudioStopped(t, s, ana)
	fc.Advance(audioFreshness + time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Fatalf("the bridge sent %d answers to ana while her old connection was up, want 1 (to her first offer)", n)
	}
	if fc.hasTimerWithin(audioFreshness) {
		t.Error("the kept offer, with a new certificate, is checked again on the clock: only a connection state admits it")
	}
	if st, _ := musicianStats(m, "ana"); st.ConnectionState != webrtc.PeerConnectionStateConnected {
		t.Fatalf("the bridge's connection to ana is %s while her old connection is up", st.ConnectionState)
	}

	// Her page abandons the old connection: it stops answering, without close_notify.
	if err := ana.pc.SCTP().Transport().ICETransport().Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rebuilt connection connected", func() bool { return rebuilt.connState() == webrtc.PeerConnectionStateConnected })
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	before = s.fromMic("ana")
	waitFor(t, "ana's audio on the rebuilt connection", func() bool { return s.fromMic("ana") >= before+25 })

	answers := 0
	var answer room.Signal
	for _, sig := range r.bridgeSignals() {
		if sig.Type == room.SignalAnswer && sig.TargetPeerID == "ana" {
			answer = sig
			answers++
		}
	}
	if answers != 2 || fingerprintOf(answer.Description.SDP) == fingerprintOf(firstAnswer.Description.SDP) {
		t.Errorf("%d answers to ana, the last on the old PeerConnection: %v; want 2, the second on a fresh one", answers,
			fingerprintOf(answer.Description.SDP) == fingerprintOf(firstAnswer.Description.SDP))
	}
	if n := rebuilt.offersSent.Load(); n != 1 {
		t.Errorf("the rebuilt connection sent %d offers; the test is about one", n)
	}
	if st, _ := musicianStats(m, "ana"); st.ImpostorOffers != 1 {
		t.Errorf("ImpostorOffers = %d, want 1 (the offer examined again is not counted again)", st.ImpostorOffers)
	}
	// The candidates that followed the offer were applied with it: the bridge knew the address
	// the rebuilt connection's checks came from, rather than learning it from them.
	m.mu.Lock()
	mus := m.musicians["ana"]
	m.mu.Unlock()
	pair, err := mus.cur.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("selected candidate pair: %v, %v", pair, err)
	}
	if pair.Remote.Typ != webrtc.ICECandidateTypeHost {
		t.Errorf("the bridge's selected remote candidate is %s, want the rebuilt connection's trickled host candidate", pair.Remote.Typ)
	}
}

// An impostor's offer (a new certificate) kept while the musician streams is never answered
// while her connection is up, however far the clock moves.
func TestKeptImpostorOfferNotAnsweredWhileTheMusicianStreams(t *testing.T) {
	m, r, s, fc, _ := streamingAna(t, nil)

	im := newImpostor(t, r, "ana", 0)
	eavesdrop(r, im)
	r.toBridge(im.offer())
	waitFor(t, "the impostor's offer refused", func() bool { st, _ := musicianStats(m, "ana"); return st.ImpostorOffers == 1 })
	for range 4 {
		before := s.fromMic("ana")
		waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= before+5 })
		fc.Advance(audioFreshness / 2)
	}
	if fc.hasTimerWithin(audioFreshness) {
		t.Error("the kept offer, with a new certificate, is checked again on the clock: only a connection state admits it")
	}
	before := s.fromMic("ana")
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= before+50 })
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Errorf("the bridge sent %d answers to ana, want 1 (to her own offer)", n)
	}
	if all, mic := s.packets("ana"), s.fromMic("ana"); all != mic {
		t.Errorf("%d of the packets in ana's sinks are not hers", all-mic)
	}
	if st, _ := musicianStats(m, "ana"); st.ImpostorOffers != 1 || st.ConnectionState != webrtc.PeerConnectionStateConnected {
		t.Errorf("ana: %+v; want one impostor offer, connected", st)
	}
	if im.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		t.Error("the impostor connected")
	}
}

func TestCandidateUfrag(t *testing.T) {
	field := "fromfield"
	for _, tc := range []struct {
		c    webrtc.ICECandidateInit
		want string
	}{
		{webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"}, ""},
		{webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host generation 0 ufrag abcd network-id 1"}, "abcd"},
		{webrtc.ICECandidateInit{Candidate: "candidate:2 1 udp 1686052607 203.0.113.5 6000 typ srflx raddr 10.0.0.2 rport 5000 generation 0 ufrag wxyz"}, "wxyz"},
		{webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host ufrag abcd", UsernameFragment: &field}, field},
		{webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host ufrag"}, ""},
		{webrtc.ICECandidateInit{Candidate: "ufrag x y z"}, ""},
		{webrtc.ICECandidateInit{}, ""},
	} {
		if got := candidateUfrag(tc.c); got != tc.want {
			t.Errorf("candidateUfrag(%q) = %q, want %q", tc.c.Candidate, got, tc.want)
		}
	}
}

// A page that builds its new RTCPeerConnection before it closes the old one: the new one's
// offer, sent once while the old one still streams, is refused and kept; when the old one
// closes (DTLS close_notify), the bridge's connection leaves "connected" and the kept offer is
// answered at once, without waiting for the window to pass on the clock.
func TestRebuiltConnectionsSingleOfferAnsweredWhenTheOldOneCloses(t *testing.T) {
	// The fake clock never moves: the old connection's audio is fresh until it closes.
	m, r, s, _, ana := streamingAna(t, nil)

	rebuilt := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	waitFor(t, "the rebuilt connection's offer refused", func() bool { st, _ := musicianStats(m, "ana"); return st.ImpostorOffers == 1 })
	ana.close()
	waitFor(t, "the rebuilt connection connected", func() bool { return rebuilt.connState() == webrtc.PeerConnectionStateConnected })
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	before := s.fromMic("ana")
	waitFor(t, "ana's audio on the rebuilt connection", func() bool { return s.fromMic("ana") >= before+25 })
	if n := rebuilt.offersSent.Load(); n != 1 {
		t.Errorf("the rebuilt connection sent %d offers; the test is about one", n)
	}
}

// An ICE restart (the same certificate, other ICE credentials) keeps the audio rule: refused
// and kept while ana's audio arrives on her connected PeerConnection (a browser does not
// restart ICE while its media flows), checked again on the clock, and answered once her audio
// has stopped for audioFreshness although her connection is still up: it cannot carry anyone
// else's audio, as the DTLS association, and its keys, stay hers. Her audio then arrives again.
func TestICERestartOfferAnsweredOnceTheAudioStops(t *testing.T) {
	m, r, s, fc, ana := streamingAna(t, nil)

	first := ana.pc.CurrentLocalDescription().SDP
	o, err := ana.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err == nil {
		err = ana.pc.SetLocalDescription(o)
	}
	if err != nil {
		t.Fatal(err)
	}
	if fingerprintOf(o.SDP) != fingerprintOf(first) || ufragOf(o.SDP) == ufragOf(first) {
		t.Fatal("ana's offer is not an ICE restart of her connection (same certificate, new ufrag)")
	}
	r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: o.SDP}})
	waitFor(t, "the ICE restart refused while her audio arrives", func() bool { st, _ := musicianStats(m, "ana"); return st.ImpostorOffers == 1 })
	waitFor(t, "the kept restart's check armed", func() bool { return fc.hasTimerWithin(audioFreshness) })
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Fatalf("the bridge sent %d answers to ana while her audio arrived, want 1 (to her first offer)", n)
	}

	answerKeptOfferOnPause(t, r, fc, ana, "the ICE restart answered")
	ana.resumeAudio()
	waitFor(t, "ana connected after her ICE restart", func() bool { return ana.connState() == webrtc.PeerConnectionStateConnected })
	before := s.fromMic("ana")
	waitFor(t, "ana's audio after her ICE restart", func() bool { return s.fromMic("ana") >= before+25 })
	if st, _ := musicianStats(m, "ana"); st.ImpostorOffers != 1 || st.ConnectionState != webrtc.PeerConnectionStateConnected {
		t.Errorf("ana: ImpostorOffers %d, connection %s; want 1, connected", st.ImpostorOffers, st.ConnectionState)
	}
	if all, mic := s.packets("ana"), s.fromMic("ana"); all != mic {
		t.Errorf("%d of the packets in ana's sinks are not hers", all-mic)
	}
}

// rebuildConnection starts a second test musician under id, as a page that built a new
// RTCPeerConnection, and returns it with its signals, held back from the bridge: the offer
// first, then its candidates up to end-of-candidates, as a browser sends them (pion may trickle
// its first candidates before the test musician has sent its offer).
func rebuildConnection(t *testing.T, r *testRoom, id string) (*testMusician, []room.Signal) {
	t.Helper()
	var mu sync.Mutex
	var held []room.Signal
	r.setHolds(nil, func(sig room.Signal) bool {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, sig)
		return true
	})
	rebuilt := newTestMusician(t, r, id, musicianOpts{offerFirst: true})
	var signals []room.Signal
	waitFor(t, "the rebuilt connection's offer and candidates", func() bool {
		mu.Lock()
		defer mu.Unlock()
		signals = signals[:0]
		gathered := false
		for _, sig := range held {
			switch sig.Type {
			case room.SignalOffer:
				signals = append([]room.Signal{sig}, signals...)
			case room.SignalCandidate:
				signals = append(signals, sig)
				gathered = gathered || sig.Candidate == nil
			}
		}
		return gathered && len(signals) > 0 && signals[0].Type == room.SignalOffer
	})
	r.setHolds(nil, nil)
	return rebuilt, signals
}

// answerKeptOfferOnPause pauses ana's audio and steps the clock until the bridge answers her
// kept offer (its second answer to her). pion's agent restarted when she set her offer, so her
// last packet may be lost, and the test cannot wait for it: the clock moves again if one
// arrived late.
func answerKeptOfferOnPause(t *testing.T, r *testRoom, fc *fakeClock, ana *testMusician, what string) {
	t.Helper()
	ana.pauseAudio()
	answered := func() bool { return countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") == 2 }
	for range 5 {
		time.Sleep(200 * time.Millisecond)
		fc.Advance(audioFreshness)
		for deadline := time.Now().Add(2 * time.Second); !answered() && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if answered() {
			break
		}
	}
	waitFor(t, what, answered)
}

// streamingAna starts a manager with its timers on a fake clock (tweak, if not nil, adjusts its
// config first) and a test musician "ana" who offers, and waits until her audio reaches her
// sink: where the impostor and kept-offer tests start.
func streamingAna(t *testing.T, tweak func(*Config)) (*Manager, *testRoom, *sinks, *fakeClock, *testMusician) {
	t.Helper()
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	fc := newFakeClock()
	cfg := bridgeConfig(t, r, s)
	cfg.Clock = fc
	if tweak != nil {
		tweak(&cfg)
	}
	m := startManager(t, cfg, r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
	return m, r, s, fc, ana
}

// The musician's audio is fresh for audioFreshness after its newest packet, by the Clock.
func TestAudioFreshness(t *testing.T) {
	fc := newFakeClock()
	h := &pcHandle{}
	if h.audioFresh(fc.Now()) {
		t.Fatal("fresh before any packet")
	}
	fc.Advance(time.Second)
	h.noteAudio(fc.Now())
	fc.Advance(audioFreshness - time.Millisecond)
	if !h.audioFresh(fc.Now()) {
		t.Fatalf("stale %v after the last packet", audioFreshness-time.Millisecond)
	}
	fc.Advance(time.Millisecond)
	if h.audioFresh(fc.Now()) {
		t.Fatalf("fresh %v after the last packet", audioFreshness)
	}
	h.noteAudio(fc.Now())
	if !h.audioFresh(fc.Now()) {
		t.Fatal("stale at a packet's arrival")
	}
}

// Noting a packet's arrival, as a track's read goroutine does for every packet, allocates
// nothing (STYLE §8).
func TestNoteAudioAllocatesNothing(t *testing.T) {
	var c Clock = clock.System{}
	h := &pcHandle{}
	arrived := func() { h.noteAudio(c.Now()) }
	if allocs := testing.AllocsPerRun(1000, arrived); allocs != 0 {
		t.Fatalf("noting a packet's arrival allocates %v times", allocs)
	}
	if !h.audioFresh(c.Now()) {
		t.Fatal("stale right after a packet")
	}
}
