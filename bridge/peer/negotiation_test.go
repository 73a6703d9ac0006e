package peer

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// The musician offers first (it has its microphone track from the start):
// the bridge answers recvonly, connects, and its sink gets the musician's packets.
func TestMusicianOffersBridgeAnswersRecvonly(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})

	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	t.Logf("figure: musician offer → bridge connected in %v (loopback)", time.Since(start))
	waitFor(t, "50 marked packets in ana's sink", func() bool { return s.fromMic("ana") >= 50 })

	sigs := r.bridgeSignals()
	if n := countSignals(sigs, room.SignalOffer, "ana"); n != 0 {
		t.Errorf("bridge sent %d offers to a musician who offered", n)
	}
	var answer *room.Signal
	for i := range sigs {
		if sigs[i].Type == room.SignalAnswer {
			answer = &sigs[i]
			break
		}
	}
	if answer == nil {
		t.Fatal("bridge sent no answer")
	}
	if !sdpHas(answer.Description.SDP, "a=recvonly") || sdpHas(answer.Description.SDP, "a=sendrecv") {
		t.Errorf("answer is not recvonly:\n%s", answer.Description.SDP)
	}
	if answer.FromPeerID != bridgeID || answer.TargetPeerID != "ana" {
		t.Errorf("answer addressed from %q to %q", answer.FromPeerID, answer.TargetPeerID)
	}
	if countSignals(sigs, room.SignalCandidate, "ana") == 0 {
		t.Error("bridge trickled no ICE candidates")
	}
	if !hasEndOfCandidates(sigs, "ana") {
		t.Error("bridge sent no end-of-candidates")
	}
	st, _ := musicianStats(m, "ana")
	if st.Codec != webrtc.MimeTypeOpus || st.PacketsReceived == 0 || st.Bytes == 0 || !st.InPresence {
		t.Errorf("stats = %+v", st)
	}
	if ana.connState() != webrtc.PeerConnectionStateConnected {
		t.Errorf("musician side is %v", ana.connState())
	}
	if got := s.get("ana"); len(got) != 1 || got[0].mime != webrtc.MimeTypeOpus {
		t.Errorf("sinks = %+v", got)
	}
}

func hasEndOfCandidates(sigs []room.Signal, target string) bool {
	for _, s := range sigs {
		if s.TargetPeerID == target && s.IsEndOfCandidates() {
			return true
		}
	}
	return false
}

// A musician who does not offer is offered to after OfferDelay, with one
// recvonly audio transceiver; it answers with its microphone track.
func TestBridgeOffersAfterDelay(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.OfferDelay = 200 * time.Millisecond
	m := startManager(t, cfg, r)
	bo := newTestMusician(t, r, "bo", musicianOpts{})
	if err := m.MusicianJoined("bo"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	waitFor(t, "bridge connected to bo", bridgeConnected(m, "bo"))
	t.Logf("figure: join → bridge connected in %v, of which %v offer delay (loopback)", time.Since(start), cfg.OfferDelay)
	waitFor(t, "50 marked packets in bo's sink", func() bool { return s.fromMic("bo") >= 50 })

	sigs := r.bridgeSignals()
	if len(sigs) == 0 || sigs[0].Type != room.SignalOffer {
		t.Fatalf("the bridge's first signal is not an offer: %+v", sigs)
	}
	offer := sigs[0].Description.SDP
	if !sdpHas(offer, "a=recvonly") || countLines(offer, "m=audio") != 1 || countLines(offer, "m=video") != 0 {
		t.Errorf("offer is not one recvonly audio section:\n%s", offer)
	}
	for _, want := range []string{"a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1;maxaveragebitrate=64000", "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000"} {
		if !sdpHas(offer, want) {
			t.Errorf("offer lacks %q:\n%s", want, offer)
		}
	}
	if bo.offersSent.Load() != 0 {
		t.Errorf("musician sent %d offers; the test wants only the bridge to offer", bo.offersSent.Load())
	}
}

func countLines(sdp, prefix string) int {
	n := 0
	for _, l := range splitLines(sdp) {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func splitLines(sdp string) []string {
	var out []string
	start := 0
	for i := 0; i+1 < len(sdp); i++ {
		if sdp[i] == '\r' && sdp[i+1] == '\n' {
			out = append(out, sdp[start:i])
			start = i + 2
		}
	}
	return out
}

// Glare: the bridge's offer and the musician's cross. The musician
// (impolite) ignores the bridge's; the bridge (polite) closes its
// PeerConnection and answers on a fresh one. The test room holds both offers
// in flight so that they really cross.
func TestGlareBridgeAnswersOnFreshPeerConnection(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.OfferDelay = 100 * time.Millisecond
	bridgeOffer := make(chan room.Signal, 1)
	r.holdBridge = func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer && sig.TargetPeerID == "cy" {
			select {
			case bridgeOffer <- sig:
				return true
			default:
			}
		}
		return false
	}
	musicianOffer := make(chan room.Signal, 1)
	r.holdMusician = func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer {
			musicianOffer <- sig
			return true
		}
		return false
	}
	m := startManager(t, cfg, r)
	cy := newTestMusician(t, r, "cy", musicianOpts{})
	if err := m.MusicianJoined("cy"); err != nil {
		t.Fatal(err)
	}
	fromBridge := <-bridgeOffer // the bridge is now in have-local-offer
	cy.negotiateNow()           // the musician adds its microphone and offers
	fromCy := <-musicianOffer   // the musician is now in have-local-offer
	r.setHolds(nil, nil)
	cy.receive(fromBridge)
	waitFor(t, "musician to ignore the crossed offer", func() bool { return cy.ignoredOffer.Load() == 1 })
	m.HandleSignal(fromCy)

	waitFor(t, "bridge connected to cy", bridgeConnected(m, "cy"))
	waitFor(t, "50 marked packets in cy's sink", func() bool { return s.fromMic("cy") >= 50 })
	st, _ := musicianStats(m, "cy")
	if st.GlareRestarts != 1 {
		t.Errorf("GlareRestarts = %d, want 1", st.GlareRestarts)
	}
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "cy"); n != 1 {
		t.Errorf("bridge sent %d answers, want 1", n)
	}
}

// A musician that offers NACK for its audio gets one from the bridge for every
// packet it never sent, over real pion peers on loopback. (Browsers do not offer
// NACK for Opus by default; the bridge still answers without it then, which the
// other tests cover.)
func TestBridgeNacksLostAudioPackets(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true, nack: true})
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	var answer string
	for _, sig := range r.bridgeSignals() {
		if sig.Type == room.SignalAnswer {
			answer = sig.Description.SDP
		}
	}
	if !sdpHas(answer, "a=rtcp-fb:111 nack") {
		t.Fatalf("the bridge's answer does not accept NACK for Opus:\n%s", answer)
	}
	// Sequence numbers lossEvery, 2·lossEvery, … were never sent.
	waitFor(t, "NACKs for three lost packets", func() bool {
		n := 0
		for seq := uint16(lossEvery); seq <= 4*lossEvery; seq += lossEvery {
			if _, ok := ana.nacked.Load(seq); ok {
				n++
			}
		}
		return n >= 3
	})
	ana.nacked.Range(func(k, _ any) bool {
		if seq := k.(uint16); seq%lossEvery != 0 {
			t.Errorf("the bridge asked again for packet %d, which arrived", seq)
		}
		return true
	})
}
