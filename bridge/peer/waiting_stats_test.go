package peer

import (
	"slices"
	"testing"

	"github.com/pion/webrtc/v4"
)

// A musician past MaxPeers has no PeerConnection, so her connection state never moves from
// "new": Stats must say she waits for a slot, and behind which cap, for the status page to
// tell her apart from a connection that is stuck. Once a slot frees she is no longer waiting.
func TestStatsListMusicianWaitingForASlotWithTheCap(t *testing.T) {
	m, _, bob := bobWaitsBehindAna(t)

	st := m.Stats()
	if !slices.Equal(st.Waiting, []MusicianID{"bob"}) || st.MaxPeers != 1 {
		t.Fatalf("waiting %v behind max peers %d, want [bob] behind 1", st.Waiting, st.MaxPeers)
	}
	if ana, ok := musicianStats(m, "ana"); !ok || ana.ConnectionState != webrtc.PeerConnectionStateConnected {
		t.Fatalf("ana = %+v (known %v), want connected", ana, ok)
	}

	m.releaseNow("ana")
	waitFor(t, "bridge connected to bob", bridgeConnected(m, "bob"))
	waitFor(t, "bob connected", func() bool { return bob.connState() == webrtc.PeerConnectionStateConnected })
	if st := m.Stats(); len(st.Waiting) != 0 || st.MaxPeers != 1 {
		t.Errorf("after ana left: waiting %v, max peers %d", st.Waiting, st.MaxPeers)
	}
}
