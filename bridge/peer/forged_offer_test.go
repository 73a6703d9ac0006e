package peer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// Review 323: a room member resends a streaming musician's own offer (public: it was broadcast
// to the channel) with one line broken. Her certificate and ICE credentials pass impostorOffer;
// pion refused the offer only after it had changed the signaling state, which left her live
// PeerConnection in have-remote-offer: every later offer of hers counted as glare, refused as an
// impostor's while her audio arrived. settleRefusedOffer brings it back to stable; the last case
// is refused by pion for what this PeerConnection negotiated (a payload type given another
// codec), which no scan of the offer could see. The forged offer is counted (Malformed) and not
// answered, her audio keeps arriving, and her own next offer is answered.
func TestAForgedOfferThatPionRefusesLeavesTheConnectionStable(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(string) string
	}{
		{"a candidate pion cannot parse", func(s string) string {
			s = regexp.MustCompile(`(?m)^a=(candidate:.*|end-of-candidates)\r\n`).ReplaceAllString(s, "")
			return strings.Replace(s, "a=mid:0\r\n", "a=mid:0\r\na=candidate:1 1 udp 2130706431 10.0.0.1 notaport typ host\r\n", 1)
		}},
		{"a payload type not a number", func(s string) string {
			return regexp.MustCompile(`(?m)^(m=audio [^\r]*)\r\n`).ReplaceAllString(s, "$1 zz\r\n")
		}},
		{"an extmap pion cannot parse", func(s string) string {
			return strings.Replace(s, "a=mid:0\r\n", "a=mid:0\r\na=extmap:zz urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n", 1)
		}},
		{"a payload type given another codec", func(s string) string {
			return strings.Replace(s, "a=rtpmap:111 opus/48000/2\r\n", "a=rtpmap:111 G722/8000\r\n", 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { forgedOfferLeavesStable(t, tc.edit) })
	}
}

func forgedOfferLeavesStable(t *testing.T, edit func(string) string) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Clock = newFakeClock() // never moves: ana's audio is always fresh
	m := startManager(t, cfg, r)
	var anaOffer string
	r.setHolds(nil, func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer && anaOffer == "" {
			anaOffer = sig.Description.SDP
		}
		return false
	})
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
	r.setHolds(nil, nil)
	m.mu.Lock()
	pc := m.musicians["ana"].cur.pc
	m.mu.Unlock()

	forged := edit(anaOffer)
	if forged == anaOffer {
		t.Fatal("could not edit the offer")
	}
	r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: forged}})
	waitFor(t, "the forged offer refused", func() bool { st, _ := musicianStats(m, "ana"); return st.Malformed > 0 })
	if ss := pc.SignalingState(); ss != webrtc.SignalingStateStable {
		t.Errorf("the refused offer left ana's live PeerConnection %s, want stable", ss)
	}
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Errorf("%d answers to ana, want 1 (the forged offer answered?)", n)
	}
	heard := s.fromMic("ana")
	waitFor(t, "ana's audio after the forged offer", func() bool { return s.fromMic("ana") >= heard+25 })

	// Her own renegotiation now (same certificate and credentials, a new line).
	again := strings.Replace(anaOffer, "a=mid:0\r\n", "a=mid:0\r\na=ptime:20\r\n", 1)
	r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
		Description: &room.SessionDescription{Type: "offer", SDP: again}})
	waitFor(t, "her renegotiation handled", func() bool {
		st, _ := musicianStats(m, "ana")
		return st.ImpostorOffers > 0 || countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") > 1
	})
	if st, _ := musicianStats(m, "ana"); st.ImpostorOffers != 0 {
		t.Errorf("her own renegotiation was refused as an impostor's (ImpostorOffers=%d)", st.ImpostorOffers)
	}
	heard = s.fromMic("ana")
	waitFor(t, "ana's audio after her renegotiation", func() bool { return s.fromMic("ana") >= heard+25 })
}

// The same forged offer sent twice is refused twice: the answer settleRefusedOffer made to get
// back to stable was never sent, so the offer is not one to answer again as a duplicate
// (freshPCReason), which would send the musician an answer to an offer her tab never made.
func TestAForgedOfferSentTwiceIsNotAnsweredAsADuplicate(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Clock = newFakeClock()
	m := startManager(t, cfg, r)
	var anaOffer string
	r.setHolds(nil, func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer && anaOffer == "" {
			anaOffer = sig.Description.SDP
		}
		return false
	})
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	r.setHolds(nil, nil)
	forged := strings.Replace(anaOffer, "a=rtpmap:111 opus/48000/2\r\n", "a=rtpmap:111 G722/8000\r\n", 1)
	for i := range uint64(2) {
		r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: forged}})
		waitFor(t, "the forged offer handled", func() bool {
			st, _ := musicianStats(m, "ana")
			return st.Malformed > i || st.Duplicates > 0 || st.ImpostorOffers > 0
		})
	}
	st, _ := musicianStats(m, "ana")
	if st.Malformed != 2 || st.Duplicates != 0 || st.ImpostorOffers != 0 {
		t.Errorf("Malformed %d, Duplicates %d, ImpostorOffers %d; want 2, 0, 0", st.Malformed, st.Duplicates, st.ImpostorOffers)
	}
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana"); n != 1 {
		t.Errorf("%d answers to ana, want 1", n)
	}
}

// negotiatedPC is a recvonly PeerConnection built by newAPI that has answered offer (stable,
// with a current remote description: what it is applied next is a renegotiation).
func negotiatedPC(t *testing.T, offer string) *webrtc.PeerConnection {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := fuzzAPI(t).NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{*cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	if _, err := answerLocally(pc); err != nil {
		t.Fatal(err)
	}
	return pc
}

// pion v4.2.26 has no rollback of a remote offer (its signaling state machine refuses one from
// have-remote-offer, by SetRemoteDescription or SetLocalDescription): settleRefusedOffer answers
// the offer locally instead. Should pion gain one, this fails, and settleRefusedOffer may use it.
func TestPionCannotRollBackARemoteOffer(t *testing.T) {
	base := strings.ReplaceAll(chromeOffer, "%PTS%", "111")
	pc := negotiatedPC(t, base)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: strings.Replace(base, "SAVPF 111", "SAVPF 111 zz", 1)}); err == nil {
		t.Fatal("pion applied a payload type zz")
	}
	if pc.SignalingState() != webrtc.SignalingStateHaveRemoteOffer {
		t.Fatalf("pion left %s, want have-remote-offer (the case settleRefusedOffer is for)", pc.SignalingState())
	}
	rollback := webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}
	if err := pc.SetLocalDescription(rollback); err == nil {
		t.Error("SetLocalDescription(rollback) worked")
	}
	rollback.SDP = base
	if err := pc.SetRemoteDescription(rollback); err == nil {
		t.Error("SetRemoteDescription(rollback) worked")
	}
	if settled, err := answerLocally(pc); !settled || err != nil || pc.SignalingState() != webrtc.SignalingStateStable {
		t.Errorf("answerLocally: %v, %v; %s", settled, err, pc.SignalingState())
	}
}
