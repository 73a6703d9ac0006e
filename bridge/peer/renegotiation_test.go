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
// bridge's PeerConnection: past maxTransceiversKept transceivers the offer is answered on a
// fresh PeerConnection, or, while her audio arrives on the live one (as here), refused and
// kept (TestOfferNeedingAFreshPCRefusedWhileTheMusicianStreams).
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
	const storm = maxTransceiversKept + 4
	refused := func() uint64 { st, _ := musicianStats(m, "ana"); return st.ImpostorOffers }
	for i := range storm {
		mid := fmt.Sprintf("x%d", i)
		munged := strings.Replace(sdp, "a=mid:0\r\n", "a=mid:"+mid+"\r\n", 1)
		munged = strings.Replace(munged, "a=group:BUNDLE 0\r\n", "a=group:BUNDLE "+mid+"\r\n", 1)
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: munged}})
		want := int64(i + 1)
		waitFor(t, "the bridge's answer or refusal", func() bool { return answers.Load()+int64(refused()) >= want })
	}
	if n := maxTransceivers.Load(); n > maxTransceiversKept {
		t.Fatalf("the PeerConnection grew to %d transceivers after %d renegotiations (at most %d)", n, storm, maxTransceiversKept)
	}
	if n := refused(); n == 0 {
		t.Error("no offer refused past the bound while ana's audio arrived")
	}
}

// withRIDs adds n a=rid lines and their a=simulcast line to an offer's (only) media section.
func withRIDs(sdp string, n int) string {
	var b strings.Builder
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("r%d", i)
		fmt.Fprintf(&b, "a=rid:%s send\r\n", names[i])
	}
	b.WriteString("a=simulcast:send " + strings.Join(names, ";") + "\r\n")
	return sdp + b.String()
}

// musicianReceiverTracks counts the receiver tracks of a musician's PeerConnection; call it
// on the musician's goroutine.
func musicianReceiverTracks(m *Manager, id MusicianID) int {
	m.mu.Lock()
	mus := m.musicians[id]
	m.mu.Unlock()
	if mus == nil || mus.cur == nil {
		return 0
	}
	return receiverTracks(mus.cur.pc)
}

// Offers that declare many streams (a=rid or a=ssrc) are refused, and a PeerConnection that
// has not connected does not keep the streams of every renegotiation: pion configures a track
// per declared stream on each one until its receivers start, so offers of 2,500 a=rid lines
// a second grew a never-connected PeerConnection by ~1.4 MB each.
func TestDeclaredStreamsBounded(t *testing.T) {
	m, r, fc := startFakeClockManager(t, nil)
	if err := m.MusicianJoined("eve"); err != nil {
		t.Fatal(err)
	}
	var answers, peakTracks atomic.Int64
	r.setHolds(func(sig room.Signal) bool {
		if sig.Type == room.SignalAnswer {
			if n := int64(musicianReceiverTracks(m, "eve")); n > peakTracks.Load() {
				peakTracks.Store(n) // on the musician's goroutine: it owns the PeerConnection
			}
			answers.Add(1)
		}
		return false
	}, nil)
	base := strings.TrimSuffix(anOffer(t), "\r\n") + "\r\n"
	send := func(sdp string) {
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "eve", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: sdp}})
	}

	before := m.Stats().MalformedSignals
	send(withUfrag(withRIDs(base, 2500), "many"))
	waitFor(t, "the 2,500-stream offer refused", func() bool { return m.Stats().MalformedSignals > before })

	for i := range 2 * offerBurst {
		send(withUfrag(withRIDs(base, 3), fmt.Sprint("few", i)))
		want := int64(i + 1)
		waitFor(t, "the bridge's answer", func() bool { return answers.Load() >= want })
		fc.Advance(offerInterval) // the next offer's turn
	}
	if n := peakTracks.Load(); n > maxTracks {
		t.Fatalf("a never-connected PeerConnection held %d receiver tracks after %d renegotiations (at most %d)", n, 2*offerBurst, maxTracks)
	}
}

// A PeerConnection that has not connected is renegotiated at most maxUnconnectedRenegotiations
// times; later offers are answered on a fresh one. pion keeps ~3 KiB of every description
// applied to a PeerConnection whose transports never started, so a musician that never
// completes DTLS and keeps offering grew it without bound (at one offer a second, ~10 MB an hour).
func TestUnconnectedRenegotiationsBounded(t *testing.T) {
	m, r, fc := startFakeClockManager(t, nil)
	if err := m.MusicianJoined("eve"); err != nil {
		t.Fatal(err)
	}
	base := anOffer(t)
	const offers = 3 * maxUnconnectedRenegotiations
	for i := range offers {
		m.HandleSignal(room.Signal{Type: room.SignalOffer, FromPeerID: "eve", TargetPeerID: bridgeID,
			Description: &room.SessionDescription{Type: "offer", SDP: withUfrag(base, fmt.Sprint("never", i))}})
		want := i + 1
		waitFor(t, "the bridge's answer", func() bool { return countSignals(r.bridgeSignals(), room.SignalAnswer, "eve") >= want })
		fc.Advance(offerInterval) // the next offer's turn
	}
	pcs := map[string]bool{} // each PeerConnection has its own certificate
	for _, sig := range r.bridgeSignals() {
		if sig.Type == room.SignalAnswer {
			pcs[fingerprintOf(sig.Description.SDP)] = true
		}
	}
	// The first offer makes a PeerConnection; each later one renegotiates it or replaces it.
	if want := offers / (maxUnconnectedRenegotiations + 1); len(pcs) < want {
		t.Fatalf("%d offers answered on %d PeerConnections (at least %d)", offers, len(pcs), want)
	}
}
