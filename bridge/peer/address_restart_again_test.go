package peer

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// An ICE restart made because the host address the pair was on went, on what the host had then,
// may find nothing the musician reaches: here the network carries nothing while it runs, and
// her side gives its checks up. When the host gains an address, the bridge restarts again at
// once, instead of waiting ConnectTimeout (15 s) for the first restart to connect. Her audio
// back within 8 s of the new address is required; how long it took is logged.
func TestAddressAddedRestartsAnUnconnectedAddressGoneRestartAgain(t *testing.T) {
	bridgeNet, musicianNet, cut := cuttableNetwork(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = nil
	cfg.net = bridgeNet
	m := startManager(t, cfg, r)
	ivy := newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true, net: musicianNet})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })

	cut.Store(true)
	m.HostAddressesChanged([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.9")}) // 10.0.0.1 gone
	waitFor(t, "an ICE restart for the address gone", func() bool { st, _ := musicianStats(m, "ivy"); return st.AddressGoneRestarts == 1 })
	waitFor(t, "ivy's side to give the restart up", func() bool { return ivy.connState() == webrtc.PeerConnectionStateFailed })
	if st, _ := musicianStats(m, "ivy"); st.ConnectionState == webrtc.PeerConnectionStateConnected {
		t.Fatalf("bridge connected to ivy with the network cut")
	}

	cut.Store(false)
	added, before := time.Now(), s.fromMic("ivy")
	m.HostAddressesChanged([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.9")})
	for s.fromMic("ivy") < before+25 {
		if time.Since(added) > 8*time.Second {
			st, _ := musicianStats(m, "ivy")
			t.Fatalf("ivy's audio not back 8 s after an address was added (bridge %s, ivy %s, %d address-gone restarts)",
				st.ConnectionState, ivy.connState(), st.AddressGoneRestarts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ivy's audio back (25 packets heard) %v after the address was added", time.Since(added).Round(10*time.Millisecond))
	if st, _ := musicianStats(m, "ivy"); st.AddressGoneRestarts != 2 {
		t.Errorf("AddressGoneRestarts = %d, want 2: the restart, and the one again when the address came", st.AddressGoneRestarts)
	}
}
