package peer

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// ufragOf returns the a=ice-ufrag value of an SDP.
func ufragOf(sdp string) string {
	for _, l := range splitLines(sdp) {
		if v, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// A connection that fails (the virtual network drops every packet) is
// retried with an ICE-restart offer after the backoff, and reconnects once
// the network is back.
func TestICERestartAfterFailure(t *testing.T) {
	bridgeNet, musicianNet, cut := cuttableNetwork(t)
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = nil
	cfg.net = bridgeNet
	cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout = 500*time.Millisecond, time.Second
	cfg.RestartBackoff = []time.Duration{100 * time.Millisecond}
	cfg.OnStateChange = states.record
	var restartOffer atomic.Pointer[room.Signal]
	r.holdBridge = func(sig room.Signal) bool {
		if sig.Type == room.SignalOffer && restartOffer.Load() == nil {
			restartOffer.Store(&sig)
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
	answer := r.bridgeSignals()[0]
	if answer.Type != room.SignalAnswer {
		t.Fatalf("first bridge signal = %s, want answer", answer.Type)
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
	waitFor(t, "an ICE-restart offer", func() bool { return restartOffer.Load() != nil })
	offer := restartOffer.Load()
	if u0, u1 := ufragOf(answer.Description.SDP), ufragOf(offer.Description.SDP); u0 == "" || u0 == u1 {
		t.Errorf("restart offer keeps ICE ufrag %q (answer had %q): not an ICE restart", u1, u0)
	}
	waitFor(t, "bridge reconnected to ivy", bridgeConnected(m, "ivy"))
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the restart", func() bool { return s.fromMic("ivy") >= before+25 })
	if st, _ := musicianStats(m, "ivy"); st.ICERestarts < 1 {
		t.Errorf("ICERestarts = %d", st.ICERestarts)
	}
}

// cuttableNetwork is a virtual network with the bridge on 10.0.0.1 and a musician on 10.0.0.2,
// which drops every packet while cut holds.
func cuttableNetwork(t *testing.T) (bridgeNet, musicianNet *vnet.Net, cut *atomic.Bool) {
	t.Helper()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	bridgeNet, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	musicianNet, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*vnet.Net{bridgeNet, musicianNet} {
		if err := wan.AddNet(n); err != nil {
			t.Fatal(err)
		}
	}
	cut = new(atomic.Bool)
	wan.AddChunkFilter(func(vnet.Chunk) bool { return !cut.Load() })
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wan.Stop() })
	return bridgeNet, musicianNet, cut
}
