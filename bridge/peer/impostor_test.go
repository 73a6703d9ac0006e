package peer

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// impostorMarker starts every payload an impostor sends.
const impostorMarker = "EVIL"

// impostor is another member of the room offering to the bridge under a musician's peer id,
// as Realtime lets any member do: a pion PeerConnection of its own (its own DTLS certificate
// and ICE credentials) with a track sending audio marked impostorMarker. It hears the bridge's
// signals to that peer id, as every member of the channel does.
type impostor struct {
	t     *testing.T
	as    string // the peer id it sends under
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	stop  chan struct{}
	wg    sync.WaitGroup
}

// newImpostor makes an impostor whose offer has its audio section and extra recvonly audio
// sections.
func newImpostor(t *testing.T, r *testRoom, as string, extra int) *impostor {
	t.Helper()
	pc, err := musicianAPI(t, musicianOpts{}).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	im := &impostor{t: t, as: as, pc: pc, stop: make(chan struct{})}
	t.Cleanup(im.close)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		sig := room.Signal{Type: room.SignalCandidate, FromPeerID: as, TargetPeerID: bridgeID}
		if c != nil {
			j := c.ToJSON()
			sig.Candidate = &room.ICECandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}
		}
		r.toBridge(sig)
	})
	if im.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "impostor"); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(im.track); err != nil {
		t.Fatal(err)
	}
	for range extra {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	im.wg.Add(1)
	go im.sendAudio()
	return im
}

// offer makes the impostor's offer, as a signal from the peer id it poses as.
func (im *impostor) offer() room.Signal {
	im.t.Helper()
	o, err := im.pc.CreateOffer(nil)
	if err == nil {
		err = im.pc.SetLocalDescription(o)
	}
	if err != nil {
		im.t.Fatal(err)
	}
	return room.Signal{Type: room.SignalOffer, FromPeerID: im.as, TargetPeerID: bridgeID, Description: &room.SessionDescription{Type: "offer", SDP: o.SDP}}
}

// hear applies a signal the bridge sent to the peer id the impostor poses as.
func (im *impostor) hear(sig room.Signal) {
	switch sig.Type {
	case room.SignalAnswer:
		if im.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
			_ = im.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.Description.SDP})
		}
	case room.SignalCandidate:
		if c := sig.Candidate; c != nil && im.pc.RemoteDescription() != nil {
			_ = im.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment})
		}
	}
}

func (im *impostor) sendAudio() {
	defer im.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	payload := []byte(impostorMarker + "-not-the-musician's-audio-xxxxxxxxxxxxxxxxxxxxxxxxxxx")
	for seq := uint16(1); ; seq++ {
		select {
		case <-im.stop:
			return
		case <-tick.C:
		}
		_ = im.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: payload})
	}
}

func (im *impostor) close() {
	select {
	case <-im.stop:
		return
	default:
	}
	close(im.stop)
	im.wg.Wait()
	_ = im.pc.Close()
}

// eavesdrop hands every signal the bridge sends to im.as to im as well as to the musician, as
// a Realtime channel does.
func eavesdrop(r *testRoom, im *impostor) {
	r.setHolds(func(sig room.Signal) bool {
		if sig.TargetPeerID == im.as {
			im.hear(sig)
		}
		return false
	}, nil)
}

// Another member of the room offering under the peer id of a musician whose audio is
// streaming cannot take her connection over (reviewer's probe: a plain offer renegotiated
// ana's live connection with the impostor's SDP, and her audio stopped for good while the
// bridge showed her connected; one with 16 extra recvonly sections was answered on a fresh
// PeerConnection, whose DTLS peer was the impostor, and its audio was taken as ana's). The
// offer is refused, unanswered and counted; ana's audio keeps reaching her sink, and the
// impostor's never does.
func TestImpostorOfferUnderAStreamingMusiciansIDRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra int // recvonly audio sections besides the impostor's track
	}{
		{"plain", 0},
		{"past maxTransceiversKept", maxTransceiversKept},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireLoopback(t)
			r, s := newTestRoom(t), &sinks{}
			cfg := bridgeConfig(t, r, s)
			cfg.Clock = newFakeClock() // it never moves: ana's audio is always fresh
			m := startManager(t, cfg, r)
			ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
			if err := m.MusicianJoined("ana"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
			waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })

			im := newImpostor(t, r, "ana", tc.extra)
			eavesdrop(r, im)
			offer := im.offer()
			m.mu.Lock()
			scan, err := scanOffer(offer.Description.SDP)
			if err != nil {
				m.mu.Unlock()
				t.Fatal(err)
			}
			wouldKeep := transceiversAfter(m.musicians["ana"].cur.pc, scan.mediaMids)
			m.mu.Unlock()
			if past := wouldKeep > maxTransceiversKept; past != (tc.extra > 0) {
				t.Fatalf("the offer would take the PeerConnection to %d transceivers: the test no longer makes the case it is about", wouldKeep)
			}
			r.toBridge(offer)
			waitFor(t, "the impostor's offer handled", func() bool {
				st, _ := musicianStats(m, "ana")
				return st.ImpostorOffers > 0 || countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") > 1
			})
			before := s.fromMic("ana")
			waitFor(t, "ana's audio after the impostor's offer", func() bool { return s.fromMic("ana") >= before+50 })

			st, _ := musicianStats(m, "ana")
			if st.ImpostorOffers != 1 {
				t.Errorf("ImpostorOffers = %d, want 1", st.ImpostorOffers)
			}
			if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
				t.Errorf("the bridge sent %d answers to ana, want 1 (to her own offer)", n)
			}
			if all, mic := s.packets("ana"), s.fromMic("ana"); all != mic {
				t.Errorf("%d of the packets in ana's sinks are not hers", all-mic)
			}
			if n := len(s.get("ana")); n != 1 {
				t.Errorf("%d sinks for ana, want 1: her track was replaced", n)
			}
			if st.ConnectionState != webrtc.PeerConnectionStateConnected || st.ICERestarts != 0 || ana.connState() != webrtc.PeerConnectionStateConnected {
				t.Errorf("ana's connection: bridge %+v, hers %s", st, ana.connState())
			}
			if im.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
				t.Error("the impostor connected")
			}
		})
	}
}

// A tab whose audio has stopped reaching the bridge (here it pauses; a page that lost its
// connection sends nothing either) may build a new RTCPeerConnection, with a new certificate,
// while the bridge's PeerConnection still shows as connected (the old one answers ICE consent
// checks, or its loss is not yet noticed): its offer is refused while that connection is
// connected, within audioFreshness of her last packet and past it alike (a muted sender sends
// no RTP either), and answered, on a fresh PeerConnection, once the old connection closes
// (DTLS close_notify); the new connection then carries her audio.
func TestOfferWithANewCertificateAnsweredOnceTheOldConnectionCloses(t *testing.T) {
	m, r, s, fc, ana := streamingAna(t, nil)
	waitAudioStopped(t, s, ana)
	firstAnswer := r.bridgeSignals()[0]

	// Her page builds a new RTCPeerConnection; the old one stays open, without close_notify.
	// Its signals are held until the clock has moved.
	rebuilt, signals := rebuildConnection(t, r, "ana")
	if fingerprintOf(signals[0].Description.SDP) == fingerprintOf(ana.pc.LocalDescription().SDP) {
		t.Fatal("the rebuilt connection offers the old one's certificate")
	}
	deliver := func() {
		for _, sig := range signals {
			r.toBridge(sig)
		}
	}
	if st, _ := musicianStats(m, "ana"); st.ConnectionState != webrtc.PeerConnectionStateConnected {
		t.Fatalf("the bridge's connection is %s: the test needs it connected, its audio stopped", st.ConnectionState)
	}

	// Just within the window, the offer is refused as an impostor's.
	fc.Advance(audioFreshness - time.Millisecond)
	deliver()
	waitFor(t, "the offer refused", func() bool { st, _ := musicianStats(m, "ana"); return st.ImpostorOffers == 1 })

	// Past its end too: her silence does not admit another certificate while her connection is
	// up. The same offer sent again is refused again.
	fc.Advance(audioFreshness)
	deliver()
	waitFor(t, "the offer refused again", func() bool { st, _ := musicianStats(m, "ana"); return st.ImpostorOffers == 2 })
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Fatalf("the bridge sent %d answers to ana while her connection was up, want 1 (to her first offer)", n)
	}

	// Her page closes the old connection (DTLS close_notify closes the bridge's): the offer
	// kept is answered at once, on a fresh PeerConnection.
	ana.close()
	waitFor(t, "the rebuilt connection connected", func() bool { return rebuilt.connState() == webrtc.PeerConnectionStateConnected })
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	before := s.fromMic("ana")
	waitFor(t, "ana's audio on the rebuilt connection", func() bool { return s.fromMic("ana") >= before+25 })
	var answer room.Signal
	for _, sig := range r.bridgeSignals() {
		if sig.Type == room.SignalAnswer {
			answer = sig
		}
	}
	if fingerprintOf(answer.Description.SDP) == fingerprintOf(firstAnswer.Description.SDP) {
		t.Error("the new certificate was answered on the old PeerConnection")
	}
	if st, _ := musicianStats(m, "ana"); st.ImpostorOffers != 2 {
		t.Errorf("ImpostorOffers = %d, want 2", st.ImpostorOffers)
	}
}

// A musician who mutes by replaceTrack(null) or encodings[].active=false sends no RTP at all
// while her connection stays up (reviewer's probe: 2 s into her silence, another room member's
// offer under her peer id, with its own certificate, was answered on a fresh PeerConnection,
// which closed hers; the impostor's audio became hers, and her own tab's next offer was the one
// refused). An offer with another certificate is refused while her connection is connected,
// however long she has been silent; it is never answered, the impostor never connects, and
// when she unmutes her audio arrives on the connection she had.
func TestImpostorOfferWithANewCertificateRefusedWhileTheMusicianIsMuted(t *testing.T) {
	m, r, s, fc, ana := streamingAna(t, nil)
	waitAudioStopped(t, s, ana) // her sender sends no packets; her PeerConnection stays up
	fc.Advance(3 * time.Second)

	im := newImpostor(t, r, "ana", 0)
	eavesdrop(r, im)
	r.toBridge(im.offer())
	waitFor(t, "the impostor's offer handled", func() bool {
		st, _ := musicianStats(m, "ana")
		return st.ImpostorOffers > 0 || countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") > 1
	})
	// Still refused as her silence goes on; her connection stays up meanwhile (her tab answers
	// the bridge's consent checks).
	for range 3 {
		fc.Advance(audioFreshness)
		time.Sleep(300 * time.Millisecond)
	}
	if st, _ := musicianStats(m, "ana"); st.ImpostorOffers != 1 || st.ConnectionState != webrtc.PeerConnectionStateConnected {
		t.Errorf("ana: ImpostorOffers %d, connection %s; want 1, connected", st.ImpostorOffers, st.ConnectionState)
	}
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Errorf("the bridge sent %d answers to ana, want 1 (to her own offer)", n)
	}

	ana.resumeAudio()
	before := s.fromMic("ana")
	waitFor(t, "ana's audio once she unmutes", func() bool { return s.fromMic("ana") >= before+25 })
	if all, mic := s.packets("ana"), s.fromMic("ana"); all != mic {
		t.Errorf("%d of the packets in ana's sinks are not hers", all-mic)
	}
	if n := len(s.get("ana")); n != 1 {
		t.Errorf("%d sinks for ana, want 1: her track was replaced", n)
	}
	if st := ana.connState(); st != webrtc.PeerConnectionStateConnected {
		t.Errorf("ana's own connection is %s", st)
	}
	if im.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		t.Error("the impostor connected")
	}
}
