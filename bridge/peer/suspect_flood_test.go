package peer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// A restart offer of ana's refused while her audio flows is kept, with the candidates she
// trickles for it, and answered once her audio stops (suspect.go). Candidates of other
// generations sent meanwhile, under a made-up ufrag in her name or for earlier refused restarts,
// must not keep the answered restart's own out (review 304: held until the next description,
// they filled the queue, and the kept offer's candidates found it full).
func TestKeptRestartOfferKeepsItsCandidatesAfterOthers(t *testing.T) {
	for _, tc := range []struct {
		name             string
		madeUp, restarts int
		perRestart       int
	}{
		{"one restart", 0, 1, 8},
		{"64 under a made-up ufrag, then one restart", 64, 1, 8},
		{"five refused restarts", 0, 5, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, r, _, fc, ana := streamingAna(t, nil)
			herOffer := ana.pc.CurrentLocalDescription().SDP
			ourAnswer := r.bridgeSignals()[0].Description.SDP
			// handled waits until her signals so far are handled: an answer sent again is
			// counted as a duplicate once everything before it has been.
			handled := func() {
				st, _ := musicianStats(m, "ana")
				r.toBridge(room.Signal{Type: room.SignalAnswer, FromPeerID: "ana", TargetPeerID: bridgeID,
					Description: &room.SessionDescription{Type: "answer", SDP: ourAnswer}})
				waitFor(t, "her signals handled", func() bool { now, _ := musicianStats(m, "ana"); return now.Duplicates > st.Duplicates })
			}
			trickle := func(tg *stunTargets, tag, i int, ufrag string) {
				mid, idx := "0", uint16(0)
				line := strings.TrimSuffix(strings.TrimPrefix(tg.lines(tag, i, i+1), "a="), "\r\n")
				r.toBridge(room.Signal{Type: room.SignalCandidate, FromPeerID: "ana", TargetPeerID: bridgeID,
					Candidate: &room.ICECandidate{Candidate: line + " generation 0 ufrag " + ufrag, SDPMid: &mid, SDPMLineIndex: &idx, UsernameFragment: &ufrag}})
			}
			madeUp := newSTUNTargets(t, max(tc.madeUp, 1))
			for i := range tc.madeUp {
				trickle(madeUp, 9, i, "madeup")
				if i%16 == 15 {
					handled()
				}
			}
			var last *stunTargets
			for k := 1; k <= tc.restarts; k++ {
				ufrag := fmt.Sprintf("restart%d", k)
				r.toBridge(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
					Description: &room.SessionDescription{Type: "offer", SDP: withUfrag(herOffer, ufrag)}})
				waitFor(t, "the restart refused while her audio flows", func() bool {
					st, _ := musicianStats(m, "ana")
					return st.ImpostorOffers == uint64(k)
				})
				last = newSTUNTargets(t, tc.perRestart)
				for i := range tc.perRestart {
					trickle(last, k, i, ufrag)
				}
				handled()
			}
			answerKeptOfferOnPause(t, r, fc, ana, "the last restart answered")
			waitFor(t, "the answered restart's candidates checked", func() bool { return last.hits(0, tc.perRestart) == tc.perRestart })
			if n := madeUp.hits(0, tc.madeUp); n != 0 {
				t.Errorf("%d candidates under a made-up ufrag got connectivity checks", n)
			}
		})
	}
}
