package peer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// cdp is a minimal Chrome DevTools Protocol client for one page.
type cdp struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpMessage
	done    chan struct{}

	onBinding func(payload string)
	onConsole func(text string)
}

type cdpMessage struct {
	ID     int             `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func dialCDP(ctx context.Context, url string, onBinding, onConsole func(string)) (*cdp, error) {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(16 << 20)
	c := &cdp{conn: conn, pending: map[int]chan cdpMessage{}, done: make(chan struct{}), onBinding: onBinding, onConsole: onConsole}
	go c.readLoop()
	return c, nil
}

func (c *cdp) readLoop() {
	defer close(c.done)
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		switch {
		case m.ID != 0:
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case m.Method == "Runtime.bindingCalled":
			var p struct{ Name, Payload string }
			if json.Unmarshal(m.Params, &p) == nil && p.Name == "sendSignal" {
				c.onBinding(p.Payload)
			}
		case m.Method == "Runtime.consoleAPICalled":
			var p struct {
				Args []struct{ Value any } `json:"args"`
			}
			if json.Unmarshal(m.Params, &p) == nil && len(p.Args) > 0 {
				c.onConsole(fmt.Sprint(p.Args[0].Value))
			}
		case m.Method == "Runtime.exceptionThrown":
			c.onConsole("exception: " + string(m.Params))
		}
	}
}

func (c *cdp) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(cdpMessage{ID: id, Method: method, Params: p})
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, errors.New("devtools connection closed")
	}
}

// eval runs a JavaScript expression in the page and returns its value.
func (c *cdp) eval(ctx context.Context, expr string, await bool) (any, error) {
	res, err := c.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": await, "returnByValue": true})
	if err != nil {
		return nil, err
	}
	var r struct {
		Result           struct{ Value any } `json:"result"`
		ExceptionDetails *json.RawMessage    `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	if r.ExceptionDetails != nil {
		return nil, fmt.Errorf("%s threw: %s", expr, *r.ExceptionDetails)
	}
	return r.Result.Value, nil
}

func (c *cdp) close() {
	_ = c.conn.Close(websocket.StatusNormalClosure, "")
	<-c.done
}

// chromium is a headless Chromium showing the test musician page.
type chromium struct {
	cmd    *exec.Cmd
	page   *cdp
	stderr *lockedBuffer
	waited chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Flags from reference/field-notes.md, plus DevTools on loopback.
func chromiumArgs(userDir, url string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + userDir, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--autoplay-policy=no-user-gesture-required", "--disable-features=WebRtcHideLocalIpsWithMdns",
		"--allow-loopback-in-peer-connection", "--enable-logging=stderr", "--v=0",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", url}
}

// serveMusicianPage serves testdata/musician.html, the browser musician's page, until the test ends.
func serveMusicianPage(t *testing.T) *httptest.Server {
	t.Helper()
	html, err := os.ReadFile(filepath.Join("testdata", "musician.html"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(html)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// pageConsole collects the page's console lines (the binding goroutine writes, the test reads).
type pageConsole struct {
	mu    sync.Mutex
	lines []string
}

func (c *pageConsole) add(line string) {
	c.mu.Lock()
	c.lines = append(c.lines, line)
	c.mu.Unlock()
}

func (c *pageConsole) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// launchChromium starts headless Chromium on pageURL, retrying the launch once (the field notes:
// a cold start can miss its DevTools deadline). When the test ends the browser is killed, and if
// the test failed the page console and the tail of Chromium's stderr are logged.
func launchChromium(ctx context.Context, t *testing.T, path, pageURL string, onBinding func(string), console *pageConsole) *chromium {
	t.Helper()
	var browser *chromium
	var err error
	for attempt := 1; ; attempt++ {
		browser, err = startChromium(ctx, t, path, pageURL, onBinding, console.add)
		if err == nil || attempt == 2 {
			break
		}
		t.Logf("chromium launch %d failed: %v", attempt, err)
	}
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("page console:\n%s", strings.Join(console.all(), "\n"))
			out := browser.stderr.String()
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			t.Logf("chromium stderr (tail):\n%s", out)
		}
		browser.kill()
	})
	return browser
}

func startChromium(ctx context.Context, t *testing.T, path, pageURL string, onBinding, onConsole func(string)) (*chromium, error) {
	cmd := exec.Command(path, chromiumArgs(t.TempDir(), pageURL)...)
	pr, pw := io.Pipe()
	buf := &lockedBuffer{}
	cmd.Stderr = io.MultiWriter(buf, pw)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &chromium{cmd: cmd, stderr: buf, waited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(c.waited)
	}()
	devtools := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "DevTools listening on "); ok {
				select {
				case devtools <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	var browserURL string
	select {
	case browserURL = <-devtools:
	case <-ctx.Done():
		c.kill()
		return nil, fmt.Errorf("no DevTools URL: %w", ctx.Err())
	case <-c.waited:
		return nil, errors.New("chromium exited")
	}
	// ws://127.0.0.1:PORT/devtools/browser/ID → the page target from /json/list.
	hostPort := strings.SplitN(strings.TrimPrefix(browserURL, "ws://"), "/", 2)[0]
	var pageWS string
	for pageWS == "" {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostPort+"/json/list", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var targets []struct{ Type, URL, WebSocketDebuggerURL string }
			_ = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if tg.Type == "page" && strings.HasPrefix(tg.URL, pageURL) {
					pageWS = tg.WebSocketDebuggerURL
				}
			}
		}
		if pageWS == "" {
			select {
			case <-ctx.Done():
				c.kill()
				return nil, fmt.Errorf("page target not found: %w", ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	page, err := dialCDP(ctx, pageWS, onBinding, onConsole)
	if err != nil {
		c.kill()
		return nil, err
	}
	c.page = page
	for _, m := range []string{"Runtime.enable"} {
		if _, err := page.call(ctx, m, map[string]any{}); err != nil {
			c.kill()
			return nil, err
		}
	}
	if _, err := page.call(ctx, "Runtime.addBinding", map[string]any{"name": "sendSignal"}); err != nil {
		c.kill()
		return nil, err
	}
	// The page may still be loading: wait until its functions exist.
	for {
		v, err := page.eval(ctx, "typeof start", false)
		if err == nil && v == "function" {
			return c, nil
		}
		select {
		case <-ctx.Done():
			c.kill()
			return nil, fmt.Errorf("page did not load: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *chromium) kill() {
	if c.page != nil {
		c.page.close()
	}
	_ = c.cmd.Process.Kill()
	<-c.waited
}

// loopbackCandidate reports whether an ICE candidate's address is on
// loopback; the test passes only those to the bridge, so nothing is sent to
// the machine's other addresses.
func loopbackCandidate(c *room.ICECandidate) bool {
	if c == nil || c.Candidate == "" {
		return true
	}
	f := strings.Fields(c.Candidate)
	return len(f) > 4 && (strings.HasPrefix(f[4], "127.") || f[4] == "::1")
}

// A real Chromium musician (the web app's negotiation, fake microphone)
// connects in all three ways: it offers first; it waits and the bridge
// offers; both offer at once (glare).
func TestChromiumMusician(t *testing.T) {
	requireLoopback(t)
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		requireOrSkip(t, "chromium is not installed (apt-get install chromium; see .ci/setup.d/peer.sh)")
	}
	srv := serveMusicianPage(t)

	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.OfferDelay = 500 * time.Millisecond
	var page pageSink
	// For the glare case, signals to and from "chrome-glare" can be held so
	// that the two offers cross.
	const glareID = "chrome-glare"
	var holdMu sync.Mutex
	holding := true
	var heldToPage []room.Signal
	var heldToBridge []room.Signal
	toPage := page.send
	cfg.SendSignal = func(ctx context.Context, sig room.Signal) error {
		if err := r.sendFromBridge(ctx, sig); err != nil {
			return err
		}
		holdMu.Lock()
		if holding && sig.TargetPeerID == glareID {
			heldToPage = append(heldToPage, sig)
			holdMu.Unlock()
			return nil
		}
		holdMu.Unlock()
		return toPage(ctx, sig)
	}
	var console pageConsole
	var filtered atomic.Int64
	// Page → bridge: decode as the session does; keep candidates on loopback.
	onBinding := func(payload string) {
		sig, ok := decodePageSignal(t, payload)
		if !ok {
			if sig.Type == room.SignalCandidate {
				filtered.Add(1)
			}
			return
		}
		holdMu.Lock()
		if holding && sig.FromPeerID == glareID && sig.Type == room.SignalOffer {
			heldToBridge = append(heldToBridge, sig)
			holdMu.Unlock()
			return
		}
		holdMu.Unlock()
		r.mgr.HandleSignal(sig)
	}
	m := startManager(t, cfg, r)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	browser := launchChromium(ctx, t, path, srv.URL+"/", onBinding, &console)
	defer page.page.Store(nil)
	page.page.Store(browser.page)

	// chrome-offers: its offer overtakes its Presence (the bridge admits it
	// provisionally), then Presence confirms it.
	if v, err := browser.page.eval(ctx, fmt.Sprintf("start(%q, %q, true)", "chrome-offers", bridgeID), true); err != nil || v != "started" {
		t.Fatalf("start chrome-offers: %v, %v", v, err)
	}
	waitFor(t, "chrome-offers' offer", func() bool { _, ok := musicianStats(m, "chrome-offers"); return ok })
	if err := m.MusicianJoined("chrome-offers"); err != nil {
		t.Fatal(err)
	}
	// chrome-waits: in Presence with its microphone open, it never offers.
	if v, err := browser.page.eval(ctx, fmt.Sprintf("start(%q, %q, false)", "chrome-waits", bridgeID), true); err != nil || v != "started" {
		t.Fatalf("start chrome-waits: %v, %v", v, err)
	}
	if err := m.MusicianJoined("chrome-waits"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []MusicianID{"chrome-offers", "chrome-waits"} {
		waitFor(t, "bridge connected to "+string(id), bridgeConnected(m, id))
		waitFor(t, "100 packets from "+string(id), func() bool { return s.packets(id) >= 100 })
		v, err := browser.page.eval(ctx, fmt.Sprintf("state(%q)", id), false)
		if err != nil || v != "connected" {
			t.Errorf("%s: page says %v, %v", id, v, err)
		}
		st, _ := musicianStats(m, id)
		if st.Codec != webrtc.MimeTypeOpus || st.BadRTP != 0 {
			t.Errorf("%s: stats %+v", id, st)
		}
		t.Logf("%s: %d packets, %d padding-only, %d lost, jitter %v", id, st.PacketsReceived, st.PaddingOnly, st.PacketsLost, st.Jitter)
		// The bridge's answer and its offer ask for 64 kbit/s (opusBitrateAsk); without it,
		// Chromium's mono Opus targets 32 kbit/s.
		target, err := browser.page.eval(ctx, fmt.Sprintf(`(async () => {
			const stats = await peers[%q].pc.getSenders().find(s => s.track).getStats();
			for (const r of stats.values()) if (r.type === 'outbound-rtp') return r.targetBitrate;
		})()`, id), true)
		if err != nil || target != float64(64000) {
			t.Errorf("%s: Chromium's Opus encoder targets %v bit/s (%v), want the 64000 asked for", id, target, err)
		}
	}
	sigs := r.bridgeSignals()
	if countSignals(sigs, room.SignalOffer, "chrome-offers") != 0 || countSignals(sigs, room.SignalAnswer, "chrome-offers") != 1 {
		t.Error("chrome-offers: the bridge should only have answered")
	}
	if countSignals(sigs, room.SignalOffer, "chrome-waits") != 1 {
		t.Error("chrome-waits: the bridge should have offered once")
	}

	// Glare with a real browser: Chromium offers; the bridge, not having
	// received it, offers after OfferDelay; both offers cross. Chromium
	// (impolite) ignores the bridge's; the bridge answers Chromium's on a fresh
	// PeerConnection.
	if err := m.MusicianJoined(glareID); err != nil {
		t.Fatal(err)
	}
	if v, err := browser.page.eval(ctx, fmt.Sprintf("start(%q, %q, true)", glareID, bridgeID), true); err != nil || v != "started" {
		t.Fatalf("start %s: %v, %v", glareID, v, err)
	}
	waitFor(t, "both offers in flight", func() bool {
		holdMu.Lock()
		defer holdMu.Unlock()
		return len(heldToBridge) == 1 && len(heldToPage) > 0 && heldToPage[0].Type == room.SignalOffer
	})
	holdMu.Lock()
	holding = false
	toP, toB := heldToPage, heldToBridge
	holdMu.Unlock()
	for _, sig := range toP {
		if err := toPage(ctx, sig); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "Chromium to ignore the crossed offer", func() bool {
		v, err := browser.page.eval(ctx, fmt.Sprintf("peers[%q].ignoreOffer", glareID), false)
		return err == nil && v == true
	})
	for _, sig := range toB {
		m.HandleSignal(sig)
	}
	waitFor(t, "bridge connected to "+glareID, bridgeConnected(m, glareID))
	waitFor(t, "100 packets from "+glareID, func() bool { return s.packets(glareID) >= 100 })
	if st, _ := musicianStats(m, glareID); st.GlareRestarts != 1 {
		t.Errorf("GlareRestarts = %d, want 1", st.GlareRestarts)
	}
	if v, err := browser.page.eval(ctx, fmt.Sprintf("state(%q)", glareID), false); err != nil || v != "connected" {
		t.Errorf("%s: page says %v, %v", glareID, v, err)
	}
	t.Logf("kept Chromium's non-loopback candidates from the bridge: %d", filtered.Load())
}

// pageSink hands the bridge's signals to the musician page once one is set: each becomes an
// un-awaited call of the page's receive(id, json).
type pageSink struct{ page atomic.Pointer[cdp] }

func (ps *pageSink) send(ctx context.Context, sig room.Signal) error {
	p := ps.page.Load()
	if p == nil {
		return errors.New("no page")
	}
	b, err := json.Marshal(sig)
	if err != nil {
		return err
	}
	id, _ := json.Marshal(sig.TargetPeerID)
	js, _ := json.Marshal(string(b))
	_, err = p.eval(ctx, fmt.Sprintf("receive(%s, %s)", id, js), false)
	return err
}

// decodePageSignal decodes a signal the page sent, as the session does. It reports false for a
// signal the bridge must not see: one PROTOCOL.md rejects (a test error) or a candidate off
// loopback (only loopback is reachable here).
func decodePageSignal(t *testing.T, payload string) (room.Signal, bool) {
	sig, err := room.DecodeSignal([]byte(payload))
	if err != nil {
		t.Errorf("Chromium sent a signal PROTOCOL.md rejects: %v\n%s", err, payload)
		return sig, false
	}
	if sig.Type == room.SignalCandidate && !loopbackCandidate(sig.Candidate) {
		return sig, false
	}
	return sig, true
}
