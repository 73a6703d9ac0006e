package peer

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// The relayed pair of TestHostAddressGoneRestartsARelayedPairBoundToEveryAddress, restarted
// because the host address went, when the musician's candidates under her new credentials reach
// the bridge before her answer to its restart offer, and that answer carries none (made before
// her gathering found one). A pion peer does this at random: it gathers as it applies the offer
// and trickles what it finds at once, ahead of an answer whose SDP has only what was found by
// then. The bridge used to add such a candidate at once, to the description it had: pion dropped
// it (its ufrag is no applied description's), the bridge had no remote candidate to open a TURN
// permission towards, the restart never connected, and only another ICE restart, ConnectTimeout
// (15 s) later, brought her back, if it did not lose the same race. The restart itself must
// connect: one ICE restart in all.
func TestRelayedRestartConnectsWhenHerCandidatesComeBeforeHerAnswer(t *testing.T) {
	m, s, r := startRelayedIvyInRoom(t)

	// From the restart on, her signals are held until both her answer and a candidate under its
	// credentials have come; then the candidates go first, and the answer without its own.
	var mu sync.Mutex
	var held []room.Signal
	var answer *room.Signal
	released := false
	r.setHolds(nil, func(sig room.Signal) bool {
		mu.Lock()
		defer mu.Unlock()
		if released {
			return false
		}
		switch sig.Type {
		case room.SignalAnswer:
			answer = &sig
		case room.SignalCandidate:
			held = append(held, sig)
		default:
			return false
		}
		if answer == nil {
			return true
		}
		ufrag := sdpUfrag(answer.Description.SDP)
		if !slices.ContainsFunc(held, func(c room.Signal) bool { return c.Candidate != nil && signalUfrag(c) == ufrag }) {
			return true
		}
		released = true
		for _, c := range held {
			m.HandleSignal(c)
		}
		m.HandleSignal(room.Signal{Type: answer.Type, FromPeerID: answer.FromPeerID, TargetPeerID: answer.TargetPeerID,
			Description: &room.SessionDescription{Type: answer.Description.Type, SDP: withoutCandidates(answer.Description.SDP)}})
		return true
	})

	m.HostAddressesChanged([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.9")}) // 10.0.0.1 gone
	waitFor(t, "an ICE restart for the address gone", func() bool { st, _ := musicianStats(m, "ivy"); return st.AddressGoneRestarts == 1 })
	waitFor(t, "ivy's candidates, then her answer, delivered", func() bool { mu.Lock(); defer mu.Unlock(); return released })
	waitFor(t, "bridge reconnected to ivy", bridgeConnected(m, "ivy"))
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the restart", func() bool { return s.fromMic("ivy") >= before+25 })
	if st, _ := musicianStats(m, "ivy"); st.ICERestarts != 1 {
		t.Errorf("ICERestarts = %d, want 1: the restart for the address gone connects by itself", st.ICERestarts)
	}
}

// sdpUfrag is the first a=ice-ufrag of a description.
func sdpUfrag(sdp string) string {
	for _, l := range strings.Split(sdp, "\r\n") {
		if u, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok {
			return u
		}
	}
	return ""
}

// signalUfrag is the ufrag a trickled candidate signal names (candidateUfrag).
func signalUfrag(sig room.Signal) string {
	c := sig.Candidate
	return candidateUfrag(webrtc.ICECandidateInit{Candidate: c.Candidate, UsernameFragment: c.UsernameFragment})
}

// withoutCandidates is a description with its candidate and end-of-candidates lines removed.
func withoutCandidates(sdp string) string {
	lines := strings.Split(sdp, "\r\n")
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "a=candidate:") || l == "a=end-of-candidates"
	}), "\r\n")
}
