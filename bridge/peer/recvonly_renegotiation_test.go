package peer

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// A musician whose renegotiation adds two new recvonly audio sections at once, after the
// bridge's own transceiver is already used (by her microphone, or by her muted first section),
// then one more in a later renegotiation: every section of every answer is inactive or recvonly
// (PROTOCOL.md §4: the bridge never sends), none sendonly or sendrecv, on the same
// PeerConnection, and a microphone is still heard. pion leaves a recvonly section without a
// transceiver of its own a sendonly one: only the offer's first new recvonly section got the
// bridge's (dcc05c1), the second was answered a=sendonly until each got one (9fab02e).
func TestSeveralRecvonlySectionsAddedByRenegotiationsAnsweredInactive(t *testing.T) {
	requireLoopback(t)
	for _, tc := range []struct {
		name       string
		offerFirst bool // she offers her microphone first; else the bridge offers, then she adds it
		muted      bool // her first offer has one recvonly section and no microphone
	}{
		{name: "microphone, she offers first", offerFirst: true},
		{name: "microphone, the bridge offers first"},
		{name: "muted first offer", muted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, s := newTestRoom(t), &sinks{}
			m := startManager(t, bridgeConfig(t, r, s), r)
			ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: tc.offerFirst})
			if tc.muted {
				offerWhenAllAdded(t, ana, []string{"recvonly"})
			}
			if err := m.MusicianJoined("ana"); err != nil {
				t.Fatal(err)
			}
			if !tc.offerFirst && !tc.muted {
				ana.negotiateNow() // she answered the bridge's offer; now her microphone
			}
			waitFor(t, "the answer to her first offer", func() bool { return len(answersTo(r, "ana")) >= 1 })
			waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
			heard := func(what string) {
				t.Helper()
				if tc.muted {
					return
				}
				before := s.fromMic("ana")
				waitFor(t, "ana's audio "+what, func() bool { return s.fromMic("ana") >= before+10 })
			}
			heard("at first")
			waitFor(t, "ana's answer applied", func() bool { return ana.pc.SignalingState() == webrtc.SignalingStateStable })
			checkAnsweredReceiveOnly(t, "first offer", ana, answersTo(r, "ana")[0])

			renegotiate := func(what string, answers, recvonly int) {
				t.Helper()
				sections := make([]string, recvonly)
				for i := range sections {
					sections[i] = "recvonly"
				}
				offerWhenAllAdded(t, ana, sections)
				waitFor(t, "the answer to "+what, func() bool { return len(answersTo(r, "ana")) >= answers })
				waitFor(t, "ana's answer to "+what+" applied", func() bool { return ana.pc.SignalingState() == webrtc.SignalingStateStable })
				got := answersTo(r, "ana")
				answer := got[answers-1]
				checkAnsweredReceiveOnly(t, what, ana, answer)
				for _, d := range audioDirections(answer) {
					if d == "sendonly" || d == "sendrecv" {
						t.Errorf("%s: an audio section answered %s, though the bridge never sends:\n%s", what, d, answer)
					}
				}
				if fingerprint(got[0]) != fingerprint(answer) {
					t.Errorf("%s was answered on a fresh PeerConnection", what)
				}
				heard("after " + what)
			}
			renegotiate("two recvonly sections in one renegotiation", 2, 2)
			renegotiate("one more recvonly section later", 3, 1)
		})
	}
}
