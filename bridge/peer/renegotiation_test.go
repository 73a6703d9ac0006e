package peer

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// A connected musician that keeps renegotiating with media sections under new mids (pion
// keeps a transceiver for every mid it has seen, and never drops one) cannot grow the
// bridge's PeerConnection: past maxMediaSections transceivers the offer is answered on a
// fresh PeerConnection.
func TestRenegotiationWithFreshMidsKeepsTransceiversBounded(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })

	// The hold runs on the musician's goroutine (send is called from it), so it may look at
	// the PeerConnection that goroutine owns.
	var answers, maxTransceivers atomic.Int64
	r.setHolds(func(sig room.Signal) bool {
		if sig.Type != room.SignalAnswer {
			return false
		}
		m.mu.Lock()
		mus := m.musicians["ana"]
		m.mu.Unlock()
		if mus != nil && mus.cur != nil {
			if n := int64(len(mus.cur.pc.GetTransceivers())); n > maxTransceivers.Load() {
				maxTransceivers.Store(n)
			}
		}
		answers.Add(1)
		return true // the storm's answers are for nobody
	}, nil)

	sdp := ana.pc.LocalDescription().SDP
	if !strings.Contains(sdp, "a=mid:0\r\n") || !strings.Contains(sdp, "a=group:BUNDLE 0\r\n") {
		t.Fatalf("musician offer does not have the expected mid 0:\n%s", sdp)
	}
	const storm = 6
	for i := range storm {
		mid := fmt.Sprintf("x%d", i)
		munged := strings.Replace(sdp, "a=mid:0\r\n", "a=mid:"+mid+"\r\n", 1)
		munged = strings.Replace(munged, "a=group:BUNDLE 0\r\n", "a=group:BUNDLE "+mid+"\r\n", 1)
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: munged}})
		want := int64(i + 1)
		waitFor(t, "the bridge's answer", func() bool { return answers.Load() >= want })
	}
	if n := maxTransceivers.Load(); n > maxMediaSections {
		t.Fatalf("the PeerConnection grew to %d transceivers after %d renegotiations (at most %d)", n, storm, maxMediaSections)
	}
}
