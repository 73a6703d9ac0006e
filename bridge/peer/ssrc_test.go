package peer

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// stripSSRCLines removes the a=ssrc and a=ssrc-group lines of an SDP, as a sender that leaves
// its SSRCs undeclared sends it.
func stripSSRCLines(sdp string) string {
	var b strings.Builder
	for line := range strings.Lines(sdp) {
		if !strings.HasPrefix(line, "a=ssrc") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// A musician whose offer declares no SSRC and who then sends every packet under a new SSRC
// would make pion add a transceiver and start a track (two read goroutines here) for each
// one. Past maxTracks tracks on one PeerConnection, the bridge closes it.
func TestUndeclaredSSRCChurnBounded(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	r.setHolds(nil, func(sig room.Signal) bool {
		if sig.Type != room.SignalOffer {
			return false
		}
		sig.Description.SDP = stripSSRCLines(sig.Description.SDP)
		m.HandleSignal(sig)
		return true
	})
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true, churnSSRC: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bridge to close the churning PeerConnection", func() bool {
		st, _ := musicianStats(m, "ana")
		return st.IgnoredTracks >= maxTracks && st.ConnectionState == webrtc.PeerConnectionStateClosed
	})
	st, _ := musicianStats(m, "ana")
	if st.IgnoredTracks > 2*maxTracks {
		t.Errorf("IgnoredTracks = %d: tracks kept starting after the cap (%d)", st.IgnoredTracks, maxTracks)
	}
}

// A musician whose offer declares its SSRC and who then sends every packet under a new one
// makes pion discard each new SSRC, keeping its read streams until the PeerConnection closes.
// Past maxUnhandledSSRCs on one PeerConnection, the bridge closes it.
func TestDeclaredSSRCChurnBounded(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true, churnSSRC: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "the bridge to close the churning PeerConnection", func() bool {
		st, _ := musicianStats(m, "ana")
		return st.ConnectionState == webrtc.PeerConnectionStateClosed
	})
}
