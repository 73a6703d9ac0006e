package session_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// What the bridge logs when a musician is missing from the Presence the room server gives on the
// bridge's rejoin, with her connection up.
const msgMissing = "musician missing from the room's Presence after the bridge rejoined (the room server may have restarted); keeping her connection for her rejoin"

// The room server restarts (a self-hosted Supabase, or `ledbridge hub` as the room's server,
// stopped for longer than the Presence grace and started again on the same address). The bridge
// rejoins first, and the server's fresh Presence lists no musician until her own client has
// rejoined: supabase-js's backoffs make that up to tens of seconds later. Their media paths, peer
// to peer, never dropped. The bridge used to take their absence for leaves and close both
// connections at the grace's end, and their tabs, holding the PeerConnections it had closed, were
// not heard again. Now both connections stay up through the outage and the 15 s the musicians'
// clients take to rejoin, their audio arriving all along, with no new negotiation. A musician who
// then really leaves Presence (untracks) with her connection up is still closed after the normal
// grace.
func TestRoomServerRestartKeepsTheMusiciansConnections(t *testing.T) {
	logs := &logCounter{}
	srv := startRestartableHub(t)
	// The musicians' clients reach the server through a proxy, which keeps them out after the
	// restart for as long as the test says.
	proxy := newSocketProxy(t, srv.url())
	r, ana, ben, playing := startGraceRig(t, logs, srv.url(), proxy.url(), proxy.url())
	answers := map[*testMusician]string{ana: ana.pc.RemoteDescription().SDP, ben: ben.pc.RemoteDescription().SDP}

	proxy.block()
	srv.stop() // every socket closes: the bridge's and the musicians'
	proxy.sever(true)
	time.Sleep(restartGrace + time.Second)
	srv.start() // a fresh server on the same address: its Presence is empty
	waitFor(t, 10*time.Second, "the bridge rejoined and found both musicians gone from Presence", func() bool {
		return r.sess.Snapshot().Room.Connection.State == "joined" && logs.count(msgMissing)+logs.count(msgAway) == 2
	})
	rejoined := time.Now()

	// The musicians' clients rejoin 15 s after the bridge; their audio arrives all along.
	for _, at := range []time.Duration{restartGrace + time.Second, 10 * time.Second, 15 * time.Second} {
		time.Sleep(time.Until(rejoined.Add(at)))
		a, _ := r.musicianStatus("ana")
		b, _ := r.musicianStatus("ben")
		waitFor(t, 2*time.Second, "both musicians' audio still arriving", func() bool {
			return playing("ana", int64(a.Packets)+10) && playing("ben", int64(b.Packets)+10)
		})
	}
	proxy.unblock()
	waitFor(t, 10*time.Second, "both musicians back in the bridge's Presence", func() bool { return logs.count(msgBack) == 2 })
	a, _ := r.musicianStatus("ana")
	b, _ := r.musicianStatus("ben")
	waitFor(t, 5*time.Second, "both musicians' audio after their rejoin", func() bool {
		return playing("ana", int64(a.Packets)+50) && playing("ben", int64(b.Packets)+50)
	})
	for m, answer := range answers {
		if st := m.pc.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
			t.Errorf("%s's PeerConnection is %v after the restart", m.id, st)
		}
		if m.pc.RemoteDescription().SDP != answer {
			t.Errorf("the bridge negotiated %s's connection again after the restart; want the same one kept", m.id)
		}
	}
	if n, left := logs.count(msgGraceEnded), logs.count(msgLeft); n != 0 || left != 0 {
		t.Errorf("logged %d grace-ended and %d musician-left lines over the restart, want none", n, left)
	}
	if n := logs.count(msgMissing); n != 2 {
		t.Errorf("logged %d musicians missing after the bridge's rejoin, want both", n)
	}

	// Ben really leaves Presence, his connection still up and streaming: closed after the grace.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ben.client.Untrack(ctx); err != nil {
		t.Fatal(err)
	}
	wantClosedAfterTheGrace(t, r, ben, ana, time.Now(), playing)
	if logs.count(msgAway) != 1 || logs.count(msgGraceEnded) != 1 {
		t.Errorf("logged %d away and %d grace-ended lines for ben's leave, want one each", logs.count(msgAway), logs.count(msgGraceEnded))
	}
}

// restartGrace is Config.Peer.PresenceGrace in the tests of a restarting room server, shortened.
const restartGrace = 3 * time.Second

// startGraceRig starts a bridge that reaches the room server at bridgeURL, with the Presence grace
// shortened to restartGrace and a quick reconnect, and two musicians, ana (who offers) at anaURL
// and ben at benURL, whose clients reconnect quickly too. It returns once both are heard, with a
// check that a musician is connected and has sent more than over packets.
func startGraceRig(t *testing.T, logs slog.Handler, bridgeURL, anaURL, benURL string) (r *rig, ana, ben *testMusician, playing func(id string, over int64) bool) {
	t.Helper()
	quick := []time.Duration{200 * time.Millisecond}
	r = newRigWith(t, effect.ModeAuto, hub.Config{}, func(c *session.Config) {
		c.Logger = slog.New(logs)
		c.Realtime.URL = bridgeURL
		c.Realtime.ReconnectBackoff = quick
		c.Peer.PresenceGrace = restartGrace
	})
	ana = startMusician(t, musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true,
		hubURL: anaURL, code: testCode, reconnect: quick})
	ben = startMusician(t, musicianOpts{id: "ben", name: "Ben", fixture: fixture("c_major_chord.opus"), offers: false,
		hubURL: benURL, code: testCode, reconnect: quick})
	playing = func(id string, over int64) bool {
		s, ok := r.musicianStatus(id)
		return ok && s.WebRTC == "connected" && int64(s.Packets) > over
	}
	waitFor(t, 20*time.Second, "both musicians' audio reached the bridge", func() bool { return playing("ana", 50) && playing("ben", 50) })
	return r, ana, ben, playing
}

// wantClosedAfterTheGrace checks that the bridge closes gone's connection about restartGrace after
// left, when the bridge saw gone leave, and that stays's audio goes on.
func wantClosedAfterTheGrace(t *testing.T, r *rig, gone, stays *testMusician, left time.Time, playing func(string, int64) bool) {
	t.Helper()
	waitFor(t, restartGrace+7*time.Second, "the bridge closed "+gone.id+"'s connection", func() bool {
		return gone.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
	})
	if d := time.Since(left); d < restartGrace-500*time.Millisecond || d > restartGrace+3*time.Second {
		t.Errorf("%s's connection closed %v after the bridge saw her leave, want about the grace, %v", gone.id, d, restartGrace)
	}
	s, _ := r.musicianStatus(stays.id)
	waitFor(t, 5*time.Second, stays.id+"'s audio after "+gone.id+" left", func() bool { return playing(stays.id, int64(s.Packets)+50) })
}

// restartableHub is a LAN hub that can be stopped and started again, a fresh server each time,
// on the same address.
type restartableHub struct {
	t    *testing.T
	addr string

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func startRestartableHub(t *testing.T) *restartableHub {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &restartableHub{t: t, addr: ln.Addr().String()}
	h.serve(ln)
	t.Cleanup(h.stop)
	return h
}

func (h *restartableHub) url() string { return "http://" + h.addr }

func (h *restartableHub) serve(ln net.Listener) {
	srv, err := hub.New(hub.Config{Logger: testLog(h.t)})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	h.mu.Lock()
	h.cancel, h.done = cancel, done
	h.mu.Unlock()
}

// stop shuts the server down, its sockets closed with "going away", and waits for it.
func (h *restartableHub) stop() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// start serves a fresh server on the address the first one had.
func (h *restartableHub) start() {
	h.t.Helper()
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.serve(ln)
}
