package peer

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pion/webrtc/v4"
)

// audioDirections are the direction attributes of an SDP's audio sections, in order.
func audioDirections(sdp string) []string {
	var out []string
	inAudio := false
	for _, l := range splitLines(sdp) {
		switch {
		case strings.HasPrefix(l, "m="):
			inAudio = strings.HasPrefix(l, "m=audio ")
		case inAudio && (l == "a=sendrecv" || l == "a=sendonly" || l == "a=recvonly" || l == "a=inactive"):
			out = append(out, strings.TrimPrefix(l, "a="))
		}
	}
	return out
}

// A muted musician offers her audio section recvonly: the bridge, which never sends, answers
// it inactive (PROTOCOL.md §4: it only receives), not sendonly; when she unmutes on the same
// section (addTrack reuses it), the answer is recvonly, not sendrecv, and she is heard.
func TestMutedMusicianAnsweredInactiveThenRecvonly(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	ana := newTestMusician(t, r, "ana", musicianOpts{})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := ana.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the answer to the muted offer", func() bool { return len(answersTo(r, "ana")) >= 1 })
	waitFor(t, "bridge connected to ana (muted)", bridgeConnected(m, "ana"))
	first := answersTo(r, "ana")[0]
	if d := audioDirections(first); len(d) != 1 || d[0] != "inactive" {
		t.Errorf("answer to the muted (recvonly) offer: audio %v, want [inactive]:\n%s", d, first)
	}
	ana.negotiateNow() // unmute: addTrack takes the recvonly transceiver, same mid
	waitFor(t, "the answer to the unmute offer", func() bool { return len(answersTo(r, "ana")) >= 2 })
	second := answersTo(r, "ana")[1]
	if d := audioDirections(second); len(d) != 1 || d[0] != "recvonly" {
		t.Errorf("answer to the unmute (sendrecv) offer: audio %v, want [recvonly]:\n%s", d, second)
	}
	if fingerprint(first) != fingerprint(second) {
		t.Error("the unmute was answered on a fresh PeerConnection")
	}
	waitFor(t, "ana's audio after she unmuted", func() bool { return s.fromMic("ana") >= 10 })
}

// A musician who mutes by removeTrack (her section turns recvonly, same mid) is answered
// inactive on the transceiver that received her, and recvonly once she adds her track again.
func TestMusicianMutedByRemoveTrackAnsweredInactive(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
	if d := audioDirections(answersTo(r, "ana")[0]); len(d) != 1 || d[0] != "recvonly" {
		t.Fatalf("first answer: audio %v, want [recvonly]", d)
	}
	var sender *webrtc.RTPSender
	for _, tr := range ana.pc.GetTransceivers() {
		if tr.Sender() != nil {
			sender = tr.Sender()
		}
	}
	if sender == nil {
		t.Fatal("ana has no sender")
	}
	if err := ana.pc.RemoveTrack(sender); err != nil { // mute; pion offers the section recvonly
		t.Fatal(err)
	}
	waitFor(t, "the answer to the mute offer", func() bool { return len(answersTo(r, "ana")) >= 2 })
	if d := audioDirections(answersTo(r, "ana")[1]); len(d) != 1 || d[0] != "inactive" {
		t.Errorf("answer to the mute (recvonly) offer: audio %v, want [inactive]:\n%s", d, answersTo(r, "ana")[1])
	}
}

// answeredAs is how the bridge, which only receives, answers an offered audio direction:
// recvonly where she may send, inactive where she offers to receive only.
func answeredAs(offered string) string {
	switch offered {
	case "sendrecv", "sendonly":
		return "recvonly"
	default:
		return "inactive"
	}
}

// checkAnsweredReceiveOnly compares the bridge's answer with the musician's offer (her local
// description once the answer is applied), section by section.
func checkAnsweredReceiveOnly(t *testing.T, what string, mus *testMusician, answer string) {
	t.Helper()
	offered := audioDirections(mus.pc.LocalDescription().SDP)
	answered := audioDirections(answer)
	want := make([]string, len(offered))
	for i, d := range offered {
		want[i] = answeredAs(d)
	}
	if strings.Join(answered, " ") != strings.Join(want, " ") {
		t.Errorf("%s: offer %v answered %v, want %v:\n%s", what, offered, answered, want, answer)
	}
}

// A musician whose page adds a recvonly audio transceiver beside her microphone's sendrecv
// one, in either order, before her first offer: every recvonly section is answered inactive
// (PROTOCOL.md §4: the bridge only receives), not sendonly, the microphone's recvonly, and she
// is heard. The same holds for a second muted section, and for one added by a renegotiation.
func TestRecvonlyBesideSendrecvAnsweredInactive(t *testing.T) {
	requireLoopback(t)
	for _, tc := range []struct {
		name     string
		sections []string // the transceivers she adds before her first offer, in order
	}{
		{"recvonly first", []string{"recvonly", "sendrecv"}},
		{"sendrecv first", []string{"sendrecv", "recvonly"}},
		{"recvonly on both sides", []string{"recvonly", "sendrecv", "recvonly"}},
		{"two muted, no microphone", []string{"recvonly", "recvonly"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, s := newTestRoom(t), &sinks{}
			m := startManager(t, bridgeConfig(t, r, s), r)
			ana := newTestMusician(t, r, "ana", musicianOpts{})
			offerWhenAllAdded(t, ana, tc.sections)
			if err := m.MusicianJoined("ana"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the answer to her offer", func() bool { return len(answersTo(r, "ana")) >= 1 })
			waitFor(t, "ana's answer applied", func() bool { return ana.pc.SignalingState() == webrtc.SignalingStateStable })
			checkAnsweredReceiveOnly(t, "first offer", ana, answersTo(r, "ana")[0])
			waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
			if strings.Contains(strings.Join(tc.sections, " "), "sendrecv") {
				waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
			}
		})
	}

	t.Run("recvonly added by a renegotiation", func(t *testing.T) {
		r, s := newTestRoom(t), &sinks{}
		m := startManager(t, bridgeConfig(t, r, s), r)
		ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
		if err := m.MusicianJoined("ana"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
		if _, err := ana.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the answer to the renegotiation", func() bool { return len(answersTo(r, "ana")) >= 2 })
		waitFor(t, "ana's answer applied", func() bool { return ana.pc.SignalingState() == webrtc.SignalingStateStable })
		answers := answersTo(r, "ana")
		checkAnsweredReceiveOnly(t, "renegotiation", ana, answers[1])
		if fingerprint(answers[0]) != fingerprint(answers[1]) {
			t.Error("the renegotiation was answered on a fresh PeerConnection")
		}
		heard := s.fromMic("ana")
		waitFor(t, "ana's audio after the renegotiation", func() bool { return s.fromMic("ana") >= heard+10 })
	})
}

// offerWhenAllAdded gives mus's PeerConnection the transceivers sections names ("recvonly":
// one that only receives; "sendrecv": her microphone), in order, and only then lets her offer:
// pion fires negotiationneeded after the first, and she would offer it alone.
func offerWhenAllAdded(t *testing.T, mus *testMusician, sections []string) {
	t.Helper()
	var added atomic.Bool
	negotiationNeeded := func() {
		select {
		case mus.negNeeded <- struct{}{}:
		default:
		}
	}
	mus.pc.OnNegotiationNeeded(func() {
		if added.Load() {
			negotiationNeeded()
		}
	})
	for _, d := range sections {
		var err error
		switch d {
		case "recvonly":
			_, err = mus.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		case "sendrecv":
			_, err = mus.pc.AddTransceiverFromTrack(mus.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
		default:
			t.Fatalf("no transceiver %q", d)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	added.Store(true)
	negotiationNeeded()
}
