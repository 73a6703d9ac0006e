package session_test

import (
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// What the bridge logs when a musician leaves Presence with her connection up, when the grace
// ends without her, and when she is back.
const (
	msgAway       = "musician left Presence with its connection up; keeping it for a rejoin"
	msgGraceEnded = "musician did not come back to Presence within its grace; closing its connection"
	msgBack       = "musician back"
)

// A musician's Realtime socket drops for a moment (a Wi-Fi hand-over, a proxy timeout) while her
// WebRTC path to the bridge never does: supabase-js shows a Presence leave and, about a second
// later, a join under the same key. The bridge used to close her connection on the leave; her tab
// kept the PeerConnection the bridge had closed, and she was never heard again. Now her
// connection, stream and analyser are kept: the bridge goes on receiving her audio and notes on
// the same PeerConnection, and sends her no new offer.
func TestPresenceBlipKeepsTheMusiciansConnection(t *testing.T) {
	logs := &logCounter{}
	r := newRigWith(t, effect.ModeAuto, hub.Config{}, func(c *session.Config) { c.Logger = slog.New(logs) })
	proxy := newSocketProxy(t, r.hubURL)
	ana := startMusician(t, musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true,
		hubURL: proxy.url(), code: testCode})
	waitFor(t, 20*time.Second, "ana's audio reached the bridge", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC == "connected" && s.Packets > 50
	})
	before, _ := r.musicianStatus("ana")
	answer := ana.pc.RemoteDescription().SDP // the bridge's side of her connection

	proxy.sever(false) // her client reconnects by itself, and tracks her meta again
	waitFor(t, 10*time.Second, "the bridge saw ana leave Presence", func() bool { return logs.count(msgAway)+logs.count(msgLeft) > 0 })
	waitFor(t, 15*time.Second, "the bridge saw ana back in Presence", func() bool { return logs.count(msgBack)+logs.count(msgJoined) > 1 })

	waitFor(t, 15*time.Second, "ana's audio and notes reached the bridge after the blip", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC == "connected" && s.Packets > before.Packets+100 && len(s.Notes) > 0
	})
	if st := ana.pc.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
		t.Fatalf("ana's PeerConnection is %v after the blip", st)
	}
	if ana.pc.RemoteDescription().SDP != answer {
		t.Error("the bridge negotiated ana's connection again after the blip; want the same one kept")
	}
	if n := logs.count(msgLeft); n != 0 {
		t.Errorf("the bridge logged %d musician-left lines for a blip", n)
	}
}

// A musician whose Realtime socket is gone for good while her media path is up is kept for the
// grace, then closed and released: her tab's PeerConnection is closed by the bridge, her record
// goes, and nothing the bridge had for her is left running.
func TestMusicianAwayPastTheGraceIsReleased(t *testing.T) {
	logs := &logCounter{}
	r := newRigWith(t, effect.ModeAuto, hub.Config{}, func(c *session.Config) {
		c.Logger = slog.New(logs)
		c.Peer.PresenceGrace = 2 * time.Second
	})
	idle := goleak.IgnoreCurrent() // the bridge in its room, with no musician
	proxy := newSocketProxy(t, r.hubURL)
	ana := startMusician(t, musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true,
		hubURL: proxy.url(), code: testCode})
	waitFor(t, 20*time.Second, "ana's audio reached the bridge", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC == "connected" && s.Packets > 50
	})

	proxy.sever(true) // her client cannot reconnect
	waitFor(t, 10*time.Second, "the bridge saw ana leave with her connection up", func() bool { return logs.count(msgAway) == 1 })
	waitFor(t, 15*time.Second, "the bridge closed ana's connection", func() bool {
		return ana.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
	})
	waitFor(t, 10*time.Second, "the bridge forgot ana", func() bool { _, ok := r.musicianStatus("ana"); return !ok })
	if logs.count(msgGraceEnded) != 1 || logs.count(msgLeft) != 1 {
		t.Errorf("logged %d grace-ended and %d musician-left lines, want one each", logs.count(msgGraceEnded), logs.count(msgLeft))
	}

	ana.leave()
	proxy.close()
	if err := goleak.Find(idle); err != nil {
		t.Errorf("goroutines left behind by ana: %v", err)
	}
}

// A musician whose connection is not up when she leaves Presence (her tab closed its
// PeerConnection) has nothing worth keeping: she is released at once, not after the grace (a
// minute here, longer than the test waits).
func TestMusicianAwayWithConnectionDownIsReleasedAtOnce(t *testing.T) {
	logs := &logCounter{}
	r := newRigWith(t, effect.ModeAuto, hub.Config{}, func(c *session.Config) {
		c.Logger = slog.New(logs)
		c.Peer.PresenceGrace = time.Minute
	})
	proxy := newSocketProxy(t, r.hubURL)
	ana := startMusician(t, musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true,
		hubURL: proxy.url(), code: testCode})
	waitFor(t, 20*time.Second, "ana's audio reached the bridge", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC == "connected" && s.Packets > 50
	})
	if err := ana.pc.Close(); err != nil { // DTLS close_notify: the bridge's side closes too
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the bridge saw ana's connection go down", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC != "connected"
	})

	proxy.sever(true)
	waitFor(t, 15*time.Second, "the bridge forgot ana", func() bool { _, ok := r.musicianStatus("ana"); return !ok })
	if logs.count(msgAway) != 0 || logs.count(msgLeft) != 1 {
		t.Errorf("logged %d away and %d musician-left lines, want 0 and 1", logs.count(msgAway), logs.count(msgLeft))
	}
	proxy.close()
}

// socketProxy relays a musician's Realtime socket to the hub, so that the test can cut it.
type socketProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	conns   []net.Conn
	blocked bool // refuse new connections
}

func newSocketProxy(t *testing.T, hubURL string) *socketProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &socketProxy{ln: ln, target: hubURL[len("http://"):]}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *socketProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *socketProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.blocked {
			p.mu.Unlock()
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, u)
		p.wg.Add(2)
		p.mu.Unlock()
		relay := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go relay(u, c)
		go relay(c, u)
	}
}

// block refuses new connections from now on, leaving those relayed as they are.
func (p *socketProxy) block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
}

// sever cuts every relayed connection; block also refuses the next ones.
func (p *socketProxy) sever(block bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = p.blocked || block
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// close cuts everything and waits for the proxy's goroutines.
func (p *socketProxy) close() {
	p.sever(true)
	p.ln.Close()
	p.wg.Wait()
}
