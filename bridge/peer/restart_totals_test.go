package peer

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// Stats.ICERestarts and Stats.AddressGoneRestarts sum every musician's restarts since the
// Manager was made: a musician's stay counted once her record is released and her MusicianStats
// are gone with it, as a counter on /metrics needs. Here ivy's connection fails (the virtual
// network drops everything) and is restarted, then the host's address list loses the one her
// pair is on and it is restarted again; then she is released.
func TestStatsKeepTheICERestartsOfAReleasedMusician(t *testing.T) {
	bridgeNet, musicianNet, cut := cuttableNetwork(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = nil
	cfg.net = bridgeNet
	cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout = 500*time.Millisecond, time.Second
	cfg.RestartBackoff = []time.Duration{100 * time.Millisecond}
	cfg.OnStateChange = states.record
	r.holdBridge = func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer {
			cut.Store(false) // the network comes back as the restart begins
		}
		return false
	}
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true, net: musicianNet})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })
	if st := m.Stats(); st.ICERestarts != 0 || st.AddressGoneRestarts != 0 {
		t.Fatalf("before any restart: ICERestarts %d, AddressGoneRestarts %d", st.ICERestarts, st.AddressGoneRestarts)
	}

	cut.Store(true)
	waitFor(t, "bridge to see the failure", func() bool {
		for _, st := range states.get("ivy") {
			if st == webrtc.PeerConnectionStateFailed {
				return true
			}
		}
		return false
	})
	waitFor(t, "an ICE restart", func() bool { st, _ := musicianStats(m, "ivy"); return st.ICERestarts >= 1 })
	waitFor(t, "bridge reconnected to ivy", bridgeConnected(m, "ivy"))
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the restart", func() bool { return s.fromMic("ivy") >= before+25 })

	m.HostAddressesChanged([]netip.Addr{netip.MustParseAddr("10.0.0.9")}) // 10.0.0.1, her pair's, gone
	waitFor(t, "an ICE restart for the address gone", func() bool { st, _ := musicianStats(m, "ivy"); return st.AddressGoneRestarts == 1 })
	waitFor(t, "bridge reconnected to ivy", bridgeConnected(m, "ivy"))
	before = s.fromMic("ivy")
	waitFor(t, "ivy's audio after the second restart", func() bool { return s.fromMic("ivy") >= before+25 })

	ivy, _ := musicianStats(m, "ivy")
	if ivy.ICERestarts < 2 || ivy.AddressGoneRestarts != 1 {
		t.Fatalf("ivy: ICERestarts %d, AddressGoneRestarts %d; want at least 2, 1", ivy.ICERestarts, ivy.AddressGoneRestarts)
	}
	if st := m.Stats(); st.ICERestarts != ivy.ICERestarts || st.AddressGoneRestarts != ivy.AddressGoneRestarts {
		t.Errorf("Stats: ICERestarts %d, AddressGoneRestarts %d; want ivy's, %d and %d",
			st.ICERestarts, st.AddressGoneRestarts, ivy.ICERestarts, ivy.AddressGoneRestarts)
	}

	m.releaseNow("ivy")
	waitFor(t, "ivy's record released and her goroutine ended", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.musicians["ivy"] == nil && len(m.leaving) == 0
	})
	st := m.Stats()
	if len(st.Musicians) != 0 {
		t.Fatalf("musicians after ivy's release: %+v", st.Musicians)
	}
	if st.ICERestarts < ivy.ICERestarts || st.AddressGoneRestarts != 1 {
		t.Errorf("after ivy's release: ICERestarts %d, AddressGoneRestarts %d; want at least her %d, and 1",
			st.ICERestarts, st.AddressGoneRestarts, ivy.ICERestarts)
	}
}
