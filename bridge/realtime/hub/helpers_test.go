package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	"github.com/ledbridge/ledbridge/bridge/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// requireOrSkip skips a test that needs something this machine lacks, unless CI demands everything.
var requireOrSkip = testenv.RequireOrSkip

// testTimeout bounds every wait in these tests; nothing asserts how fast the server is.
const testTimeout = 10 * time.Second

// fakeClock is a settable clock for the rate-limit windows.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testHub is a Server serving on a loopback port.
type testHub struct {
	*Server
	addr string // host:port
}

func (h *testHub) httpURL() string { return "http://" + h.addr }

// apiKey is the key clients should use: the secret if the hub has one, else any string.
func (h *testHub) apiKey() string {
	if h.cfg.Secret != "" {
		return h.cfg.Secret
	}
	return "lan-anon-key"
}

func startHub(t testing.TB, cfg Config) *testHub {
	t.Helper()
	return startHubWith(t, cfg, nil)
}

// startHubWith is startHub with tweak (when not nil) applied to the server before it serves.
func startHubWith(t testing.TB, cfg Config, tweak func(*Server)) *testHub {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if tweak != nil {
		tweak(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	})
	return &testHub{Server: s, addr: ln.Addr().String()}
}

// rxFrame is one message received by a test client.
type rxFrame struct {
	binary bool
	data   []byte
}

func (f rxFrame) String() string {
	if f.binary {
		return fmt.Sprintf("BINARY %x", f.data)
	}
	return string(f.data)
}

// rawClient is a bare WebSocket client that exchanges frames built with package wire, so the
// tests see exactly what the server sends.
type rawClient struct {
	t       testing.TB
	vsn     wire.Version
	ws      *websocket.Conn
	frames  chan rxFrame
	readErr chan error
	nextRef int
	// readGate, when set, stops readLoop after the frame it has just queued, until the channel
	// is closed (pauseReads).
	readGate atomic.Pointer[chan struct{}]
}

type dialOpts struct {
	vsn    string // "2.0.0" (default) or "1.0.0"
	apikey string
	header http.Header
	from   string // the loopback source IP to dial from (e.g. "127.0.0.2"); empty lets the system pick
}

// postWithWrongKey sends an empty REST broadcast with a wrong API key and
// returns the status code.
func postWithWrongKey(t testing.TB, h *testHub) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.httpURL()+BroadcastAPIPath, strings.NewReader(`{"messages":[]}`))
	req.Header.Set("apikey", "nope")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// fromClient is an HTTP client whose connections leave from the loopback address ip, so that one
// test can be several LAN hosts.
func fromClient(t testing.TB, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func dial(t testing.TB, h *testHub, o dialOpts) *rawClient {
	t.Helper()
	c, err := tryDial(t, h, o)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func tryDial(t testing.TB, h *testHub, o dialOpts) (*rawClient, error) {
	if o.vsn == "" {
		o.vsn = "2.0.0"
	}
	if o.apikey == "" {
		o.apikey = "any-key"
	}
	vsn, err := wire.ParseVersion(o.vsn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	url := fmt.Sprintf("ws://%s%s?apikey=%s&vsn=%s", h.addr, Path, o.apikey, o.vsn)
	opts := &websocket.DialOptions{HTTPHeader: o.header}
	if o.from != "" {
		opts.HTTPClient = fromClient(t, o.from)
	}
	ws, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	ws.SetReadLimit(8 << 20)
	c := &rawClient{t: t, vsn: vsn, ws: ws, frames: make(chan rxFrame, 4096), readErr: make(chan error, 1), nextRef: 1}
	go c.readLoop()
	t.Cleanup(c.closeNow)
	return c, nil
}

func (c *rawClient) readLoop() {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.readErr <- err
			close(c.frames)
			return
		}
		c.frames <- rxFrame{binary: typ == websocket.MessageBinary, data: data}
		if gate := c.readGate.Swap(nil); gate != nil {
			<-*gate
		}
	}
}

// pauseReads makes the client stop reading after the reply to a heartbeat it sends now, so that it
// answers no ping (a socket whose network went silent, not yet noticed by its browser), until
// resume is called. Nothing else may be on its way to the client meanwhile.
func (c *rawClient) pauseReads() (resume func()) {
	c.t.Helper()
	gate := make(chan struct{})
	c.readGate.Store(&gate)
	c.barrier()
	resume = sync.OnceFunc(func() { close(gate) })
	c.t.Cleanup(resume) // before closeNow, which waits for readLoop to end
	return resume
}

func (c *rawClient) closeNow() {
	c.ws.CloseNow()
	for range c.frames {
	}
}

func (c *rawClient) ref() string {
	c.nextRef++
	return fmt.Sprint(c.nextRef)
}

func (c *rawClient) sendRaw(binary bool, data []byte) {
	c.t.Helper()
	typ := websocket.MessageText
	if binary {
		typ = websocket.MessageBinary
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, typ, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawClient) sendMsg(joinRef, ref, topic, event, payload string) {
	c.t.Helper()
	m := wire.Message{Topic: topic, Event: event, Payload: json.RawMessage(payload)}
	if joinRef != "" {
		m.JoinRef = wire.RefOf(joinRef)
	}
	if ref != "" {
		m.Ref = wire.RefOf(ref)
	}
	data, err := c.vsn.AppendText(nil, &m)
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	c.sendRaw(false, data)
}

func (c *rawClient) sendPush(joinRef, ref, topic, event string, enc wire.Encoding, payload []byte) {
	c.t.Helper()
	b := wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, Topic: topic, Event: event, Encoding: enc, Payload: payload}
	if joinRef != "" {
		b.JoinRef = wire.RefOf(joinRef)
	}
	if ref != "" {
		b.Ref = wire.RefOf(ref)
	}
	data, err := wire.AppendBinary(nil, &b)
	if err != nil {
		c.t.Fatalf("encode kind 3: %v", err)
	}
	c.sendRaw(true, data)
}

// next returns the next frame the server sent.
func (c *rawClient) next() rxFrame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			c.t.Fatalf("connection closed while waiting for a frame: %v", <-c.readErr)
		}
		return f
	case <-time.After(testTimeout):
		c.t.Fatalf("no frame within %v", testTimeout)
	}
	return rxFrame{}
}

// nextMsg returns the next frame decoded as a text message.
func (c *rawClient) nextMsg() wire.Message {
	c.t.Helper()
	f := c.next()
	if f.binary {
		c.t.Fatalf("got binary frame %s, want text", f)
	}
	var m wire.Message
	if err := c.vsn.DecodeText(f.data, &m); err != nil {
		c.t.Fatalf("decode %s: %v", f, err)
	}
	m.Payload = bytes.Clone(m.Payload)
	return m
}

// expectText reads the next frame and compares it with want after masking phx_refs.
func (c *rawClient) expectText(want string) {
	c.t.Helper()
	f := c.next()
	if got := maskRefs(string(f.data)); f.binary || got != want {
		c.t.Fatalf("frame mismatch\n got: %s\nwant: %s", f, want)
	}
}

// maskRefs replaces the server-generated phx_ref values with "REF" so frames can be compared.
func maskRefs(s string) string {
	for _, key := range []string{`"phx_ref":"`, `"phx_ref_prev":"`} {
		var out strings.Builder
		for {
			i := strings.Index(s, key)
			if i < 0 {
				out.WriteString(s)
				break
			}
			out.WriteString(s[:i+len(key)])
			s = s[i+len(key):]
			j := strings.IndexByte(s, '"')
			out.WriteString("REF")
			s = s[j:]
		}
		s = out.String()
	}
	return s
}

// barrier sends a heartbeat and requires its reply to be the next frame: proof that nothing else
// was queued for this client before it.
func (c *rawClient) barrier() {
	c.t.Helper()
	ref := c.ref()
	c.sendMsg("", ref, "phoenix", "heartbeat", "{}")
	m := c.nextMsg()
	if m.Event != "phx_reply" || m.Topic != "phoenix" || m.Ref.Value != ref {
		c.t.Fatalf("got %s %s ref %s, want the heartbeat reply (ref %s)", m.Topic, m.Event, m.Ref, ref)
	}
}

// join joins topic with the given config JSON and consumes the reply (and presence_state when
// the config enables presence). It returns the join_ref.
func (c *rawClient) join(topic, config string) string {
	presence := strings.Contains(config, `"enabled":true`)
	c.t.Helper()
	ref := c.ref()
	c.sendMsg(ref, ref, topic, "phx_join", `{"config":`+config+`}`)
	m := c.nextMsg()
	if m.Event != "phx_reply" || string(m.Payload) != string(okJoinReply) {
		c.t.Fatalf("join reply: %s %s", m.Event, m.Payload)
	}
	if presence {
		if m := c.nextMsg(); m.Event != "presence_state" {
			c.t.Fatalf("after join got %s, want presence_state", m.Event)
		}
	}
	return ref
}

// waitClosed waits for the server to end the connection and returns the close status.
func (c *rawClient) waitClosed() websocket.StatusCode {
	c.t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return websocket.CloseStatus(<-c.readErr)
			}
		case <-deadline:
			c.t.Fatalf("connection still open after %v", testTimeout)
		}
	}
}

func cfgJSON(self, ack bool, key string) string {
	return fmt.Sprintf(`{"broadcast":{"self":%t,"ack":%t},"presence":{"key":%q,"enabled":true},"postgres_changes":[],"private":false}`, self, ack, key)
}

// waitFor polls cond until it holds (for server-side state that has no frame to wait on).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serveUntilCancelled runs a default server on a loopback listener for the shutdown tests: they
// call cancel themselves and time how long Serve takes to send its result on served.
func serveUntilCancelled(t *testing.T) (srv *Server, ln net.Listener, cancel context.CancelFunc, served <-chan error) {
	t.Helper()
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	result := make(chan error, 1)
	go func() { result <- srv.Serve(ctx, ln) }()
	return srv, ln, cancel, result
}
