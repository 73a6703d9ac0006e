package hub

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire/wiretest"
)

// fuzzRecord appends one frame to a fuzz input: a control byte (bits 0-1: which socket; bit 2:
// binary), a big-endian u16 length, the frame.
func fuzzRecord(dst []byte, sock int, bin bool, frame []byte) []byte {
	ctl := byte(sock & 3)
	if bin {
		ctl |= 4
	}
	dst = append(dst, ctl)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(frame)))
	return append(dst, frame...)
}

var fuzzEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fuzzSockets are the fuzz target's three sockets: two vsn 2.0.0, one vsn 1.0.0.
var fuzzSockets = [3]wire.Version{wire.V2, wire.V1, wire.V2}

// FuzzHandleFrames drives the server's message handling (rate limit, decode, join, leave,
// presence, broadcast fan-out) for three sockets in one process, without network, and checks that
// it never panics, that everything it sends decodes with the recipient's serializer, and that
// rooms are released when the sockets go.
func FuzzHandleFrames(f *testing.F) {
	for _, name := range []string{wiretest.SessionV2, wiretest.SessionV1} {
		sock := 0
		if name == wiretest.SessionV1 {
			sock = 1
		}
		var in []byte
		for _, fr := range wiretest.MustLoad(name).Sent(wiretest.ClientToServer) {
			in = fuzzRecord(in, sock, fr.Binary, fr.Data)
		}
		f.Add(in)
	}
	var room []byte
	room = fuzzRecord(room, 0, false, []byte(`["1","1","realtime:R","phx_join",{"config":{"broadcast":{"self":true,"ack":true},"presence":{"key":"a","enabled":true}}}]`))
	room = fuzzRecord(room, 1, false, []byte(`{"topic":"realtime:R","event":"phx_join","payload":{"config":{"presence":{"key":"b","enabled":true}}},"ref":"1","join_ref":"1"}`))
	room = fuzzRecord(room, 2, false, []byte(`["1","1","realtime:R","phx_join",{"config":{"presence":{"key":"","enabled":true}}}]`))
	room = fuzzRecord(room, 0, false, []byte(`["1","2","realtime:R","presence",{"type":"presence","event":"track","payload":{"name":"A"}}]`))
	room = fuzzRecord(room, 1, false, []byte(`{"topic":"realtime:R","event":"presence","payload":{"type":"presence","event":"track","payload":{"name":"B"}},"ref":"2","join_ref":"1"}`))
	room = fuzzRecord(room, 2, true, []byte("\x03\x01\x01\x0a\x01\x00\x01"+"13realtime:Re"+`{"x":1}`))
	room = fuzzRecord(room, 2, true, []byte("\x03\x01\x01\x0a\x01\x00\x00"+"14realtime:Re"+"\x00\xff"))
	room = fuzzRecord(room, 1, false, []byte(`{"topic":"realtime:R","event":"broadcast","payload":{"type":"broadcast","event":"e","payload":{}},"ref":"3","join_ref":"1"}`))
	room = fuzzRecord(room, 0, false, []byte(`["1","5","realtime:R","presence",{"type":"presence","event":"untrack"}]`))
	room = fuzzRecord(room, 0, false, []byte(`["1","6","realtime:R","phx_leave",{}]`))
	f.Add(room)
	// Every refusal and error path, so that none is first reached (cold caches) while fuzzing.
	var bad []byte
	for _, fr := range []string{
		`["1","1","realtime:R","phx_join",{"config":{"broadcast":{"self":"maybe"}}}]`,
		`["1","1","realtime:R","phx_join",[1]]`,
		`["1","1","realtime:","phx_join",{}]`,
		`["1","1","x:R","phx_join",{}]`,
		`["1","1","realtime:R","phx_join",{"config":{"postgres_changes":[{}]}}]`,
		`["1","1","realtime:R","phx_join",{"config":{"presence":{"key":"k","enabled":"true"}}}]`,
		`["1","1","realtime:R","phx_join",{}]`,
		`["2","2","realtime:S","phx_join",{}]`,
		`["3","3","realtime:T","phx_join",{}]`,
		`["4","4","realtime:U","phx_join",{}]`,
		`["1","5","realtime:R","presence",{"type":"presence","event":"track","payload":[1]}]`,
		`["1","5","realtime:R","presence",{"type":"presence","event":"jump"}]`,
		`["1","5","realtime:R","presence",7]`,
		`["1","5","realtime:R","presence",{"event":"track","payload":{"x":"` + strings.Repeat("y", 300) + `"}}]`,
		`["1","6","realtime:R","broadcast",[]]`,
		`["1","6","realtime:NOPE","broadcast",{}]`,
		`["1","6","realtime:R","access_token",{"access_token":"t"}]`,
		`["1","6","realtime:R","other",{}]`,
		`[null,"7","phoenix","heartbeat",{}]`,
		`garbage`,
	} {
		bad = fuzzRecord(bad, 0, false, []byte(fr))
	}
	bad = fuzzRecord(bad, 0, true, []byte{3, 1, 1, 12, 1, 0, 1, '1', '1', 'r', 'e', 'a', 'l', 't', 'i', 'm', 'e', ':', 'N', 'O', 'P', 'E'})
	bad = fuzzRecord(bad, 1, true, []byte{3})
	bad = fuzzRecord(bad, 0, true, []byte{4, 1, 1, 0, 1, 'x', 'y', '1'})
	for i := 0; i < 60; i++ { // past the rate limit
		bad = fuzzRecord(bad, 2, false, []byte(`["1","1","realtime:R","phx_join",{}]`))
	}
	f.Add(bad)

	f.Fuzz(func(t *testing.T, in []byte) {
		// A fixed clock keeps each input's coverage deterministic (the fuzzer cannot minimise an
		// input whose rate-limit window sometimes rolls over mid-run).
		s, err := New(Config{MaxMessagesPerSecond: 50, MaxClientsPerRoom: 2, MaxRooms: 4, MaxChannelsPerClient: 3,
			MaxPresenceBytes: 256, Now: func() time.Time { return fuzzEpoch }})
		if err != nil {
			t.Fatal(err)
		}
		var conns [3]*conn
		for i, v := range fuzzSockets {
			conns[i] = socketlessConn(s, v)
		}
		for len(in) >= 3 {
			ctl, n := in[0], int(binary.BigEndian.Uint16(in[1:3]))
			in = in[3:]
			if n > len(in) {
				n = len(in)
			}
			frame := in[:n]
			in = in[n:]
			c := conns[int(ctl&3)%len(conns)]
			typ := websocket.MessageText
			if ctl&4 != 0 {
				typ = websocket.MessageBinary
			}
			if !c.ending() {
				c.receive(typ, frame)
			}
			for _, c := range conns {
				checkQueued(t, c)
			}
		}
		for _, c := range conns {
			c.leaveAll()
			checkQueued(t, c)
		}
		if len(s.rooms) != 0 {
			t.Fatalf("%d rooms left after every socket left", len(s.rooms))
		}
	})
}

// checkQueued drains c's queue and requires every frame to decode with c's serializer.
func checkQueued(t *testing.T, c *conn) {
	t.Helper()
	for {
		select {
		case f := <-c.out:
			checkFrame(t, c, f)
			f.release()
		default:
			return
		}
	}
}

func checkFrame(t *testing.T, c *conn, f *frame) {
	t.Helper()
	if f.binary {
		var b wire.UserBroadcast
		if c.vsn != wire.V2 {
			t.Fatalf("binary frame queued for a vsn %s socket", c.vsn)
		}
		if err := wire.DecodeBinary(f.data, &b); err != nil || b.Kind != wire.KindUserBroadcast {
			t.Fatalf("server sent an undecodable binary frame %x: %v", f.data, err)
		}
		return
	}
	var m wire.Message
	if err := c.vsn.DecodeText(f.data, &m); err != nil {
		t.Fatalf("server sent an undecodable frame %s: %v", f.data, err)
	}
	if !json.Valid(m.Payload) {
		t.Fatalf("server sent invalid JSON payload %s", f.data)
	}
}
