package peer

import (
	"net"
	"net/netip"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
)

// A musician reached only through a TURN relay: with no webrtc.interfaces (the default) pion
// binds its TURN client socket to every address, so the selected pair's base is 0.0.0.0 and says
// nothing of which host address it sends from. When an address the host had goes, the kernel
// sends that socket's packets from another, which the TURN server does not know as the
// allocation's client: the bridge restarts ICE at once, as for a pair on the address that went.
// It used to leave such a pair alone until pion's timeouts failed it. Here, in a virtual
// network, the bridge (10.0.0.1) and the musician (10.0.0.2) cannot reach each other directly,
// only through the TURN server (10.0.0.3).
func TestHostAddressGoneRestartsARelayedPairBoundToEveryAddress(t *testing.T) {
	m, s := startRelayedIvy(t)
	local := selectedLocalCandidate(t, m, "ivy")
	if local.Typ != webrtc.ICECandidateTypeRelay || local.RelatedAddress != "0.0.0.0" {
		t.Fatalf("selected local candidate %s %s:%d related %s:%d, want a relay one based on 0.0.0.0",
			local.Typ, local.Address, local.Port, local.RelatedAddress, local.RelatedPort)
	}

	m.HostAddressesChanged([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.9")}) // 10.0.0.1 gone
	waitFor(t, "an ICE restart for the address gone", func() bool { st, _ := musicianStats(m, "ivy"); return st.AddressGoneRestarts == 1 })
	waitFor(t, "bridge reconnected to ivy", bridgeConnected(m, "ivy"))
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the restart", func() bool { return s.fromMic("ivy") >= before+25 })
}

// The same relayed pair is left alone when the host only gains an address: nothing its socket
// sends from went.
func TestHostAddressAddedLeavesARelayedPairAlone(t *testing.T) {
	m, s := startRelayedIvy(t)

	m.HostAddressesChanged([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.9")})
	waitFor(t, "ivy's check of the host's addresses", func() bool { return hostAddressChecks(m, "ivy") >= 1 })
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the change", func() bool { return s.fromMic("ivy") >= before+25 })
	if st, _ := musicianStats(m, "ivy"); st.ICERestarts != 0 {
		t.Errorf("ICERestarts = %d after an address was added, want none", st.ICERestarts)
	}
}

const turnPassword = "relay-only"

// newRelayedMusician is a test musician on n with pion's default ICE timeouts: the bridge's relay
// candidate comes after its TURN allocation, later than the virtual network's musicians, whose
// connection fails after a second without a pair, wait.
func newRelayedMusician(t *testing.T, r *testRoom, id string, n *vnet.Net) {
	t.Helper()
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNet(n)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithSettingEngine(se))
	newTestMusicianOn(t, api, r, id, musicianOpts{offerFirst: true, net: n}, nil)
}

// relayOnlyNetwork is a virtual network where the bridge (10.0.0.1) and the musician (10.0.0.2)
// each reach the TURN server's host (10.0.0.3) but not one another.
func relayOnlyNetwork(t *testing.T) (bridgeNet, musicianNet, turnNet *vnet.Net) {
	t.Helper()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	nets := make([]*vnet.Net, 3)
	for i, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if nets[i], err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}}); err != nil {
			t.Fatal(err)
		}
		if err := wan.AddNet(nets[i]); err != nil {
			t.Fatal(err)
		}
	}
	ipOf := func(a net.Addr) string {
		if u, ok := a.(*net.UDPAddr); ok {
			return u.IP.String()
		}
		return ""
	}
	wan.AddChunkFilter(func(c vnet.Chunk) bool {
		src, dst := ipOf(c.SourceAddr()), ipOf(c.DestinationAddr())
		return !(src == "10.0.0.1" && dst == "10.0.0.2" || src == "10.0.0.2" && dst == "10.0.0.1")
	})
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wan.Stop() })
	return nets[0], nets[1], nets[2]
}

// serveTURN runs a TURN server on n at ip:3478 until the test ends; any user name is accepted
// with turnPassword.
func serveTURN(t *testing.T, n *vnet.Net, ip string) {
	t.Helper()
	conn, err := n.ListenPacket("udp4", ip+":3478")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "ledbridge.test",
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, turnPassword), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP(ip), Address: ip, Net: n}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
}

// selectedLocalCandidate is the local candidate of the selected pair of musician id's connection.
func selectedLocalCandidate(t *testing.T, m *Manager, id MusicianID) webrtc.ICECandidate {
	t.Helper()
	m.mu.Lock()
	mus := m.musicians[id]
	m.mu.Unlock()
	if mus == nil || mus.cur == nil {
		t.Fatalf("%s has no PeerConnection", id)
	}
	// Read after the connection state the caller waited for, which the goroutine that owns cur
	// stored after setting it.
	pair, err := mus.cur.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil {
		t.Fatalf("%s's connection has no selected pair: %v", id, err)
	}
	return *pair.Local
}

// startRelayedIvy starts a bridge whose TURN client socket is bound to every address (no
// webrtc.interfaces) and musician ivy, reachable only through the TURN server of
// relayOnlyNetwork, and waits until her audio arrives over the relayed pair.
func startRelayedIvy(t *testing.T) (*Manager, *sinks) {
	m, s, _ := startRelayedIvyInRoom(t)
	return m, s
}

// startRelayedIvyInRoom is startRelayedIvy, returning the room that carries the signals too.
func startRelayedIvyInRoom(t *testing.T) (*Manager, *sinks, *testRoom) {
	bridgeNet, musicianNet, turnNet := relayOnlyNetwork(t)
	serveTURN(t, turnNet, "10.0.0.3")
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = nil
	cfg.net = bridgeNet
	cfg.ICEServers = []ICEServer{{URLs: []string{"turn:10.0.0.3:3478"}, Username: "bridge", Credential: turnPassword}}
	m := startManager(t, cfg, r)
	newRelayedMusician(t, r, "ivy", musicianNet)
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	waitFor(t, "ivy's audio", func() bool { return s.fromMic("ivy") >= 10 })
	return m, s, r
}
