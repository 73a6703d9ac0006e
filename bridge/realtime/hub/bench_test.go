package hub

import (
	"testing"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// socketlessConn is a conn with no WebSocket behind it: the handler's output stays in its queue.
// The fuzz target and the benchmarks use it to drive message handling without the network.
func socketlessConn(s *Server, vsn wire.Version) *conn {
	return &conn{s: s, vsn: vsn, remote: "test", out: make(chan *frame, 1<<12),
		done: make(chan struct{}), channels: make(map[string]*member)}
}

func drain(c *conn) int {
	n := 0
	for {
		select {
		case f := <-c.out:
			f.release()
			n++
		default:
			return n
		}
	}
}

// trackHost makes the socketless conns[0], joined to topic (as "1"), the room's host: a room
// relays led-update from its host only (relaygate.go). The others' queues are drained.
func trackHost(conns []*conn) {
	frame := []byte(`["1","2","` + topic + `","presence",{"type":"presence","event":"track","payload":{"name":"Host","isHost":true}}]`)
	if conns[0].vsn == wire.V1 {
		frame = []byte(`{"topic":"` + topic + `","event":"presence","payload":{"type":"presence","event":"track","payload":{"name":"Host","isHost":true}},"ref":"2","join_ref":"1"}`)
	}
	conns[0].handleFrame(websocket.MessageText, frame)
	for _, c := range conns {
		drain(c)
	}
}

// benchRoom joins n socketless vsn 2.0.0 members (and one vsn 1.0.0 member if withV1) to topic.
func benchRoom(b *testing.B, n int, withV1 bool) (*Server, []*conn) {
	s, err := New(Config{MaxMessagesPerSecond: -1})
	if err != nil {
		b.Fatal(err)
	}
	var conns []*conn
	for i := 0; i < n; i++ {
		conns = append(conns, socketlessConn(s, wire.V2))
	}
	if withV1 {
		conns = append(conns, socketlessConn(s, wire.V1))
	}
	for _, c := range conns {
		frame := []byte(`["1","1","` + topic + `","phx_join",{"config":{"broadcast":{"self":false,"ack":false}}}]`)
		if c.vsn == wire.V1 {
			frame = []byte(`{"topic":"` + topic + `","event":"phx_join","payload":{"config":{}},"ref":"1","join_ref":"1"}`)
		}
		c.handleFrame(websocket.MessageText, frame)
		drain(c)
	}
	trackHost(conns)
	return s, conns
}

// BenchmarkFanoutKind3 measures one kind-3 push (supabase-js's broadcast on vsn 2.0.0) handled
// and queued as kind 4 for 3 other members: the server's per-message hot path, without sockets.
func BenchmarkFanoutKind3(b *testing.B) {
	_, conns := benchRoom(b, 4, false)
	push, _ := wire.AppendBinary(nil, &wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, JoinRef: wire.RefOf("1"),
		Topic: topic, Event: "led-update", Encoding: wire.EncodingJSON, Payload: []byte(`{"colors":["#ff0000","#00ff00"],"seq":1}`)})
	b.ReportAllocs()
	for b.Loop() {
		conns[0].handleFrame(websocket.MessageBinary, push)
		for _, c := range conns[1:] {
			drain(c)
		}
	}
}

// BenchmarkFanoutText measures a JSON text broadcast fanned out to 3 vsn 2.0.0 members and one
// vsn 1.0.0 member (two encodings).
func BenchmarkFanoutText(b *testing.B) {
	_, conns := benchRoom(b, 4, true)
	frame := []byte(`["1","2","` + topic + `","broadcast",{"type":"broadcast","event":"tempo-change","payload":{"tempo":128}}]`)
	b.ReportAllocs()
	for b.Loop() {
		conns[0].handleFrame(websocket.MessageText, frame)
		for _, c := range conns[1:] {
			drain(c)
		}
	}
}

// TestFanoutAllocatesNothing guards the broadcast hot path: once warm, handling a broadcast
// (binary kind 3 or JSON text) and queueing it for vsn 2.0.0 and vsn 1.0.0 members, including the
// kind-3 → JSON conversion and the ack reply, allocates nothing.
func TestFanoutAllocatesNothing(t *testing.T) {
	if raceEnabled {
		// encoding/json (json.Valid, used by package wire) keeps its scanners in a sync.Pool, which
		// the race detector empties at random.
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	s, err := New(Config{MaxMessagesPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	conns := []*conn{socketlessConn(s, wire.V2), socketlessConn(s, wire.V2), socketlessConn(s, wire.V1), socketlessConn(s, wire.V2)}
	for i, c := range conns {
		frame := []byte(`["1","1","` + topic + `","phx_join",{"config":{"broadcast":{"self":false,"ack":true}}}]`)
		if c.vsn == wire.V1 {
			frame = []byte(`{"topic":"` + topic + `","event":"phx_join","payload":{"config":{"broadcast":{"ack":true}}},"ref":"1","join_ref":"1"}`)
		}
		c.handleFrame(websocket.MessageText, frame)
		if n := drain(c); n != 1 {
			t.Fatalf("conn %d: %d frames after join, want the reply", i, n)
		}
	}
	trackHost(conns) // the host's led-update frames are steady traffic: scanned, not decoded
	push, _ := wire.AppendBinary(nil, &wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, JoinRef: wire.RefOf("1"), Ref: wire.RefOf("7"),
		Topic: topic, Event: "led-update", Encoding: wire.EncodingJSON, Payload: []byte(`{"colors":["#ff0000"],"seq":1}`)})
	text := []byte(`["1","8","` + topic + `","broadcast",{"type":"broadcast","event":"tempo-change","payload":{"tempo":128}}]`)
	textLED := []byte(`["1","9","` + topic + `","broadcast",{"type":"broadcast","event":"led-update","payload":{"colors":["#ff0000"],"seq":1}}]`)
	for _, tc := range []struct {
		name string
		typ  websocket.MessageType
		data []byte
	}{{"kind3", websocket.MessageBinary, push}, {"text", websocket.MessageText, text}, {"text led-update", websocket.MessageText, textLED}} {
		run := func() {
			conns[0].handleFrame(tc.typ, tc.data)
			if n := drain(conns[0]); n != 1 {
				t.Fatalf("%s: sender got %d frames, want the ack", tc.name, n)
			}
			for _, c := range conns[1:] {
				if n := drain(c); n != 1 {
					t.Fatalf("%s: member got %d frames, want 1", tc.name, n)
				}
			}
		}
		run() // warm the pool
		if allocs := testing.AllocsPerRun(200, run); allocs != 0 {
			t.Errorf("%s: %.1f allocations per broadcast, want 0", tc.name, allocs)
		}
	}
}
