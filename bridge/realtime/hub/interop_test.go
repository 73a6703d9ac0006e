package hub

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// interopDir holds package.json/package-lock.json pinning @supabase/supabase-js and peer.mjs.
const interopDir = "../../../testdata/realtime-interop"

// nodeCommand returns the node binary and the flags supabase-js needs on it, or skips the test
// (fails it under LEDBRIDGE_REQUIRE_ALL=1) when Node >= 20 or the npm packages are missing.
func nodeCommand(t *testing.T) (string, []string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		requireOrSkip(t, "node is not installed (needs Node >= 20; .ci/setup.d/node.sh installs it)")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		requireOrSkip(t, fmt.Sprintf("node --version: %v", err))
	}
	ver := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _ := strconv.Atoi(strings.SplitN(ver, ".", 2)[0])
	if major < 20 {
		requireOrSkip(t, fmt.Sprintf("node %s is too old: supabase-js needs Node >= 20", ver))
	}
	pkg := filepath.Join(interopDir, "node_modules", "@supabase", "supabase-js", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		requireOrSkip(t, "npm packages missing: run `npm ci` in testdata/realtime-interop (.ci/setup.d/node.sh does)")
	}
	var flags []string
	if major < 22 {
		flags = append(flags, "--experimental-websocket") // Node 20/21 have WebSocket behind a flag
	}
	return node, flags
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
		"PEER_URL="+h.httpURL(), "PEER_KEY=lan-anon-key", "PEER_ROOM=ABC123",
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

// goBroadcast is a broadcast as the Go participant received it.
type goBroadcast struct {
	event   string
	payload []byte
	json    bool
}

// decodeBroadcast recognises a broadcast in either serializer's form: binary kind 4, or a text
// "broadcast" whose payload is {"type":"broadcast","event":…,"payload":…}.
func decodeBroadcast(vsn wire.Version, f frame) (goBroadcast, bool) {
	if f.binary {
		var b wire.UserBroadcast
		if wire.DecodeBinary(f.data, &b) != nil || b.Kind != wire.KindUserBroadcast {
			return goBroadcast{}, false
		}
		return goBroadcast{b.Event, bytes.Clone(b.Payload), b.Encoding == wire.EncodingJSON}, true
	}
	var m wire.Message
	if vsn.DecodeText(f.data, &m) != nil || m.Event != "broadcast" {
		return goBroadcast{}, false
	}
	var body struct {
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(m.Payload, &body) != nil {
		return goBroadcast{}, false
	}
	return goBroadcast{body.Event, body.Payload, true}, true
}

// goPeer is the Go participant. bridge/realtime (the Go client) had not landed when this test
// was written, so it speaks raw frames built with package wire, as the daemon's client would.
type goPeer struct {
	*rawClient
	joinRef string
	pending []frame
}

// waitFrame returns the first frame (received or buffered) that matches pred; others are kept.
func (g *goPeer) waitFrame(what string, pred func(frame) bool) frame {
	g.t.Helper()
	for i, f := range g.pending {
		if pred(f) {
			g.pending = append(g.pending[:i], g.pending[i+1:]...)
			return f
		}
	}
	deadline := time.After(testTimeout)
	for {
		select {
		case f, ok := <-g.frames:
			if !ok {
				g.t.Fatalf("go peer: connection closed waiting for %s", what)
			}
			if pred(f) {
				return f
			}
			g.pending = append(g.pending, f)
		case <-deadline:
			g.t.Fatalf("go peer: no %s within %v; buffered: %v", what, testTimeout, g.pending)
		}
	}
}

func (g *goPeer) waitBroadcast(event, want string, wantJSON bool) {
	g.t.Helper()
	g.waitFrame("broadcast "+event, func(f frame) bool {
		b, ok := decodeBroadcast(g.vsn, f)
		if !ok || b.event != event || b.json != wantJSON {
			return false
		}
		if !wantJSON {
			return hex.EncodeToString(b.payload) == want
		}
		return jsonEqual(b.payload, []byte(want))
	})
}

// waitDiff waits for a presence_diff that joins (or leaves) key.
func (g *goPeer) waitDiff(side, key string) {
	g.t.Helper()
	g.waitFrame(fmt.Sprintf("presence_diff %s %s", side, key), func(f frame) bool {
		var m wire.Message
		if f.binary || g.vsn.DecodeText(f.data, &m) != nil || m.Event != "presence_diff" {
			return false
		}
		var diff map[string]map[string]json.RawMessage
		if json.Unmarshal(m.Payload, &diff) != nil {
			return false
		}
		_, ok := diff[side][key]
		return ok
	})
}

// TestInteropSupabaseJS puts two real supabase-js clients and the Go participant in one room on
// the LAN server, on each serializer, and checks Presence and Broadcast in every direction.
func TestInteropSupabaseJS(t *testing.T) {
	nodeCommand(t)
	for _, vsn := range []string{"2.0.0", "1.0.0"} {
		t.Run(vsn, func(t *testing.T) { testInterop(t, vsn) })
	}
}

func testInterop(t *testing.T, vsn string) {
	h := startHub(t, Config{})
	g := &goPeer{rawClient: dial(t, h, dialOpts{vsn: vsn})}
	g.joinRef = g.join(topic, cfgJSON(false, true, "ledbridge-go"))
	g.sendMsg(g.joinRef, g.ref(), topic, "presence",
		`{"type":"presence","event":"track","payload":{"name":"LED Bridge","isHost":false,"role":"led-bridge","receiveOnly":true}}`)

	a := startJSPeer(t, h, vsn, "peer-a")
	a.do(map[string]any{"op": "track", "payload": map[string]any{"name": "Alice", "isHost": true}})
	b := startJSPeer(t, h, vsn, "peer-b")
	b.do(map[string]any{"op": "track", "payload": map[string]any{"name": "Bob", "isHost": false}})

	// Presence: everyone sees all three.
	everyone := map[string]string{"ledbridge-go": "LED Bridge", "peer-a": "Alice", "peer-b": "Bob"}
	a.waitSync(everyone)
	b.waitSync(everyone)
	g.waitDiff("joins", "peer-a")
	g.waitDiff("joins", "peer-b")

	// supabase-js → everyone (a kind-3 binary push on vsn 2.0.0, JSON text on vsn 1.0.0).
	a.do(map[string]any{"op": "send", "event": "tempo-change", "payload": map[string]any{"tempo": 128}})
	g.waitBroadcast("tempo-change", `{"tempo":128}`, true)
	b.waitBroadcast("tempo-change", `{"tempo":128}`)

	// Go text broadcast → supabase-js.
	signal := `{"type":"offer","fromPeerId":"ledbridge-go","targetPeerId":"peer-a","data":{"type":"offer","sdp":"v=0\r\n"}}`
	g.sendMsg(g.joinRef, g.ref(), topic, "broadcast", `{"type":"broadcast","event":"webrtc-signal","payload":`+signal+`}`)
	a.waitBroadcast("webrtc-signal", signal)
	b.waitBroadcast("webrtc-signal", signal)

	if vsn == "2.0.0" {
		// Go binary kind-3 push → supabase-js (decoded from kind 4).
		g.sendPush(g.joinRef, g.ref(), topic, "state-request", wire.EncodingJSON, []byte(`{"fromPeerId":"ledbridge-go"}`))
		a.waitBroadcast("state-request", `{"fromPeerId":"ledbridge-go"}`)
		b.waitBroadcast("state-request", `{"fromPeerId":"ledbridge-go"}`)
		// supabase-js raw binary payload → Go and the other browser.
		b.do(map[string]any{"op": "send_bytes", "event": "led-raw", "hex": "00ff10"})
		g.waitBroadcast("led-raw", "00ff10", false)
		a.waitBroadcast("led-raw", `{"hex":"00ff10"}`)
	}

	// Untrack: B's meta leaves, B stays subscribed.
	b.do(map[string]any{"op": "untrack"})
	g.waitDiff("leaves", "peer-b")
	a.waitFor("leave peer-b", func(e *jsEvent) bool { return e.Ev == "leave" && e.Key == "peer-b" })
	a.waitSync(map[string]string{"ledbridge-go": "LED Bridge", "peer-a": "Alice"})

	// A's process dies without leaving: the server notices the dropped socket.
	a.do(map[string]any{"op": "crash"})
	g.waitDiff("leaves", "peer-a")
	b.waitFor("leave peer-a", func(e *jsEvent) bool { return e.Ev == "leave" && e.Key == "peer-a" })
	b.waitSync(map[string]string{"ledbridge-go": "LED Bridge"})

	// The Go participant disconnects: the remaining browser sees it leave.
	g.ws.CloseNow()
	b.waitFor("leave ledbridge-go", func(e *jsEvent) bool { return e.Ev == "leave" && e.Key == "ledbridge-go" })
	b.do(map[string]any{"op": "leave"})
}
