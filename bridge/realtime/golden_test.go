package realtime_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire/wiretest"
)

// shape is a frame with refs, tokens and timestamps abstracted away.
type shape struct {
	Binary           bool
	Kind             wire.Kind
	JoinRef, Ref     bool // present (non-null)
	Topic, Event     string
	Encoding         wire.Encoding
	Metadata         string
	Payload          any
	RawPayloadBinary string
}

// normalize replaces values that legitimately differ (tokens, client version, timestamps).
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			switch k {
			case "access_token":
				out[k] = "<token>"
			case "version":
				out[k] = "<version>"
			case "joinedAt":
				out[k] = "<time>"
			default:
				out[k] = normalize(val)
			}
		}
		return out
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	}
	return v
}

func shapeOf(t *testing.T, v wire.Version, binary bool, data []byte) shape {
	t.Helper()
	var payload []byte
	var sh shape
	if binary {
		var b wire.UserBroadcast
		if err := wire.DecodeBinary(data, &b); err != nil {
			t.Fatalf("decode %x: %v", data, err)
		}
		sh = shape{Binary: true, Kind: b.Kind, JoinRef: b.JoinRef.Valid, Ref: b.Ref.Valid, Topic: b.Topic, Event: b.Event,
			Encoding: b.Encoding, Metadata: string(b.Metadata)}
		payload = b.Payload
	} else {
		var m wire.Message
		if err := v.DecodeText(data, &m); err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		sh = shape{JoinRef: m.JoinRef.Valid, Ref: m.Ref.Valid, Topic: m.Topic, Event: m.Event}
		payload = m.Payload
	}
	var p any
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	sh.Payload = normalize(p)
	return sh
}

// TestGoldenFrames runs the session the supabase-js frames were recorded in (join, track, three
// broadcasts, heartbeat, token refresh, untrack, leave) and checks that every frame the Go client
// sends matches the recorded supabase-js frame, apart from refs, tokens, versions and timestamps.
func TestGoldenFrames(t *testing.T) {
	for _, tc := range []struct {
		name string
		vsn  string
	}{{wiretest.SessionV2, "2.0.0"}, {wiretest.SessionV1, "1.0.0"}} {
		t.Run(tc.vsn, func(t *testing.T) {
			version, _ := wire.ParseVersion(tc.vsn)
			srv := newFakeServer(t)
			h := newHarness(t, srv, realtime.Config{Vsn: tc.vsn, BroadcastSelf: true, BroadcastAck: true,
				HeartbeatInterval: 500 * time.Millisecond})
			ctx := context.Background()
			meta := json.RawMessage(`{"name":"LED Bridge","isHost":false,"joinedAt":"2026-01-01T00:00:00.000Z"}`)
			if err := h.c.Track(ctx, meta); err != nil { // before Run: tracked on join
				t.Fatal(err)
			}
			h.run()
			h.waitFor("own presence join", 5*time.Second, func() bool {
				for _, e := range h.events {
					if e.Kind == realtime.EventPresenceJoin && e.Key == "led-bridge-1" {
						return true
					}
				}
				return false
			})
			for _, b := range []struct{ event, payload string }{
				{"webrtc-signal", `{"type":"offer","targetPeerId":"peer-42","data":{"sdp":"v=0...","type":"offer"}}`},
				{"tempo-change", `{"tempo":128}`},
				{"led-update", `{"colors":["#ff0000","#00ff00"]}`},
			} {
				if err := h.c.Broadcast(ctx, b.event, json.RawMessage(b.payload)); err != nil {
					t.Fatalf("broadcast %s: %v", b.event, err)
				}
			}
			srv.waitFor("a heartbeat", 5*time.Second, func() bool { return srv.countLocked("heartbeat") > 0 })
			h.c.SetAccessToken(userToken)
			srv.waitFor("access_token", 5*time.Second, func() bool { return srv.countLocked("access_token") > 0 })
			if err := h.c.Untrack(ctx); err != nil {
				t.Fatal(err)
			}
			h.stop()
			srv.waitFor("phx_leave", 5*time.Second, func() bool { return srv.countLocked("phx_leave") > 0 })

			// The recorded client frames, heartbeats set apart.
			var want, wantHB []shape
			for _, f := range wiretest.MustLoad(tc.name).Sent(wiretest.ClientToServer) {
				sh := shapeOf(t, version, f.Binary, f.Data)
				if sh.Event == "heartbeat" {
					wantHB = append(wantHB, sh)
				} else {
					want = append(want, sh)
				}
			}
			srv.mu.Lock()
			frames := append([]recvFrame(nil), srv.frames...)
			srv.mu.Unlock()
			var got []shape
			var joinRef string
			for _, f := range frames {
				sh := shapeOf(t, version, f.binary, f.data)
				if sh.Event == "heartbeat" {
					if !reflect.DeepEqual(sh, wantHB[0]) {
						t.Errorf("heartbeat\n got %+v\nwant %+v", sh, wantHB[0])
					}
					continue
				}
				got = append(got, sh)
				// Refs: the join's join_ref is its ref; every later channel push carries it.
				jr, ref := f.msg.JoinRef, f.msg.Ref
				if f.binary {
					jr, ref = f.bin.JoinRef, f.bin.Ref
				}
				if sh.Event == "phx_join" {
					joinRef = ref.Value
				}
				if !ref.Valid || jr.Value != joinRef {
					t.Errorf("%s: join_ref %v ref %v, want join_ref %s", sh.Event, jr, ref, joinRef)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("client sent %d non-heartbeat frames, recording has %d:\n%s", len(got), len(want), srv.dump())
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("frame %d (%s)\n got %+v\nwant %+v", i, want[i].Event, got[i], want[i])
				}
			}
			// Our own broadcasts came back (self) as kind-4 binary / JSON text and were delivered.
			if n := len(h.eventsOf(realtime.EventBroadcast)); n != 3 {
				t.Errorf("received %d self broadcasts, want 3", n)
			}
		})
	}
}

// TestGoldenDefaultJoin: with ledbridge's defaults (PROTOCOL.md §1: self false, ack false) the join
// matches supabase-js's default join, recorded in join-error-rejoin.log.
func TestGoldenDefaultJoin(t *testing.T) {
	var want shape
	found := false
	for _, f := range wiretest.MustLoad(wiretest.JoinErrorRejoin).Sent(wiretest.ClientToServer) {
		sh := shapeOf(t, wire.V2, f.Binary, f.Data)
		if m, ok := sh.Payload.(map[string]any); ok && m["access_token"] != nil {
			want, found = sh, true
			break
		}
	}
	if !found {
		t.Fatal("no join with access_token in the recording")
	}
	srv := newFakeServer(t)
	h := startClient(t, srv, realtime.Config{})
	h.waitState(realtime.StateJoined, 5*time.Second)
	srv.mu.Lock()
	join := srv.framesLocked("phx_join")[0]
	srv.mu.Unlock()
	if got := shapeOf(t, wire.V2, false, join.data); !reflect.DeepEqual(got, want) {
		t.Errorf("join\n got %+v\nwant %+v", got, want)
	}
	var p struct {
		AccessToken string `json:"access_token"`
		Version     string `json:"version"`
	}
	_ = json.Unmarshal(join.msg.Payload, &p)
	if p.AccessToken != anonKey || p.Version != realtime.DefaultClientVersion {
		t.Errorf("join access_token/version = %q/%q, want the anon key and %q", p.AccessToken, p.Version, realtime.DefaultClientVersion)
	}
	if q := srv.lastConn().query; q != "apikey="+anonKey+"&vsn=2.0.0" {
		t.Errorf("query %q", q)
	}
}

// TestReceiveRecordedBroadcasts replays the server's recorded broadcast frames (binary kind 4 on
// vsn 2.0.0, JSON text on vsn 1.0.0) to the client and checks what it delivers.
func TestReceiveRecordedBroadcasts(t *testing.T) {
	for _, tc := range []struct{ name, vsn string }{{wiretest.SessionV2, "2.0.0"}, {wiretest.SessionV1, "1.0.0"}} {
		t.Run(tc.vsn, func(t *testing.T) {
			srv := newFakeServer(t)
			h := startClient(t, srv, realtime.Config{Vsn: tc.vsn})
			h.waitState(realtime.StateJoined, 5*time.Second)
			var want []string
			for _, f := range wiretest.MustLoad(tc.name).Sent(wiretest.ServerToClient) {
				version, _ := wire.ParseVersion(tc.vsn)
				sh := shapeOf(t, version, f.Binary, f.Data)
				if !f.Binary && sh.Event != "broadcast" {
					continue
				}
				typ := websocketText
				if f.Binary {
					typ = websocketBinary
				}
				srv.sendToLast(typ, f.Data)
				want = append(want, "x")
			}
			h.waitFor("broadcasts", 5*time.Second, func() bool {
				n := 0
				for _, e := range h.events {
					if e.Kind == realtime.EventBroadcast {
						n++
					}
				}
				return n == len(want)
			})
			got := h.eventsOf(realtime.EventBroadcast)
			if got[1].Event != "tempo-change" || string(got[1].Payload) != `{"tempo":128}` || got[1].Binary {
				t.Errorf("second broadcast = %+v", got[1])
			}
			if got[2].Event != "led-update" || string(got[2].Payload) != `{"colors":["#ff0000","#00ff00"]}` {
				t.Errorf("third broadcast = %+v", got[2])
			}
		})
	}
}
