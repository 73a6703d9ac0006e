package peer

import (
	"errors"
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
// impostor's while her audio arrived. The offers scanOffer can judge by their text it refuses
// (refusedMidway); the last case is refused by pion for what this PeerConnection negotiated (a
// payload type given another codec), and settleRefusedOffer brings it back to stable. Either
// way the forged offer is counted (Malformed) and not answered, her audio keeps arriving, and
// her own next offer is answered.
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

// connectAnaKeepingHerOffer connects musician ana, who offers first, on a clock that never moves
// (her audio is always fresh), and returns her offer as the room carried it: what anyone in the
// room can resend under her id.
func connectAnaKeepingHerOffer(t *testing.T) (*Manager, *testRoom, *sinks, string) {
	t.Helper()
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
	return m, r, s, anaOffer
}

func forgedOfferLeavesStable(t *testing.T, edit func(string) string) {
	m, r, s, anaOffer := connectAnaKeepingHerOffer(t)
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
	m, r, _, anaOffer := connectAnaKeepingHerOffer(t)
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

// vetOffer refuses what pion refuses only part-way through SetRemoteDescription of a
// renegotiation (refusedMidway), and only that: for each offer, either vetOffer refuses it as
// ErrRefusedMidway and pion, applying it to a negotiated PeerConnection, refuses it and leaves
// have-remote-offer, or vetOffer takes it and pion applies it.
func TestVetOfferRefusesWhatPionRefusesMidway(t *testing.T) {
	const cand = "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
	base := strings.Replace(strings.ReplaceAll(chromeOffer, "%PTS%", "111 63 9 0 8 13 110 126"), "a=mid:0\r\n", "a=mid:0\r\n"+cand, 1)
	withPTs := func(pts, lines string) string {
		o := strings.Replace(base, "SAVPF 111 63 9 0 8 13 110 126\r\n", "SAVPF "+pts+"\r\n", 1)
		return strings.Replace(o, "a=mid:0\r\n", "a=mid:0\r\n"+lines, 1)
	}
	withLines := func(lines string) string { return withPTs("111 63 9 0 8 13 110 126", lines) }
	badCand := strings.Replace(cand, "40000", "notaport", 1)
	dataChannel := "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n"
	secondSection := strings.Replace(base, "BUNDLE 0", "BUNDLE 0 1", 1) +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n"
	for _, tc := range []struct {
		name, offer string
		refused     bool
	}{
		{"chrome", base, false},
		{"an unparsable candidate only", strings.Replace(base, cand, badCand, 1), true},
		{"an unparsable candidate beside one pion parses", strings.Replace(base, cand, badCand+cand, 1), false},
		{"a candidate of a type pion skips only", strings.Replace(base, cand, strings.Replace(cand, "typ host", "typ bogus", 1), 1), false},
		{"a candidate of a network pion skips only", strings.Replace(base, cand, strings.Replace(cand, " udp ", " sctp ", 1), 1), false},
		{"a skipped candidate and an unparsable one", strings.Replace(base, cand, strings.Replace(cand, "typ host", "typ bogus", 1)+badCand, 1), true},
		{"an unparsable candidate in a section pion takes none from", secondSection + badCand, false},
		{"an extmap pion cannot read in a second audio section", secondSection + "a=extmap:zz urn:x\r\n", true},
		{"a payload type not a number in a second audio section", strings.Replace(secondSection, "SAVPF 111\r\n", "SAVPF 111 zz\r\n", 1), true},
		{"a payload type not a number", withPTs("111 zz", ""), true},
		{"a payload type past 255", withPTs("111 256", "a=rtpmap:256 opus/48000/2\r\n"), true},
		{"a payload type without a=rtpmap", withPTs("111 96", ""), true},
		{"a static payload type without a=rtpmap", strings.Replace(withPTs("111 8", ""), "a=rtpmap:8 PCMA/8000\r\n", "", 1), false},
		{"payload type 0 without a=rtpmap", strings.Replace(withPTs("111 0", ""), "a=rtpmap:0 PCMU/8000\r\n", "", 1), false},
		{"its only a=rtpmap with a clock rate not a number", strings.Replace(base, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus/zz/2", 1), false},
		{"its only a=rtpmap without a codec", strings.Replace(base, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111", 1), false},
		{"an apt not a number", withPTs("111 96", "a=rtpmap:96 rtx/48000\r\na=fmtp:96 APT=zz\r\n"), true},
		{"an apt not a number on a payload type not offered", withLines("a=rtpmap:96 rtx/48000\r\na=fmtp:96 apt=zz\r\n"), false},
		{"an apt", withPTs("111 96", "a=rtpmap:96 rtx/48000\r\na=fmtp:96 apt=111\r\n"), false},
		{"an extmap id not a number", withLines("a=extmap:zz urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"), true},
		{"an extmap id 0", withLines("a=extmap:0 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"), true},
		{"an extmap without a URI", withLines("a=extmap:5\r\n"), true},
		{"an extmap direction pion cannot read", withLines("a=extmap:5/sideways urn:x\r\n"), true},
		{"a data channel section", base + dataChannel, false},
		{"an extmap pion cannot read in a data channel section", base + dataChannel + "a=extmap:zz urn:x\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, vetErr := vetOffer(tc.offer)
			if vetErr != nil && !errors.Is(vetErr, ErrRefusedMidway) {
				t.Fatalf("vetOffer: %v (the case tests something else)", vetErr)
			}
			if refused := vetErr != nil; refused != tc.refused {
				t.Errorf("vetOffer refused it: %v (%v), want %v", refused, vetErr, tc.refused)
			}
			pc := negotiatedPC(t, base)
			err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: tc.offer})
			switch {
			case tc.refused && (err == nil || pc.SignalingState() != webrtc.SignalingStateHaveRemoteOffer):
				t.Errorf("pion: %v, %s; want it refused, left in have-remote-offer", err, pc.SignalingState())
			case !tc.refused && err != nil:
				t.Errorf("pion refused it: %v", err)
			}
		})
	}
}

// negotiatedPC is a recvonly PeerConnection built by newAPI that has answered offer (stable,
// with a current remote description: what it is applied next is a renegotiation).
func negotiatedPC(t *testing.T, offer string) *webrtc.PeerConnection {
	t.Helper()
	cert := testCertificate(t)
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
