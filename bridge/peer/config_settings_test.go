package peer

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// warnLog collects a Manager's warnings (pion's included) as text, for tests that look
// for one; lockedBuffer is chromium_test.go's.
func warnLog() (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelWarn})), buf
}

// warningsWith returns the log lines that contain every one of parts.
func warningsWith(log string, parts ...string) []string {
	var found []string
	for _, line := range strings.Split(log, "\n") {
		all := line != ""
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			found = append(found, line)
		}
	}
	return found
}

// freeUDPPorts finds n consecutive UDP ports on 127.0.0.1 that are free now, below the
// kernel's ephemeral range so that the test musicians' own sockets do not take them.
func freeUDPPorts(t *testing.T, n int) uint16 {
	t.Helper()
	for base := 20000; base < 32000; base += 97 {
		var held []net.PacketConn
		for p := base; p < base+n; p++ {
			c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				break
			}
			held = append(held, c)
		}
		ok := len(held) == n
		for _, c := range held {
			c.Close()
		}
		if ok {
			return uint16(base)
		}
	}
	t.Fatalf("no %d free consecutive UDP ports on 127.0.0.1 in 20000–32000", n)
	return 0
}

// TCP network types gather no candidate of the bridge's own (it has no ICE-TCP listener), and
// TURN relay candidates need a UDP type: a TCP-only config let no musician connect, with no
// word of why. It is refused, naming the config key.
func TestTCPOnlyNetworkTypesRefused(t *testing.T) {
	r, s := newTestRoom(t), &sinks{}
	for _, types := range [][]string{{"tcp4"}, {"tcp4", "tcp6"}, {"tcp6"}} {
		cfg := bridgeConfig(t, r, s)
		cfg.NetworkTypes = types
		_, err := NewManager(cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "webrtc.network_types") || !strings.Contains(err.Error(), "udp4") {
			t.Errorf("NetworkTypes %v: err = %v; want ErrConfig naming webrtc.network_types and suggesting udp4", types, err)
		}
	}
}

// Beside a UDP type, a TCP one is accepted with a warning that it gathers nothing, and
// musicians connect over UDP.
func TestTCPBesideUDPWarnsAndConnects(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.NetworkTypes = []string{"udp4", "tcp4"}
	logger, logged := warnLog()
	cfg.Logger = logger
	m := startManager(t, cfg, r)
	if len(warningsWith(logged.String(), "webrtc.network_types", "tcp4", "component=peer")) == 0 {
		t.Errorf("no warning that tcp4 gathers nothing; log:\n%s", logged)
	}
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana over UDP", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
}

// A typo in webrtc.interfaces matched no interface: host candidates were gathered on none,
// and every musician failed to connect with only pion's "Failed to ping without candidate
// pairs". The Manager is still built (the interface may come up later: pion looks at each
// gathering), but warns, naming the configured and the available interfaces.
func TestInterfaceTypoWarns(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = []string{"eht0"}
	logger, logged := warnLog()
	cfg.Logger = logger
	if _, err := NewManager(cfg); err != nil {
		t.Fatalf("NewManager: %v (an interface that is not up yet is worth a warning, not a refusal)", err)
	}
	if len(warningsWith(logged.String(), "webrtc.interfaces", "eht0", "lo", "component=peer")) == 0 {
		t.Errorf("no warning naming webrtc.interfaces, the configured eht0 and the available lo; log:\n%s", logged)
	}
}

// One name of several that matches nothing is named too; the others still gather.
func TestInterfacePartlyMissingWarns(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = []string{"lo", "eht0"}
	logger, logged := warnLog()
	cfg.Logger = logger
	if _, err := NewManager(cfg); err != nil {
		t.Fatal(err)
	}
	if len(warningsWith(logged.String(), "webrtc.interfaces", "eht0", "component=peer")) == 0 {
		t.Errorf("no warning naming eht0; log:\n%s", logged)
	}
	cfg.Interfaces = []string{"lo"}
	logger, logged = warnLog()
	cfg.Logger = logger
	if _, err := NewManager(cfg); err != nil {
		t.Fatal(err)
	}
	if logged.String() != "" {
		t.Errorf("warnings for a config that gathers on lo:\n%s", logged)
	}
}

// Each PeerConnection binds its own UDP socket per address ICE gathers on: with
// webrtc.udp_port_min = udp_port_max, a second musician found no port and never connected,
// silently. A range narrower than max_peers × sockets per musician is warned about, with
// the number of ports needed.
func TestNarrowPortRangeWarns(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s) // udp4 on lo: one socket per musician
	cfg.MaxPeers = 2
	cfg.PortMin, cfg.PortMax = 40000, 40000
	logger, logged := warnLog()
	cfg.Logger = logger
	if _, err := NewManager(cfg); err != nil {
		t.Fatal(err)
	}
	if len(warningsWith(logged.String(), "webrtc.udp_port_min", "webrtc.udp_port_max", "webrtc.max_peers", "ports_needed=2", "component=peer")) == 0 {
		t.Errorf("no warning naming the keys and the 2 ports needed; log:\n%s", logged)
	}
}

// A range of exactly the ports the warning asks for lets every musician connect, and is not
// warned about.
func TestPortRangeOfNeededSizeConnectsEveryMusician(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s) // udp4 on lo: one socket per musician
	cfg.MaxPeers = 2
	cfg.PortMin = freeUDPPorts(t, 2)
	cfg.PortMax = cfg.PortMin + 1
	logger, logged := warnLog()
	cfg.Logger = logger
	m := startManager(t, cfg, r)
	if w := warningsWith(logged.String(), "udp_port"); len(w) != 0 {
		t.Errorf("warned about a range of the ports needed: %q", w)
	}
	for _, id := range []string{"ana", "ben"} {
		newTestMusician(t, r, id, musicianOpts{offerFirst: true})
		if err := m.MusicianJoined(MusicianID(id)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []MusicianID{"ana", "ben"} {
		waitFor(t, "bridge connected to "+string(id), bridgeConnected(m, id))
		waitFor(t, string(id)+"'s audio", func() bool { return s.fromMic(id) >= 10 })
	}
}

// socketCountingNet is the operating system's network, counting the UDP sockets open
// through it: pion's agent opens every socket of its own through its Net.
type socketCountingNet struct {
	transport.Net
	open atomic.Int64
}

func (n *socketCountingNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	n.open.Add(1)
	return &countedUDPConn{UDPConn: c, n: n}, nil
}

type countedUDPConn struct {
	transport.UDPConn
	n    *socketCountingNet
	once sync.Once
}

func (c *countedUDPConn) Close() error {
	c.once.Do(func() { c.n.open.Add(-1) })
	return c.UDPConn.Close()
}

// loopbackSTUNServer answers STUN binding requests on 127.0.0.1 until the test ends; it
// returns the server's stun: URL.
func loopbackSTUNServer(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil || req.Type != stun.BindingRequest {
				continue
			}
			ua := from.(*net.UDPAddr)
			resp, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
			if err == nil {
				_, _ = conn.WriteTo(resp.Raw, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return "stun:" + conn.LocalAddr().String()
}

// The ports the range must hold are counted as pion takes them: a PeerConnection built from
// the config, once it has gathered, holds exactly the plan's sockets open. (Without an
// interface filter the host sockets are bound on every interface, but nothing is sent: there
// is no remote side, and the only server is the STUN server on loopback.)
func TestGatheringPlanCountsPionSockets(t *testing.T) {
	requireLoopback(t)
	stunURL := loopbackSTUNServer(t)
	for _, tc := range []struct {
		name       string
		types      []string
		interfaces []string
		stun       bool
	}{
		{"udp4 on lo", []string{"udp4"}, []string{"lo"}, false},
		{"udp4 everywhere", []string{"udp4"}, nil, false},
		{"udp4 and udp6 everywhere", []string{"udp4", "udp6"}, nil, false},
		{"udp4 and tcp6: IPv6 addresses gather UDP too", []string{"udp4", "tcp6"}, nil, false},
		{"udp4 on lo with STUN", []string{"udp4"}, []string{"lo"}, true},
		{"udp4 everywhere with STUN", []string{"udp4"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			osNet, err := stdnet.NewNet()
			if err != nil {
				t.Fatal(err)
			}
			counting := &socketCountingNet{Net: osNet}
			cfg, err := (&Config{SelfID: bridgeID, SendSignal: newTestRoom(t).sendFromBridge, NetworkTypes: tc.types,
				Interfaces: tc.interfaces, Logger: testLogger(t), net: counting}).withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			if tc.stun {
				cfg.ICEServers = []ICEServer{{URLs: []string{stunURL}}}
			}
			types, err := cfg.networkTypes()
			if err != nil {
				t.Fatal(err)
			}
			plan, err := planGathering(&cfg, types)
			if err != nil {
				t.Fatal(err)
			}
			if tc.stun && plan.stunSockets == 0 {
				t.Fatalf("plan counts no STUN socket: %+v", plan)
			}

			api, err := newAPI(cfg, pcScope{})
			if err != nil {
				t.Fatal(err)
			}
			pc, err := api.NewPeerConnection(cfg.rtcConfiguration())
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
			offer, err := pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			gathered := webrtc.GatheringCompletePromise(pc)
			if err := pc.SetLocalDescription(offer); err != nil {
				t.Fatal(err)
			}
			<-gathered
			if got, want := counting.open.Load(), int64(plan.socketsPerPeer()); got != want {
				t.Errorf("pion holds %d UDP sockets; the plan counts %d (%+v)", got, want, plan)
			}
		})
	}
}
