package peer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// stateLog records OnStateChange calls per musician.
type stateLog struct {
	mu sync.Mutex
	by map[MusicianID][]webrtc.PeerConnectionState
}

func (l *stateLog) record(id MusicianID, s webrtc.PeerConnectionState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[MusicianID][]webrtc.PeerConnectionState{}
	}
	l.by[id] = append(l.by[id], s)
}

func (l *stateLog) get(id MusicianID) []webrtc.PeerConnectionState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]webrtc.PeerConnectionState(nil), l.by[id]...)
}

// leftConnected reports whether the musician was connected and then left
// that state.
func leftConnected(states []webrtc.PeerConnectionState) bool {
	seen := false
	for _, s := range states {
		if s == webrtc.PeerConnectionStateConnected {
			seen = true
		} else if seen {
			return true
		}
	}
	return false
}

// A musician who leaves Presence for good (her hold ends with its grace) is
// closed, its sink is closed after its last packet, and every goroutine it had
// is gone while the Manager runs on.
func TestMusicianGoneReleasesEverything(t *testing.T) {
	requireLoopback(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.OnStateChange = states.record
	cfg.PresenceGrace = 300 * time.Millisecond
	m := startManager(t, cfg, r)
	idle := goleak.IgnoreCurrent() // the Manager alone, with no musician

	dee := newTestMusician(t, r, "dee", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("dee"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to dee", bridgeConnected(m, "dee"))
	waitFor(t, "20 packets from dee", func() bool { return s.fromMic("dee") >= 20 })

	if !m.MusicianAway("dee") {
		t.Fatal("dee's live connection was not kept when he left Presence")
	}
	waitFor(t, "dee released after the grace", func() bool { _, ok := musicianStats(m, "dee"); return !ok })
	waitFor(t, "dee's sink closed", func() bool {
		sk := s.get("dee")
		return len(sk) == 1 && sk[0].closed.Load() == 1
	})
	waitFor(t, "OnStateChange(closed)", func() bool {
		st := states.get("dee")
		return len(st) > 0 && st[len(st)-1] == webrtc.PeerConnectionStateClosed
	})
	waitFor(t, "the musician side to notice", func() bool { return dee.connState() != webrtc.PeerConnectionStateConnected })
	dee.close()
	if n := s.get("dee")[0].afterStop.Load(); n != 0 {
		t.Errorf("%d WriteRTP calls after the sink was closed", n)
	}
	goleak.VerifyNone(t, idle)
}

// MaxPeers musicians are admitted; the next join is refused and counted; an
// offer from a stranger (not in Presence) is held and takes no slot; a freed
// slot goes to the waiting musician.
func TestPeerCapRefusesTheNinth(t *testing.T) {
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s) // OfferDelay 1 h: no PeerConnection is made
	m := startManager(t, cfg, r)
	for i := 1; i <= DefaultMaxPeers; i++ {
		if err := m.MusicianJoined(MusicianID(fmt.Sprint("p", i))); err != nil {
			t.Fatalf("musician %d: %v", i, err)
		}
	}
	err := m.MusicianJoined("p9")
	if !errors.Is(err, ErrPeerCap) {
		t.Fatalf("9th musician: err = %v, want ErrPeerCap", err)
	}
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "p10", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: "v=0\r\n"}})
	st := m.Stats()
	if inPresence(st) != DefaultMaxPeers || len(st.Musicians) != DefaultMaxPeers+1 || st.RefusedPeerCap != 1 || len(st.Waiting) != 1 || st.Waiting[0] != "p9" {
		t.Fatalf("stats = %d musicians (%d in Presence), refused %d, waiting %v", len(st.Musicians), inPresence(st), st.RefusedPeerCap, st.Waiting)
	}
	if m.MusicianAway("p3") { // OfferDelay 1 h: no connection, so released at once
		t.Fatal("p3, with no connection, was held")
	}
	if _, ok := musicianStats(m, "p9"); !ok {
		t.Fatal("p9 not admitted into p3's slot")
	}
	if st := m.Stats(); inPresence(st) != DefaultMaxPeers || len(st.Waiting) != 0 {
		t.Fatalf("after p3 left: %d musicians in Presence, waiting %v", inPresence(st), st.Waiting)
	}
	m.MusicianAway("p9")
	m.MusicianAway("p10")
	if m.MusicianAway("never-joined") { // harmless
		t.Error("a musician never known was held")
	}
}

// inPresence counts the musicians in Presence, the ones holding peer-cap slots.
func inPresence(st Stats) int {
	n := 0
	for _, ms := range st.Musicians {
		if ms.InPresence {
			n++
		}
	}
	return n
}

// anOffer makes a real browser-like offer SDP to use as raw material.
func anOffer(t *testing.T) string {
	t.Helper()
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(&me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

func withUfrag(sdp, ufrag string) string {
	lines := strings.Split(sdp, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "a=ice-ufrag:") {
			lines[i] = "a=ice-ufrag:" + ufrag
		}
	}
	return strings.Join(lines, "\r\n")
}

// 100 offers a second from one participant (some of them malformed) neither
// crash the bridge nor disturb a connected musician.
func TestOfferStormDoesNotDisturbOthers(t *testing.T) {
	requireLoopback(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.OnStateChange = states.record
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })

	base := anOffer(t)
	before := s.fromMic("ana")
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := range 200 { // 2 s at 100 offers/s
		<-tick.C
		sdp := withUfrag(base, fmt.Sprintf("storm%04d", i))
		if i%10 == 9 {
			sdp = "v=0\r\nthis is not SDP\r\n"
		}
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "eve", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: sdp}})
		if i%3 == 0 {
			m.HandleSignal(room.Signal{Type: room.SignalCandidate, FromPeerID: "eve", TargetPeerID: bridgeID,
				Candidate: &room.ICECandidate{Candidate: "candidate:junk", SDPMid: new(string)}})
		}
	}
	during := s.fromMic("ana") - before
	// ana keeps streaming after the storm, too.
	waitFor(t, "ana's audio after the storm", func() bool { return s.fromMic("ana") >= before+during+50 })
	if leftConnected(states.get("ana")) {
		t.Errorf("ana's connection changed state during the storm: %v", states.get("ana"))
	}
	if during == 0 {
		t.Error("no audio from ana reached the sink during the storm")
	}
	st := m.Stats()
	if st.OffersCoalesced == 0 {
		t.Error("no offer coalesced: the storm was handled one by one")
	}
	eve, ok := musicianStats(m, "eve")
	if !ok {
		t.Fatal("eve has no slot")
	}
	t.Logf("storm: %d offers coalesced, eve malformed %d; ana got %d packets during it", st.OffersCoalesced, eve.Malformed, during)
}

// Malformed and misdirected signals are dropped and counted; the connected
// musician is not disturbed.
func TestMalformedSignalsDroppedAndCounted(t *testing.T) {
	requireLoopback(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.OnStateChange = states.record
	var anaOffer room.Signal
	r.holdMusician = func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer && anaOffer.Description == nil {
			anaOffer = sig // peek, deliver as usual
		}
		return false
	}
	m := startManager(t, cfg, r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	r.setHolds(nil, nil)
	desc := &room.SessionDescription{Type: "offer", SDP: "v=0\r\n"}

	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: "someone-else", Description: desc})
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "", TargetPeerID: bridgeID, Description: desc})
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: bridgeID, TargetPeerID: bridgeID, Description: desc})
	m.HandleSignal(room.Signal{Type: room.SignalAnswer, FromPeerID: "zed", TargetPeerID: bridgeID, Description: desc})
	m.HandleSignal(room.Signal{Type: room.SignalCandidate, FromPeerID: "zed", TargetPeerID: bridgeID})
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID}) // no description
	m.HandleSignal(room.Signal{Type: "hello", FromPeerID: "ana", TargetPeerID: bridgeID})
	// Reaching ana's PeerConnection: a bad candidate, an answer with no offer
	// outstanding, her own offer again (answered again: she might not have had it).
	mid := "0"
	m.HandleSignal(room.Signal{Type: room.SignalCandidate, FromPeerID: "ana", TargetPeerID: bridgeID,
		Candidate: &room.ICECandidate{Candidate: "candidate:this is not a candidate", SDPMid: &mid}})
	m.HandleSignal(room.Signal{Type: room.SignalAnswer, FromPeerID: "ana", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "answer", SDP: "v=0\r\n"}})
	m.HandleSignal(anaOffer)
	// A stranger's offer that is not SDP.
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "mal", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: "v=0\r\nm=audio banana\r\n"}})
	// And payloads that never get past the decoder.
	for _, p := range []string{`{`, `{"type":"offer"}`, `{"type":"offer","fromPeerId":"x","targetPeerId":"bridge-1","data":{"type":"offer","sdp":"hello"}}`} {
		if _, err := room.DecodeSignal([]byte(p)); !errors.Is(err, room.ErrInvalidPayload) {
			t.Errorf("DecodeSignal(%s) = %v", p, err)
		}
	}

	waitFor(t, "counters", func() bool {
		st := m.Stats()
		ana, _ := musicianStats(m, "ana")
		return st.WrongTarget == 1 && st.MissingSender == 2 && st.UnknownSender == 2 &&
			ana.Malformed == 1 && ana.Duplicates == 2 && st.MalformedSignals == 4
	})
	waitFor(t, "ana's answer sent again", func() bool { return ana.strayAnswers.Load() == 1 })
	before := s.fromMic("ana")
	waitFor(t, "ana's audio afterwards", func() bool { return s.fromMic("ana") >= before+25 })
	if leftConnected(states.get("ana")) {
		t.Errorf("ana's connection changed state: %v", states.get("ana"))
	}
}

// Random payload bytes in valid RTP (and timestamps that jump anywhere)
// reach the sink without breaking the connection.
func TestGarbageRTPReachesSinkWithoutBreakingPeer(t *testing.T) {
	requireLoopback(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.OnStateChange = states.record
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "gus", musicianOpts{offerFirst: true, garbage: true})
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	for _, id := range []MusicianID{"gus", "ana"} {
		if err := m.MusicianJoined(id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "100 garbage packets in gus's sink", func() bool { return s.packets("gus") >= 100 })
	waitFor(t, "50 packets from ana", func() bool { return s.fromMic("ana") >= 50 })
	gus, _ := musicianStats(m, "gus")
	if gus.ConnectionState != webrtc.PeerConnectionStateConnected || gus.PacketsReceived < 100 || gus.Bytes == 0 {
		t.Errorf("gus stats = %+v", gus)
	}
	if leftConnected(states.get("gus")) || leftConnected(states.get("ana")) {
		t.Errorf("state changes: gus %v, ana %v", states.get("gus"), states.get("ana"))
	}
}

// HandleSignal never blocks: past InboxSize, answers and candidates are
// dropped and counted, and offers coalesce to the newest.
func TestHandleSignalNeverBlocks(t *testing.T) {
	m, err := NewManager(Config{SelfID: bridgeID, InboxSize: 64, SendSignal: newTestRoom(t).sendFromBridge, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Not running: nothing drains the inbox.
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		m.HandleSignal(room.Signal{Type: room.SignalCandidate, FromPeerID: "ana", TargetPeerID: bridgeID})
	}
	for i := range 5 {
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: fmt.Sprint("v=0\r\n", i)}})
	}
	st := m.Stats()
	if st.InboxDrops != 36 || st.OffersCoalesced != 4 {
		t.Fatalf("InboxDrops = %d (want 36), OffersCoalesced = %d (want 4)", st.InboxDrops, st.OffersCoalesced)
	}
	m.MusicianAway("ana")
}

// TestOfferWithManyMediaSectionsAndCandidateFloodBounded: an offer with dozens of audio sections is
// refused (each would be a track with goroutines and a stream), and a connected musician cannot
// add more than maxRemoteCandidates candidates to one remote description.
func TestOfferWithManyMediaSectionsAndCandidateFloodBounded(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))

	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" + strings.Repeat("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n", 40)
	before := m.Stats().MalformedSignals
	m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "mal", TargetPeerID: bridgeID, Description: &room.SessionDescription{Type: "offer", SDP: sdp}})
	waitFor(t, "the 40-section offer refused", func() bool { return m.Stats().MalformedSignals > before })

	mid, idx := "0", uint16(0)
	for i := 0; i < 3*maxRemoteCandidates; i++ {
		c := fmt.Sprintf("candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host", 1000+i, 20000+i)
		m.HandleSignal(room.Signal{Type: room.SignalCandidate, FromPeerID: "ana", TargetPeerID: bridgeID,
			Candidate: &room.ICECandidate{Candidate: c, SDPMid: &mid, SDPMLineIndex: &idx}})
		if i%16 == 15 {
			time.Sleep(20 * time.Millisecond) // stay under the inbox bound: reach the cap itself
		}
	}
	waitFor(t, "extra candidates dropped", func() bool {
		ana, _ := musicianStats(m, "ana")
		return ana.DroppedCandidates >= maxRemoteCandidates
	})
	before2 := s.fromMic("ana")
	waitFor(t, "ana's audio afterwards", func() bool { return s.fromMic("ana") >= before2+25 })
}
