package peer

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// FuzzRemoteCandidate feeds a trickled ICE candidate as a remote peer shapes it (the candidate
// line, sdpMid, sdpMLineIndex, usernameFragment; index 65535 stands for "absent") through what
// handleRemoteCandidate does with one: the bridge's own reading of it (candidateUfrag for a held
// suspect offer, candidateKey for the per-generation bound) and pion's AddICECandidate on a
// PeerConnection built by newAPI that holds a Chromium offer. Neither may panic: a candidate is
// the one signal a musician's browser sends many of, and it reaches pion's parser unfiltered.
func FuzzRemoteCandidate(f *testing.F) {
	const absent = uint16(65535)
	f.Add("candidate:1 1 udp 2122260223 192.168.1.5 54321 typ host generation 0 ufrag Zq3x network-id 1", "0", uint16(0), "")
	f.Add("candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active", "0", uint16(0), "Zq3x")
	f.Add("candidate:3 1 udp 1686052607 1.2.3.4 5 typ srflx raddr 192.168.1.5 rport 54321", "", uint16(1), "other")
	f.Add("candidate:4 1 udp 2122260223 abcdef01-2345-6789-abcd-ef0123456789.local 54321 typ host", "0", uint16(0), "")
	f.Add("candidate:5 1 udp 41885439 [2001:db8::1] 3478 typ relay raddr 0.0.0.0 rport 0", "0", absent, "")
	f.Add("a=candidate:6 1 udp 1 ::1 1 typ relay raddr :: rport 0", "x", absent, "")
	f.Add("candidate:7 2 udp 1 127.0.0.1 99999 typ host ufrag", "1", uint16(7), "")
	f.Add("", "0", uint16(0), "") // end of candidates
	newPC := recvonlyPCMaker(f)
	offer := strings.ReplaceAll(chromeOffer, "%PTS%", "111")
	f.Fuzz(func(t *testing.T, candidate, mid string, index uint16, ufrag string) {
		init := webrtc.ICECandidateInit{Candidate: candidate}
		if mid != "" {
			init.SDPMid = &mid
		}
		if index != absent {
			init.SDPMLineIndex = &index
		}
		if ufrag != "" {
			init.UsernameFragment = &ufrag
		}
		_ = candidateUfrag(init)
		_ = candidateKey(init.Candidate)

		pc := newPC(t)
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
			t.Fatal(err)
		}
		_ = pc.AddICECandidate(init) // an error is the bridge's "candidate rejected" line
	})
}
