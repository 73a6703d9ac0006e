package hub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	roomproto "github.com/ledbridge/ledbridge/bridge/room"
)

// These tests cover the per-socket byte rate and the default frame size: every member receives
// what one member sends, so large broadcasts at a modest message rate must not evict the slower
// readers, while the largest legitimate event still fits.

// TestByteRateLimitShutsChannelsDown: past its byte budget (ten seconds of MaxBytesPerSecond:
// 100 000 bytes here) a socket's channels get the system error and phx_close, like the message
// limit, and its frames are dropped until it has earned a second's worth back.
func TestByteRateLimitShutsChannelsDown(t *testing.T) {
	clock := newFakeClock()
	h := startHub(t, Config{MaxFrameBytes: 4096, MaxBytesPerSecond: 10000, Now: clock.Now})
	c := dial(t, h, dialOpts{from: "127.0.0.7"}) // a client of its own: it has all its budgets
	other := dial(t, h, dialOpts{})
	cj := c.join(topic, cfgJSON(false, false, "big")) // about 150 bytes
	other.join(topic, cfgJSON(false, false, "other"))
	blob := strings.Repeat("a", 2900)
	for i := 0; i < 34; i++ { // about 2990 bytes each: the 34th passes 100 000 bytes
		c.sendMsg(cj, "", topic, "broadcast", fmt.Sprintf(`{"type":"broadcast","event":"b%d","payload":{"x":"%s"}}`, i, blob))
	}
	c.expectText(`["` + cj + `",null,"realtime:ABC123","system",{"extension":"system","status":"error","message":"Too many bytes per second","channel":"ABC123"}]`)
	c.expectText(`["` + cj + `","` + cj + `","realtime:ABC123","phx_close",{}]`)
	for i := 0; i < 33; i++ {
		if m := other.nextMsg(); m.Event != "broadcast" || !strings.Contains(string(m.Payload), fmt.Sprintf(`"event":"b%d"`, i)) {
			t.Fatalf("other got %s %.60s, want broadcast b%d", m.Event, m.Payload, i)
		}
	}
	other.barrier() // b33 was dropped
	if st := h.Stats(); st.RateLimited != 1 {
		t.Errorf("RateLimited = %d, want 1", st.RateLimited)
	}
	clock.Advance(time.Second)
	c.barrier() // a second's worth earned back: served again

	// Ten times the rate closes the socket (beyond a second's worth: 100 000 bytes refused).
	for i := 0; i < 60; i++ {
		if err := c.ws.Write(t.Context(), websocket.MessageText, []byte(`[null,"1","phoenix","heartbeat",{"x":"`+blob+`"}]`)); err != nil {
			break // closed: the point
		}
	}
	if code := c.waitClosed(); code != websocket.StatusPolicyViolation {
		t.Fatalf("close status %v, want %v", code, websocket.StatusPolicyViolation)
	}
}

// TestLargeBroadcastsBoundedByDefaultByteRate is the reviewer's amplification case with the
// defaults: a member sending maximum-size broadcasts at once reaches the room with at most its
// burst allowance of them (a quarter of DefaultOutboundQueueBytes, 2 MiB: two seconds of
// DefaultMaxBytesPerSecond), then is shut down.
func TestLargeBroadcastsBoundedByDefaultByteRate(t *testing.T) {
	clock := newFakeClock()
	h := startHub(t, Config{Now: clock.Now})
	sender := dial(t, h, dialOpts{from: "127.0.0.7"}) // a client of its own: it has all its budgets
	reader := dial(t, h, dialOpts{})
	sj := sender.join(topic, cfgJSON(false, false, "sender"))
	reader.join(topic, cfgJSON(false, false, "reader"))
	payload := make([]byte, DefaultMaxFrameBytes-512)
	for i := 0; i < 12; i++ {
		sender.sendPush(sj, "", topic, "bulk", wire.EncodingBinary, payload)
	}
	sender.nextMsg() // system error
	if m := sender.nextMsg(); m.Event != "phx_close" {
		t.Fatalf("sender got %s, want phx_close", m.Event)
	}
	got := len(reader.expectOnlyUTF8UntilBarrier())
	push := wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, JoinRef: wire.RefOf(sj), Topic: topic, Event: "bulk", Payload: payload}
	const joinFrameBytes = 200 // at most: the sender's phx_join counts against its budget too
	if burst := DefaultOutboundQueueBytes / burstQueueShare; h.limits.bytes.capacity != float64(burst) {
		t.Fatalf("byte budget %v, want a burst of %d", h.limits.bytes, burst)
	}
	want := (DefaultOutboundQueueBytes/burstQueueShare - joinFrameBytes) / push.EncodedLen()
	if got != want {
		t.Fatalf("reader got %d maximum-size broadcasts at once, want %d (2 MiB)", got, want)
	}
}

// ledUpdate renders the largest led-update PROTOCOL.md allows (4096 colours) the way
// JSON.stringify does, in {r,g,b} or "#rrggbb" form, with 16-digit seq and 13-digit ts.
func ledUpdate(t *testing.T, hex bool) []byte {
	colors := make([]any, roomproto.MaxLEDColors)
	for i := range colors {
		if hex {
			colors[i] = "#ffffff"
		} else {
			colors[i] = map[string]int{"b": 255, "g": 255, "r": 255}
		}
	}
	b, err := json.Marshal(map[string]any{"colors": colors, "seq": int64(1<<53 - 1), "ts": int64(1764100000000)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := roomproto.DecodeLEDUpdate(b); err != nil {
		t.Fatalf("room refuses the payload: %v", err)
	}
	return b
}

// TestLargestLEDUpdate sends the largest led-update in both colour forms with the default limits,
// on every framing supabase-js uses (kind-3 push, vsn 2.0.0 and 1.0.0 text, REST), and checks it
// arrives whole; it logs the frame sizes quoted in docs/benchmarks/hub.md.
func TestLargestLEDUpdate(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	if DefaultMaxFrameBytes < roomproto.MaxLEDUpdateBytes+2048 {
		t.Fatalf("DefaultMaxFrameBytes %d cannot hold roomproto.MaxLEDUpdateBytes %d and its frame", DefaultMaxFrameBytes, roomproto.MaxLEDUpdateBytes)
	}
	h := startHub(t, Config{})
	v2 := dial(t, h, dialOpts{})
	v1 := dial(t, h, dialOpts{vsn: "1.0.0"})
	v2.join(topic, `{}`)
	v1.join(topic, `{}`)
	senders := 0
	for _, hex := range []bool{false, true} {
		payload := ledUpdate(t, hex)
		body := `{"type":"broadcast","event":"led-update","payload":` + string(payload) + `}`
		var sizes []string
		for _, vsn := range []string{"2.0.0 kind 3", "2.0.0 text", "1.0.0 text"} {
			s := dial(t, h, dialOpts{vsn: vsn[:5]})
			sj := s.join(topic, `{}`)
			// The room relays led-update from its host only: each sender claims it with an
			// earlier joinedAt than the last, so that Presence elects it.
			diff := s.track(sj, fmt.Sprintf(`{"name":"Host","isHost":true,"joinedAt":"2026-01-01T00:00:%02d.000Z"}`, 59-senders))
			senders++
			awaitDiff(v2, diff)
			awaitDiff(v1, diff)
			var frame []byte
			if vsn == "2.0.0 kind 3" {
				b := wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, JoinRef: wire.RefOf(sj), Ref: wire.RefOf("123456"), Topic: topic, Event: "led-update", Encoding: wire.EncodingJSON, Payload: payload}
				frame, _ = wire.AppendBinary(nil, &b)
			} else {
				frame, _ = s.vsn.AppendText(nil, &wire.Message{JoinRef: wire.RefOf(sj), Ref: wire.RefOf("123456"), Topic: topic, Event: "broadcast", Payload: []byte(body)})
			}
			sizes = append(sizes, fmt.Sprintf("%s %d bytes", vsn, len(frame)))
			s.sendRaw(vsn == "2.0.0 kind 3", frame)
			f := v2.next()
			if !strings.Contains(string(f.data), string(payload)) {
				t.Fatalf("%s: vsn 2.0.0 member got %d bytes without the payload", vsn, len(f.data))
			}
			if m := v1.nextMsg(); !strings.Contains(string(m.Payload), string(payload)) {
				t.Fatalf("%s: vsn 1.0.0 member got %d bytes without the payload", vsn, len(m.Payload))
			}
		}
		if code, resp := post(t, h, BroadcastAPIPath+"/ABC123/events/led-update", "application/json", string(payload)); code != http.StatusAccepted {
			t.Fatalf("REST: HTTP %d %s", code, resp)
		}
		v2.next()
		v1.next()
		t.Logf("led-update hex=%t: payload %d bytes; frames: %s (limit %d)", hex, len(payload), strings.Join(sizes, ", "), DefaultMaxFrameBytes)
	}
	if st := h.Stats(); st.RateLimited != 0 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}
