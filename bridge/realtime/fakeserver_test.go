package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// fakeServer is a scripted Realtime server for one client at a time, modelled on the logging server
// the supabase-js frames were recorded against (recordings in wire/wiretest): join replies,
// presence_state and presence_diff, broadcast echo (self) and acks, heartbeat replies, access_token
// without reply, leave → reply + phx_close. Knobs inject the recorded failures.
type fakeServer struct {
	t    testing.TB
	addr string

	// Knobs, set before the client connects (or under mu).
	mu               sync.Mutex
	joinErrors       int      // answer the next N joins with an error
	joinErrorReason  string   // reason for those
	closeOnJoinError bool     // close the socket after each join error, as the server does after TenantNotFound
	ignoreHeartbeats bool     // never answer heartbeats
	shutdownOnTrack  int      // answer the next N tracks with system error + phx_close
	rejectUpgrades   int      // refuse the next N upgrades with 503
	ignoreJoins      int      // never answer the next N joins
	trackErrors      int      // answer the next N tracks with an error reply
	dropAfterJoin    int      // cut the next N sockets right after their join's presence_state
	beforeState      []string // presence_diff payloads sent between the next ok join reply and its presence_state
	oversizeStates   int      // pad the next N joins' presence_state past MaxFrameSize
	crashOnBinary    bool     // like Realtime before v2.63 (V2 serializer without kind 3): a binary push crashes the socket (close 1011)

	srv      *http.Server
	ln       net.Listener
	handlers sync.WaitGroup

	// Recorded, under mu.
	conns    []*serverConn
	frames   []recvFrame
	changed  chan struct{} // closed and replaced on every recorded change
	metas    map[string]json.RawMessage
	phxRefNo int
}

type recvFrame struct {
	conn   int // index of the connection
	binary bool
	data   []byte
	msg    wire.Message       // text frames
	bin    wire.UserBroadcast // binary frames
}

type serverConn struct {
	ws        *websocket.Conn
	vsn       wire.Version
	query     string
	closeCode websocket.StatusCode
	closeText string
	closed    bool
	self, ack bool
	joinRef   string
	key       string
	writeMu   sync.Mutex
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	s := &fakeServer{t: t, changed: make(chan struct{}), metas: map[string]json.RawMessage{}, joinErrorReason: "InvalidJWTToken: Token has expired 12 seconds ago"}
	s.start("127.0.0.1:0")
	t.Cleanup(s.kill)
	return s
}

func (s *fakeServer) url() string { return "http://" + s.addr }

func (s *fakeServer) start(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatalf("listen %s: %v", addr, err)
	}
	s.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/realtime/v1/websocket", s.handle)
	s.mu.Lock()
	s.ln = ln
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srv := s.srv
	s.mu.Unlock()
	s.handlers.Add(1)
	go func() {
		defer s.handlers.Done()
		_ = srv.Serve(ln)
	}()
}

// kill stops the server like a crash: the listener closes and every socket is cut without a close
// frame.
func (s *fakeServer) kill() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	conns := append([]*serverConn(nil), s.conns...)
	s.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	s.mu.Lock()
	s.metas = map[string]json.RawMessage{} // a restarted server remembers no Presence
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.CloseNow()
	}
	s.handlers.Wait()
}

// restart listens again on the same address.
func (s *fakeServer) restart() { s.start(s.addr) }

func (s *fakeServer) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond (called under mu) holds.
func (s *fakeServer) waitFor(what string, timeout time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			s.t.Fatalf("timed out after %v waiting for %s; frames received:\n%s", timeout, what, s.dump())
		}
	}
}

func (s *fakeServer) dump() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := ""
	for _, f := range s.frames {
		if f.binary {
			out += fmt.Sprintf("  conn %d BINARY %x\n", f.conn, f.data)
		} else {
			out += fmt.Sprintf("  conn %d %s\n", f.conn, f.data)
		}
	}
	return out
}

// framesLocked returns the text frames with the given event (any event if ""), on any connection.
func (s *fakeServer) framesLocked(event string) []recvFrame {
	var out []recvFrame
	for _, f := range s.frames {
		if !f.binary && (event == "" || f.msg.Event == event) {
			out = append(out, f)
		}
	}
	return out
}

func (s *fakeServer) countLocked(event string) int { return len(s.framesLocked(event)) }

func (s *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.rejectUpgrades > 0 {
		s.rejectUpgrades--
		s.mu.Unlock()
		http.Error(w, `{"error":"RealtimeRestarting"}`, http.StatusServiceUnavailable)
		return
	}
	s.mu.Unlock()
	vsn, err := wire.ParseVersion(r.URL.Query().Get("vsn"))
	if err != nil || r.URL.Query().Get("apikey") == "" {
		http.Error(w, `{"error":"API key is missing"}`, http.StatusUnauthorized)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(4 << 20)
	c := &serverConn{ws: ws, vsn: vsn, query: r.URL.RawQuery}
	s.mu.Lock()
	idx := len(s.conns)
	s.conns = append(s.conns, c)
	s.notifyLocked()
	s.mu.Unlock()
	s.handlers.Add(1)
	defer s.handlers.Done()
	ctx := context.Background()
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			s.mu.Lock()
			c.closed = true
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCode, c.closeText = ce.Code, ce.Reason
			}
			s.notifyLocked()
			s.mu.Unlock()
			_ = ws.CloseNow()
			return
		}
		f := recvFrame{conn: idx, binary: typ == websocket.MessageBinary, data: data}
		s.mu.Lock()
		crash := s.crashOnBinary && f.binary && len(data) > 0 && data[0] == byte(wire.KindUserBroadcastPush)
		if crash {
			s.frames = append(s.frames, f)
			s.notifyLocked()
		}
		s.mu.Unlock()
		if crash {
			_ = ws.Close(websocket.StatusInternalError, "")
			s.mu.Lock()
			c.closed = true
			s.notifyLocked()
			s.mu.Unlock()
			return
		}
		if f.binary {
			if err := wire.DecodeBinary(data, &f.bin); err != nil {
				s.t.Errorf("server: client sent a bad binary frame %x: %v", data, err)
				continue
			}
		} else if err := vsn.DecodeText(data, &f.msg); err != nil {
			s.t.Errorf("server: client sent a bad text frame %s: %v", data, err)
			continue
		}
		s.mu.Lock()
		s.frames = append(s.frames, f)
		s.notifyLocked()
		s.mu.Unlock()
		s.respond(c, &f)
	}
}

// send writes a text frame to c in its serializer.
func (s *fakeServer) send(c *serverConn, joinRef, ref wire.Ref, topic, event, payload string) {
	if c.vsn == wire.V1 {
		joinRef = wire.Ref{} // the V1 serializer drops join_ref on server frames
	}
	data, err := c.vsn.AppendText(nil, &wire.Message{JoinRef: joinRef, Ref: ref, Topic: topic, Event: event, Payload: json.RawMessage(payload)})
	if err != nil {
		s.t.Errorf("server: encode: %v", err)
		return
	}
	s.sendRaw(c, websocket.MessageText, data)
}

func (s *fakeServer) sendRaw(c *serverConn, typ websocket.MessageType, data []byte) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.ws.Write(ctx, typ, data)
}

// sendToLast writes a raw frame to the newest connection.
func (s *fakeServer) sendToLast(typ websocket.MessageType, data []byte) {
	s.mu.Lock()
	c := s.conns[len(s.conns)-1]
	s.mu.Unlock()
	s.sendRaw(c, typ, data)
}

func (s *fakeServer) lastConn() *serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastConnLocked()
}

func (s *fakeServer) lastConnLocked() *serverConn { return s.conns[len(s.conns)-1] }

const okEmpty = `{"status":"ok","response":{}}`

func (s *fakeServer) respond(c *serverConn, f *recvFrame) {
	if f.binary {
		b := f.bin
		if c.self {
			b.Kind = wire.KindUserBroadcast
			out, _ := wire.AppendBinary(nil, &b)
			s.sendRaw(c, websocket.MessageBinary, out)
		}
		if c.ack {
			s.send(c, b.JoinRef, b.Ref, b.Topic, "phx_reply", okEmpty)
		}
		return
	}
	m := f.msg
	switch m.Event {
	case "heartbeat":
		s.mu.Lock()
		ignore := s.ignoreHeartbeats
		s.mu.Unlock()
		if !ignore {
			s.send(c, wire.Ref{}, m.Ref, "phoenix", "phx_reply", okEmpty)
		}
	case "phx_join":
		var p struct {
			Config struct {
				Broadcast struct{ Self, Ack bool }
				Presence  struct{ Key string }
			}
		}
		_ = json.Unmarshal(m.Payload, &p)
		s.mu.Lock()
		fail := s.joinErrors > 0
		if fail {
			s.joinErrors--
		}
		reason := s.joinErrorReason
		c.self, c.ack, c.joinRef, c.key = p.Config.Broadcast.Self, p.Config.Broadcast.Ack, m.JoinRef.Value, p.Config.Presence.Key
		state := map[string]any{}
		for k, meta := range s.metas {
			state[k] = map[string]any{"metas": []json.RawMessage{meta}}
		}
		ignore := s.ignoreJoins > 0
		if ignore {
			s.ignoreJoins--
		}
		drop := !ignore && !fail && s.dropAfterJoin > 0
		if drop {
			s.dropAfterJoin--
		}
		var early []string
		if !ignore && !fail {
			early, s.beforeState = s.beforeState, nil
		}
		oversize := !ignore && !fail && s.oversizeStates > 0
		if oversize {
			s.oversizeStates--
			state["padding"] = map[string]any{"metas": []map[string]string{{"phx_ref": "pad", "pad": strings.Repeat("x", 1<<20)}}}
		}
		s.mu.Unlock()
		if ignore {
			return
		}
		if fail {
			rb, _ := json.Marshal(map[string]any{"status": "error", "response": map[string]string{"reason": reason}})
			s.send(c, m.JoinRef, m.Ref, m.Topic, "phx_reply", string(rb))
			s.mu.Lock()
			disconnect := s.closeOnJoinError
			s.mu.Unlock()
			if disconnect {
				_ = c.ws.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
		s.send(c, m.JoinRef, m.Ref, m.Topic, "phx_reply", `{"status":"ok","response":{"postgres_changes":[]}}`)
		for _, d := range early {
			s.send(c, wire.Ref{}, wire.Ref{}, m.Topic, "presence_diff", d)
		}
		sb, _ := json.Marshal(state)
		s.send(c, m.JoinRef, wire.Ref{}, m.Topic, "presence_state", string(sb))
		if drop {
			_ = c.ws.CloseNow()
		}
	case "presence":
		var p struct {
			Event   string          `json:"event"`
			Payload json.RawMessage `json:"payload"`
		}
		_ = json.Unmarshal(m.Payload, &p)
		s.mu.Lock()
		shutdown := s.shutdownOnTrack > 0 && p.Event == "track"
		if shutdown {
			s.shutdownOnTrack--
		}
		trackErr := !shutdown && s.trackErrors > 0 && p.Event == "track"
		if trackErr {
			s.trackErrors--
		}
		s.mu.Unlock()
		if trackErr {
			s.send(c, m.JoinRef, m.Ref, m.Topic, "phx_reply", `{"status":"error","response":{"reason":"Unauthorized: You do not have permissions to write to this Channel topic: ABC123"}}`)
			return
		}
		if shutdown {
			s.send(c, m.JoinRef, wire.Ref{}, m.Topic, "system", `{"extension":"system","status":"error","message":"Client presence rate limit exceeded","channel":"ABC123"}`)
			s.send(c, m.JoinRef, m.JoinRef, m.Topic, "phx_close", `{}`)
			return
		}
		s.send(c, m.JoinRef, m.Ref, m.Topic, "phx_reply", okEmpty)
		s.mu.Lock()
		old, had := s.metas[c.key]
		var diff map[string]any
		if p.Event == "track" {
			s.phxRefNo++
			var meta map[string]any
			_ = json.Unmarshal(p.Payload, &meta)
			meta["phx_ref"] = fmt.Sprintf("ref-%d", s.phxRefNo)
			if had {
				var o map[string]any
				_ = json.Unmarshal(old, &o)
				meta["phx_ref_prev"] = o["phx_ref"]
			}
			raw, _ := json.Marshal(meta)
			s.metas[c.key] = raw
			diff = map[string]any{"joins": map[string]any{c.key: map[string]any{"metas": []json.RawMessage{raw}}}, "leaves": map[string]any{}}
			if had {
				diff["leaves"] = map[string]any{c.key: map[string]any{"metas": []json.RawMessage{old}}}
			}
		} else {
			delete(s.metas, c.key)
			diff = map[string]any{"joins": map[string]any{}, "leaves": map[string]any{}}
			if had {
				diff["leaves"] = map[string]any{c.key: map[string]any{"metas": []json.RawMessage{old}}}
			}
		}
		s.mu.Unlock()
		db, _ := json.Marshal(diff)
		s.send(c, wire.Ref{}, wire.Ref{}, m.Topic, "presence_diff", string(db))
	case "broadcast":
		if c.ack {
			s.send(c, m.JoinRef, m.Ref, m.Topic, "phx_reply", okEmpty)
		}
		if c.self {
			s.send(c, wire.Ref{}, wire.Ref{}, m.Topic, "broadcast", string(m.Payload))
		}
	case "phx_leave":
		s.send(c, m.JoinRef, m.Ref, m.Topic, "phx_reply", okEmpty)
		s.send(c, m.JoinRef, m.JoinRef, m.Topic, "phx_close", `{}`)
	}
}

const (
	websocketText   = websocket.MessageText
	websocketBinary = websocket.MessageBinary
)
