package peer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// withInactiveSections is offer with n more inactive audio sections, new mids in its BUNDLE
// group: what any room member can make of a musician's offer, which every member sees.
func withInactiveSections(t *testing.T, offer string, n int) string {
	t.Helper()
	lines := splitLines(offer)
	var b strings.Builder
	var mids []string
	for i := range n {
		mids = append(mids, fmt.Sprintf("x%d", i))
		fmt.Fprintf(&b, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:x%d\r\na=inactive\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n", i)
	}
	grouped := false
	for i, l := range lines {
		if strings.HasPrefix(l, "a=group:BUNDLE") {
			lines[i] = l + " " + strings.Join(mids, " ")
			grouped = true
		}
	}
	if !grouped {
		t.Fatal("the offer has no BUNDLE group")
	}
	return strings.Join(lines, "\r\n") + "\r\n" + b.String()
}

// Reviewer's reproducer: a streaming musician's own offer with 17 new inactive sections (18
// transceivers, past maxTransceiversKept) has her certificate and ICE credentials, so the
// impostor check let it through, and it was answered on a fresh PeerConnection: her live one
// was closed, and her audio with it. Anyone in the room can do that. While her connection is
// up and her audio arrives, an offer that only a fresh PeerConnection could answer is refused,
// unanswered, kept and counted; her connection and audio go on. Once her audio has stopped for
// audioFreshness, the kept offer is handled as one just received: answered on a fresh
// PeerConnection (her own tab's, a dozenth microphone switch, would stop her audio so).
func TestOfferNeedingAFreshPCRefusedWhileTheMusicianStreams(t *testing.T) {
	m, r, s, fc, ana := streamingAna(t, nil)
	firstAnswer := r.bridgeSignals()[0]
	m.mu.Lock()
	mus := m.musicians["ana"]
	sdp := mus.cur.pc.CurrentRemoteDescription().SDP // her offer, as applied
	m.mu.Unlock()
	forged := withInactiveSections(t, sdp, maxTransceiversKept+1)
	scan, err := vetOffer(forged)
	if err != nil {
		t.Fatalf("the forged offer is refused outright, the test no longer makes its case: %v", err)
	}
	m.mu.Lock()
	n := transceiversAfter(mus.cur.pc, scan.mediaMids)
	m.mu.Unlock()
	if n <= maxTransceiversKept {
		t.Fatalf("the forged offer would take the PeerConnection to %d transceivers, not past %d", n, maxTransceiversKept)
	}
	r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: forged}})
	waitFor(t, "the offer handled", func() bool {
		st, _ := musicianStats(m, "ana")
		return st.ImpostorOffers > 0 || countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") > 1
	})
	before := s.fromMic("ana")
	waitFor(t, "ana's audio after the offer", func() bool { return s.fromMic("ana") >= before+50 })
	st, _ := musicianStats(m, "ana")
	if st.ImpostorOffers != 1 {
		t.Errorf("ImpostorOffers = %d, want 1", st.ImpostorOffers)
	}
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Fatalf("the bridge sent %d answers to ana while she streamed, want 1 (to her own offer)", n)
	}
	if n := len(s.get("ana")); n != 1 {
		t.Errorf("%d sinks for ana, want 1: her connection was replaced", n)
	}
	if st.ConnectionState != webrtc.PeerConnectionStateConnected || st.ICERestarts != 0 || ana.connState() != webrtc.PeerConnectionStateConnected {
		t.Errorf("ana's connection: bridge %+v, hers %s", st, ana.connState())
	}

	// Her audio stops: the kept offer is handled then, on a fresh PeerConnection. (Its answer
	// is the forger's business: her tab, whose connection the fresh one replaces, would ignore
	// it; the test musician is not made to.)
	waitAudioStopped(t, s, ana)
	r.setHolds(func(sig room.Signal) bool { return sig.TargetPeerID == "ana" }, nil)
	fc.Advance(audioFreshness + time.Second)
	waitFor(t, "the kept offer answered", func() bool { return countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") == 2 })
	var answer room.Signal
	for _, sig := range r.bridgeSignals() {
		if sig.Type == room.SignalAnswer && sig.TargetPeerID == "ana" {
			answer = sig
		}
	}
	if fingerprintOf(answer.Description.SDP) == fingerprintOf(firstAnswer.Description.SDP) {
		t.Error("the kept offer was answered on the old PeerConnection, want a fresh one")
	}
	if st, _ := musicianStats(m, "ana"); st.ImpostorOffers != 1 {
		t.Errorf("ImpostorOffers = %d, want 1 (the offer examined again is not counted again)", st.ImpostorOffers)
	}
}
