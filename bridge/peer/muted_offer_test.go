package peer

import (
	"strings"
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
