package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// cutNet is the operating system's network with a switch: while cut, every
// UDP packet the bridge's sockets send or receive is silently dropped, so a
// connection to a real browser fails on the bridge's side as if the path
// had gone away.
type cutNet struct {
	transport.Net
	cut atomic.Bool
}

func (n *cutNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &cutConn{UDPConn: c, cut: &n.cut}, nil
}

// cutConn drops datagrams while its network is cut. pion's ICE reads with
// ReadFrom and writes with WriteTo.
type cutConn struct {
	transport.UDPConn
	cut *atomic.Bool
}

func (c *cutConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(p)
		if err != nil || !c.cut.Load() {
			return n, addr, err
		}
	}
}

func (c *cutConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.cut.Load() {
		return len(p), nil
	}
	return c.UDPConn.WriteTo(p, addr)
}

// chromiumPath finds Chromium, or skips (fails under LEDBRIDGE_REQUIRE_ALL=1).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	requireOrSkip(t, "chromium is not installed (apt-get install chromium; see .ci/setup.d/peer.sh)")
	return ""
}

// fingerprintOf returns an SDP's first a=fingerprint value.
func fingerprintOf(sdp string) string {
	for _, l := range splitLines(sdp) {
		if v, ok := strings.CutPrefix(l, "a=fingerprint:"); ok {
			return v
		}
	}
	return ""
}

// bridgeDTLSRole is the bridge's DTLS role after an exchange: a=setup:active
// in an answer makes its sender the client, and the offerer the server.
func bridgeDTLSRole(bridgeSetup []string, bridgeOffered bool, browserSetup []string) string {
	answer := bridgeSetup
	if bridgeOffered {
		answer = browserSetup
	}
	if len(answer) == 0 || (answer[0] != "active" && answer[0] != "passive") {
		return fmt.Sprintf("unknown (answer a=setup:%v)", answer)
	}
	if (answer[0] == "active") != bridgeOffered {
		return "client"
	}
	return "server"
}

// setupLines returns an SDP's a=setup values, in order.
func setupLines(sdp string) []string {
	var out []string
	for _, l := range splitLines(sdp) {
		if v, ok := strings.CutPrefix(l, "a=setup:"); ok {
			out = append(out, v)
		}
	}
	return out
}

// signalGate carries signals between the bridge and the page and can hold
// one musician's signals in either direction, in order, so that two offers
// cross exactly as the test wants.
type signalGate struct {
	mu                 sync.Mutex
	id                 string // the musician whose signals are held
	holdPage, holdBrdg bool   // hold bridge → page, page → bridge
	toPage, toBridge   []room.Signal
	fromPage           []room.Signal // every signal the page sent, in order
}

func (g *signalGate) heldOffer(sigs []room.Signal) *room.Signal {
	for i := range sigs {
		if sigs[i].Type == room.SignalOffer {
			return &sigs[i]
		}
	}
	return nil
}

// A real Chromium musician keeps (or gets back) its audio path when the
// bridge's ICE restart collides with the browser's own ICE-restart offer.
//
// The connection fails on the bridge's side (its sockets drop everything);
// the bridge sends an ICE-restart offer, which the test holds until
// Chromium has called restartIce() and sent its own offer. Then both are
// delivered: Chromium (impolite) ignores the bridge's; the bridge (polite,
// and unable to roll back in pion) answers Chromium's on a fresh
// PeerConnection: new certificate, new ICE credentials. The case a reviewer
// doubted is the bridge having offered first: Chromium answered
// a=setup:active, so it was the DTLS client, and a fresh PeerConnection
// answering an actpass re-offer would by default take the client role too.
func TestChromiumGlareDuringICERestart(t *testing.T) {
	requireLoopback(t)
	path := chromiumPath(t)
	srv := serveMusicianPage(t)

	std, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	cn := &cutNet{Net: std}
	r, s, states := newTestRoom(t), &sinks{}, &stateLog{}
	cfg := bridgeConfig(t, r, s)
	cfg.OfferDelay = 500 * time.Millisecond
	cfg.net = cn
	cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout = 500*time.Millisecond, time.Second
	cfg.RestartBackoff = []time.Duration{100 * time.Millisecond}
	cfg.OnStateChange = states.record

	var page pageSink
	toPage := page.send
	gate := &signalGate{}
	cfg.SendSignal = func(ctx context.Context, sig room.Signal) error {
		if err := r.sendFromBridge(ctx, sig); err != nil {
			return err
		}
		gate.mu.Lock()
		if gate.holdPage && sig.TargetPeerID == gate.id {
			gate.toPage = append(gate.toPage, sig)
			gate.mu.Unlock()
			return nil
		}
		gate.mu.Unlock()
		return toPage(ctx, sig)
	}
	var console pageConsole
	onBinding := func(payload string) {
		sig, ok := decodePageSignal(t, payload)
		if !ok {
			return
		}
		gate.mu.Lock()
		defer gate.mu.Unlock() // HandleSignal never blocks
		gate.fromPage = append(gate.fromPage, sig)
		if gate.holdBrdg && sig.FromPeerID == gate.id {
			gate.toBridge = append(gate.toBridge, sig)
			return
		}
		r.mgr.HandleSignal(sig)
	}
	m := startManager(t, cfg, r)

	// Each log line says when it came, so that a slow step shows.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	began := time.Now()
	logStep := func(format string, args ...any) {
		t.Helper()
		t.Logf("[%5.1fs] "+format, append([]any{time.Since(began).Seconds()}, args...)...)
	}
	browser := launchChromium(ctx, t, path, srv.URL+"/", onBinding, &console)
	defer page.page.Store(nil)
	page.page.Store(browser.page)
	evalPage := func(expr string) any {
		t.Helper()
		v, err := browser.page.eval(ctx, expr, false)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		return v
	}
	// pageDTLS is the browser's own view of its transport: its DTLS role and state (getStats).
	pageDTLS := func(jsID []byte) string {
		t.Helper()
		v, err := browser.page.eval(ctx, fmt.Sprintf(`(async () => {
			for (const s of (await peers[%s].pc.getStats()).values())
				if (s.type === 'transport') return s.dtlsRole + ' ' + s.dtlsState;
			return 'none';
		})()`, jsID), true)
		if err != nil {
			t.Fatalf("page getStats: %v", err)
		}
		return fmt.Sprint(v)
	}
	opposite := map[string]string{"client": "server", "server": "client"}

	for _, tc := range []struct {
		id            string
		browserOffers bool // who offered on the first connection
		// The bridge's DTLS role on the first connection and after the glare.
		roleBefore, roleAfter string
	}{
		// The doubted case: the bridge, DTLS server so far, answers Chromium's
		// actpass re-offer a=setup:active on its fresh PeerConnection and
		// becomes the client; Chromium has to switch roles in its DTLS restart.
		{"chrome-bridge-offered", false, "server", "client"},
		{"chrome-browser-offered", true, "client", "client"},
	} {
		id := MusicianID(tc.id)
		jsID, _ := json.Marshal(tc.id)
		logStep("--- %s", tc.id)

		// First connection, offered by the bridge (after OfferDelay) or by Chromium.
		if !tc.browserOffers {
			if err := m.MusicianJoined(id); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := browser.page.eval(ctx, fmt.Sprintf("start(%s, %q, %v)", jsID, bridgeID, tc.browserOffers), true); err != nil || v != "started" {
			t.Fatalf("start %s: %v, %v", tc.id, v, err)
		}
		if tc.browserOffers {
			waitFor(t, tc.id+"'s offer", func() bool { _, ok := musicianStats(m, id); return ok })
			if err := m.MusicianJoined(id); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "bridge connected to "+tc.id, bridgeConnected(m, id))
		waitFor(t, "100 packets from "+tc.id, func() bool { return s.packets(id) >= 100 })
		first := firstExchange(r.bridgeSignals(), gate, tc.id)
		logStep("first connection: %s", first)
		if role := bridgeDTLSRole(setupLines(first.bridgeSDP), first.bridgeOffered, setupLines(first.browserSDP)); role != tc.roleBefore {
			t.Fatalf("%s: the bridge is DTLS %s on the first connection, want %s: the test no longer sets up the case it is about", tc.id, role, tc.roleBefore)
		}
		if got, want := pageDTLS(jsID), opposite[tc.roleBefore]+" connected"; got != want {
			t.Errorf("%s: Chromium's transport is %q before the restart, want %q", tc.id, got, want)
		}

		// The path goes away on the bridge's side; hold every signal between
		// the two from now on.
		gate.mu.Lock()
		gate.id, gate.holdPage, gate.holdBrdg = tc.id, true, true
		gate.toPage, gate.toBridge = nil, nil
		gate.mu.Unlock()
		cn.cut.Store(true)
		waitFor(t, "the bridge's ICE-restart offer", func() bool {
			gate.mu.Lock()
			defer gate.mu.Unlock()
			return gate.heldOffer(gate.toPage) != nil
		})
		// Chromium restarts ICE at the same time: its offer crosses the bridge's.
		evalPage(fmt.Sprintf("peers[%s].pc.restartIce()", jsID))
		waitFor(t, "Chromium's ICE-restart offer", func() bool {
			gate.mu.Lock()
			defer gate.mu.Unlock()
			return gate.heldOffer(gate.toBridge) != nil
		})
		if v := evalPage(fmt.Sprintf("peers[%s].pc.signalingState", jsID)); v != "have-local-offer" {
			t.Fatalf("Chromium's signaling state %v, want have-local-offer", v)
		}
		cn.cut.Store(false)
		gate.mu.Lock()
		restartOffer, reOffer := *gate.heldOffer(gate.toPage), *gate.heldOffer(gate.toBridge)
		gate.mu.Unlock()
		logStep("bridge's ICE-restart offer: a=setup:%v; Chromium's re-offer: a=setup:%v",
			setupLines(restartOffer.Description.SDP), setupLines(reOffer.Description.SDP))
		if ufragOf(reOffer.Description.SDP) == ufragOf(first.browserSDP) {
			t.Errorf("Chromium's re-offer keeps ICE ufrag %q: not an ICE restart", ufragOf(reOffer.Description.SDP))
		}

		// Deliver both crossed offers, each direction in order. The page's signals reach
		// onBinding on the CDP connection's read loop, which also reads the answers to toPage's
		// evaluations: holding gate.mu across toPage would deadlock with a candidate Chromium
		// trickles meanwhile. So the bridge's signals stay held, and queue behind, until the
		// held ones are all delivered.
		for {
			gate.mu.Lock()
			held := gate.toPage
			gate.toPage = nil
			if len(held) == 0 {
				gate.holdPage = false
				gate.mu.Unlock()
				break
			}
			gate.mu.Unlock()
			for _, sig := range held {
				if err := toPage(ctx, sig); err != nil {
					t.Fatalf("[%5.1fs] handing the bridge's held %s to Chromium: %v", time.Since(began).Seconds(), sig.Type, err)
				}
			}
		}
		waitFor(t, "Chromium to ignore the bridge's crossed offer", func() bool {
			return evalPage(fmt.Sprintf("peers[%s].ignoreOffer", jsID)) == true
		})
		before, glareBefore := s.packets(id), glareCount(m, id)
		start := time.Now()
		gate.mu.Lock()
		for _, sig := range gate.toBridge {
			r.mgr.HandleSignal(sig)
		}
		gate.toBridge, gate.holdBrdg = nil, false
		gate.mu.Unlock()

		// Bound: the bridge back to connected and 100 packets (2 s of audio)
		// within 15 s of the crossed offers' delivery.
		ok := waitWithin(15*time.Second, func() bool {
			return bridgeConnected(m, id)() && s.packets(id) >= before+100
		})
		took := time.Since(start)
		answer := lastSignal(r.bridgeSignals(), room.SignalAnswer, tc.id)
		var answerSetup []string
		if answer != nil {
			answerSetup = setupLines(answer.Description.SDP)
		}
		st, _ := musicianStats(m, id)
		logStep("bridge's answer on the fresh PeerConnection: a=setup:%v; after %v: bridge %s, page %v, %d packets since, glare restarts %d→%d",
			answerSetup, took.Round(10*time.Millisecond), st.ConnectionState, evalPage(fmt.Sprintf("state(%s)", jsID)),
			s.packets(id)-before, glareBefore, st.GlareRestarts)
		if !ok {
			t.Fatalf("%s: no audio path back within 15 s of the crossed ICE restarts (bridge %s, states %v)", tc.id, st.ConnectionState, states.get(id))
		}
		if st.GlareRestarts != glareBefore+1 {
			t.Errorf("%s: GlareRestarts %d → %d, want one more", tc.id, glareBefore, st.GlareRestarts)
		}
		waitFor(t, "Chromium connected again", func() bool { return evalPage(fmt.Sprintf("state(%s)", jsID)) == "connected" })
		if answer == nil || ufragOf(answer.Description.SDP) == ufragOf(first.bridgeSDP) ||
			fingerprintOf(answer.Description.SDP) == fingerprintOf(first.bridgeSDP) {
			t.Errorf("%s: the glare answer should bring fresh ICE credentials and a new certificate (a DTLS restart)", tc.id)
		}
		if role := bridgeDTLSRole(answerSetup, false, nil); role != tc.roleAfter {
			t.Errorf("%s: the bridge is DTLS %s after the glare, want %s", tc.id, role, tc.roleAfter)
		}
		got := pageDTLS(jsID)
		logStep("Chromium's transport after the glare: DTLS %s", got)
		if want := opposite[tc.roleAfter] + " connected"; got != want {
			t.Errorf("%s: Chromium's transport is %q after the glare, want %q", tc.id, got, want)
		}
		for _, l := range console.all() {
			if strings.HasPrefix(l, tc.id+" ") {
				t.Errorf("page console: %s", l)
			}
		}

		// Done with this musician: nothing of it is left for the next case's cut.
		m.releaseNow(id)
		evalPage(fmt.Sprintf("peers[%s].pc.close()", jsID))
		waitFor(t, tc.id+" released", func() bool { _, ok := musicianStats(m, id); return !ok })
	}
}

// exchange is the first offer/answer between the bridge and one page musician.
type exchange struct {
	bridgeSDP, browserSDP string
	bridgeOffered         bool
}

func (e exchange) String() string {
	if e.bridgeOffered {
		return fmt.Sprintf("bridge offered a=setup:%v, Chromium answered a=setup:%v", setupLines(e.bridgeSDP), setupLines(e.browserSDP))
	}
	return fmt.Sprintf("Chromium offered a=setup:%v, bridge answered a=setup:%v", setupLines(e.browserSDP), setupLines(e.bridgeSDP))
}

func firstExchange(fromBridge []room.Signal, g *signalGate, id string) exchange {
	var e exchange
	for _, sig := range fromBridge {
		if sig.TargetPeerID == id && sig.Description != nil {
			e.bridgeSDP, e.bridgeOffered = sig.Description.SDP, sig.Type == room.SignalOffer
			break
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, sig := range g.fromPage {
		if sig.FromPeerID == id && sig.Description != nil {
			e.browserSDP = sig.Description.SDP
			break
		}
	}
	return e
}

func lastSignal(sigs []room.Signal, typ room.SignalType, target string) *room.Signal {
	for i := len(sigs) - 1; i >= 0; i-- {
		if sigs[i].Type == typ && sigs[i].TargetPeerID == target {
			return &sigs[i]
		}
	}
	return nil
}

func glareCount(m *Manager, id MusicianID) uint64 {
	st, _ := musicianStats(m, id)
	return st.GlareRestarts
}

// waitWithin polls cond until it holds or d has passed.
func waitWithin(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
