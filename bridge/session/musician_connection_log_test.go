package session_test

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// What the session and the peer manager log about a musician's connection.
const (
	msgConnection  = "musician connection"
	msgICEFailed   = "connection failed; ICE restart scheduled"
	msgReconnected = "reconnected"
)

// A musician's network drops long enough for her connection to fail, and comes back: the peer
// manager says so at its levels ("connection failed; ICE restart scheduled" at WARN, then
// "reconnected"), and the session adds nothing at INFO. It used to log "musician connection"
// state=failed and state=connected again at INFO beside them, two lines at two levels for one
// event. Her first connection, which the peer manager does not log, is the session's one line.
func TestMusicianConnectionIsLoggedOnceAtInfo(t *testing.T) {
	logs := &logCounter{}
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Logger = slog.New(logs)
		c.Peer.ICEDisconnectedTimeout, c.Peer.ICEFailedTimeout = 500*time.Millisecond, time.Second
		c.Peer.RestartBackoff = []time.Duration{200 * time.Millisecond}
	})
	network := newCuttableNetwork(t)
	r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true, api: network.api(t)})
	waitFor(t, 20*time.Second, "ana's audio reached the bridge", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC == "connected" && s.Packets > 25
	})
	if n := logs.count(msgConnection); n != 1 {
		t.Fatalf("ana's first connection logged %d %q lines at INFO, want 1", n, msgConnection)
	}

	network.cut.Store(true)
	waitFor(t, 20*time.Second, "the bridge saw ana's connection fail", func() bool { return logs.count(msgICEFailed) > 0 })
	network.cut.Store(false)
	waitFor(t, 30*time.Second, "ana reconnected", func() bool { return logs.count(msgReconnected) > 0 })

	if n := logs.count(msgConnection); n != 1 {
		t.Errorf("ana's connection failing and coming back logged %d %q lines at INFO in all, want only her first connection's", n, msgConnection)
	}
}

// cuttableNetwork is a musician's UDP socket that the test can cut (every datagram either way
// lost, as a Wi-Fi drop does) and restore.
type cuttableNetwork struct {
	net.PacketConn
	cut atomic.Bool
}

func newCuttableNetwork(t *testing.T) *cuttableNetwork {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &cuttableNetwork{PacketConn: pc}
}

func (c *cuttableNetwork) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if errors.Is(err, net.ErrClosed) {
			return n, addr, io.EOF // the ICE mux's read loop ends on it without an error line
		}
		if err != nil || !c.cut.Load() {
			return n, addr, err
		}
	}
}

func (c *cuttableNetwork) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.cut.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// api is a musician's WebRTC stack whose ICE runs on c alone, closed when the test ends.
func (c *cuttableNetwork) api(t *testing.T) *webrtc.API {
	t.Helper()
	mux := webrtc.NewICEUDPMux(nil, c)
	t.Cleanup(func() { mux.Close() })
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(0) // disabled
	se.SetICEUDPMux(mux)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}
