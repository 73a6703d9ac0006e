package peer

import (
	"fmt"
	"strings"
	"testing"
	"time"

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
			trickle := func(tg *stunTargets, tag, i int, ufrag string) { trickleAsAna(r, tg, tag, i, ufrag) }
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

// The same with her kept offer waiting behind the offer gate (her offer budget spent by replays
// of her applied offer, which anyone in the room can send): candidates under a made-up ufrag
// that arrive meanwhile are held for the waiting offer and filled the queue, so the kept
// offer's own found no room (review 305: 0 of 8 checked).
func TestKeptRestartOfferBehindTheGateKeepsItsCandidates(t *testing.T) {
	m, r, s, fc, ana := streamingAna(t, nil)
	herOffer := ana.pc.CurrentLocalDescription().SDP
	m.mu.Lock()
	applied := m.musicians["ana"].cur.pc.CurrentRemoteDescription().SDP
	m.mu.Unlock()
	ourAnswer := r.bridgeSignals()[0].Description.SDP
	stats := func() MusicianStats { st, _ := musicianStats(m, "ana"); return st }
	send := func(typ room.SignalType, sdp string) {
		r.toBridge(room.Signal{Type: typ, FromPeerID: "ana", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: string(typ), SDP: sdp}})
	}
	trickle := func(tg *stunTargets, tag, i int, ufrag string) { trickleAsAna(r, tg, tag, i, ufrag) }

	send(room.SignalOffer, withUfrag(herOffer, "restart1"))
	waitFor(t, "the restart refused while her audio flows", func() bool { return stats().ImpostorOffers == 1 })
	own := newSTUNTargets(t, 8)
	for i := range 8 {
		trickle(own, 1, i, "restart1")
	}
	d := stats().Duplicates
	send(room.SignalAnswer, ourAnswer) // counted as a duplicate once all before it is handled
	waitFor(t, "her candidates handled", func() bool { return stats().Duplicates > d })

	waitAudioStopped(t, s, ana)
	fc.Advance(1500 * time.Millisecond)
	for range 5 {
		d := stats().Duplicates
		send(room.SignalOffer, applied)
		waitFor(t, "the replay answered again", func() bool { return stats().Duplicates > d })
	}
	fc.Advance(600 * time.Millisecond) // her audio is stale: the kept offer is queued, behind the gate
	time.Sleep(300 * time.Millisecond)
	held := stats().QueuedCandidates + stats().DroppedCandidates
	junk := newSTUNTargets(t, maxPendingCandidates)
	for i := range maxPendingCandidates {
		trickle(junk, 9, i, "madeup")
		if i%16 == 15 {
			waitFor(t, "a batch handled", func() bool {
				st := stats()
				return st.QueuedCandidates+st.DroppedCandidates >= held+uint64(i+1)
			})
		}
	}
	answers := countSignals(r.bridgeSignals(), room.SignalAnswer, "ana")
	fc.Advance(time.Second) // the gate opens: the kept offer is handled
	waitFor(t, "the kept restart answered", func() bool { return countSignals(r.bridgeSignals(), room.SignalAnswer, "ana") > answers })
	waitFor(t, "the kept restart's candidates checked", func() bool { return own.hits(0, 8) == 8 })
	if n := junk.hits(0, maxPendingCandidates); n != 0 {
		t.Errorf("%d candidates under a made-up ufrag got connectivity checks", n)
	}
}

// trickleAsAna sends target i of tg (tagged as tg.lines does) to the bridge as a candidate of
// ana's under ufrag.
func trickleAsAna(r *testRoom, tg *stunTargets, tag, i int, ufrag string) {
	mid, idx := "0", uint16(0)
	line := strings.TrimSuffix(strings.TrimPrefix(tg.lines(tag, i, i+1), "a="), "\r\n")
	r.toBridge(room.Signal{Type: room.SignalCandidate, FromPeerID: "ana", TargetPeerID: bridgeID,
		Candidate: &room.ICECandidate{Candidate: line + " generation 0 ufrag " + ufrag, SDPMid: &mid, SDPMLineIndex: &idx, UsernameFragment: &ufrag}})
}
