package hub

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// These tests cover invalid UTF-8, which browsers answer by failing their own socket (RFC 6455
// §8.1): one hostile frame relayed by the hub would knock every browser out of the room.

// expectOnlyUTF8UntilBarrier reads frames until the heartbeat barrier and fails on any text frame that is not
// valid UTF-8: a browser would have failed its socket on it (RFC 6455 §8.1).
func (c *rawClient) expectOnlyUTF8UntilBarrier() []rxFrame {
	c.t.Helper()
	ref := c.ref()
	c.sendMsg("", ref, "phoenix", "heartbeat", "{}")
	var got []rxFrame
	for {
		f := c.next()
		if !f.binary && !utf8.Valid(f.data) {
			c.t.Fatalf("text frame with invalid UTF-8 reached a client: %q", f.data)
		}
		var m wire.Message
		if !f.binary && c.vsn.DecodeText(f.data, &m) == nil && m.Topic == "phoenix" && m.Event == "phx_reply" && m.Ref.Value == ref {
			return got
		}
		got = append(got, f)
	}
}

func TestInvalidUTF8TextFrameClosesSocket(t *testing.T) {
	for _, vsn := range []string{"2.0.0", "1.0.0"} {
		t.Run(vsn, func(t *testing.T) {
			h := startHub(t, Config{})
			v2 := dial(t, h, dialOpts{})
			v1 := dial(t, h, dialOpts{vsn: "1.0.0"})
			v2.join(topic, cfgJSON(false, false, "v2"))
			v1.join(topic, cfgJSON(false, false, "v1"))

			// A presence meta and a broadcast, each carrying byte 0xFF, which json.Valid accepts.
			attacks := []string{
				`{"type":"presence","event":"track","payload":{"name":"` + "\xff" + `","isHost":true}}`,
				`{"type":"broadcast","event":"tempo-change","payload":{"tempo":"` + "\xfe\xff" + `"}}`,
			}
			for i, attack := range attacks {
				evil := dial(t, h, dialOpts{vsn: vsn})
				ej := evil.join(topic, cfgJSON(false, true, fmt.Sprintf("evil-%d", i)))
				var frame string
				event := "presence"
				if i == 1 {
					event = "broadcast"
				}
				if vsn == "2.0.0" {
					frame = `["` + ej + `","9","` + topic + `","` + event + `",` + attack + `]`
				} else {
					frame = `{"topic":"` + topic + `","event":"` + event + `","payload":` + attack + `,"ref":"9","join_ref":"` + ej + `"}`
				}
				evil.sendRaw(false, []byte(frame))
				if code := evil.waitClosed(); code != websocket.StatusInvalidFramePayloadData {
					t.Fatalf("attacker's socket closed with %v, want %v (1007)", code, websocket.StatusInvalidFramePayloadData)
				}
			}
			// Both victims are still connected and received nothing but valid UTF-8.
			for _, c := range []*rawClient{v2, v1} {
				for _, f := range c.expectOnlyUTF8UntilBarrier() {
					if strings.Contains(string(f.data), "tempo-change") {
						t.Errorf("the broadcast reached a member: %s", f)
					}
				}
			}
			// A late joiner's presence_state holds no tracked meta from the attackers.
			late := dial(t, h, dialOpts{})
			late.sendMsg("1", "1", topic, "phx_join", `{"config":`+cfgJSON(false, false, "late")+`}`)
			late.nextMsg()
			late.expectText(`["1",null,"realtime:ABC123","presence_state",{}]`)
			if st := h.Stats(); st.Malformed != uint64(len(attacks)) {
				t.Errorf("Malformed = %d, want %d", st.Malformed, len(attacks))
			}
		})
	}
}

// TestKind3InvalidUTF8PayloadDropped: a kind-3 push declaring a JSON payload that is not UTF-8 is
// dropped and counted, never converted into a vsn 1.0.0 text frame; the sender stays connected
// (binary frames carry arbitrary bytes) and its next valid push is delivered.
func TestKind3InvalidUTF8PayloadDropped(t *testing.T) {
	h := startHub(t, Config{})
	sender := dial(t, h, dialOpts{})
	v2 := dial(t, h, dialOpts{})
	v1 := dial(t, h, dialOpts{vsn: "1.0.0"})
	sj := sender.join(topic, cfgJSON(false, false, "s"))
	v2.join(topic, cfgJSON(false, false, "v2"))
	v1.join(topic, cfgJSON(false, false, "v1"))
	trackMusician(sender, sj, v2, v1) // tempo-change is relayed from members that track Presence

	// Built by hand: wire.AppendBinary refuses to encode it.
	payload := "{\"tempo\":\"\xff\"}"
	bad := []byte{3, byte(len(sj)), 1, byte(len(topic)), byte(len("tempo-change")), 0, 1}
	bad = append(bad, sj...)
	bad = append(bad, '7')
	bad = append(bad, topic...)
	bad = append(bad, "tempo-change"...)
	bad = append(bad, payload...)
	sender.sendRaw(true, bad)
	sender.sendPush(sj, "", topic, "tempo-change", wire.EncodingJSON, []byte(`{"tempo":99}`))
	if f := v2.next(); !f.binary || !strings.HasSuffix(string(f.data), `{"tempo":99}`) {
		t.Fatalf("v2 got %s, want only the valid push", f)
	}
	v1.expectText(`{"topic":"realtime:ABC123","event":"broadcast","payload":{"type":"broadcast","event":"tempo-change","payload":{"tempo":99}},"ref":null}`)
	for _, c := range []*rawClient{sender, v2, v1} {
		if got := c.expectOnlyUTF8UntilBarrier(); len(got) != 0 {
			t.Errorf("unexpected frames: %v", got)
		}
	}
	if st := h.Stats(); st.Malformed != 1 {
		t.Errorf("Malformed = %d, want 1", st.Malformed)
	}
}

// post sends a REST broadcast and returns the status and the body.
func post(t *testing.T, h *testHub, path, ctype, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(h.httpURL()+path, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRESTInvalidUTF8Refused(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	h := startHub(t, Config{})
	v2 := dial(t, h, dialOpts{})
	v1 := dial(t, h, dialOpts{vsn: "1.0.0"})
	v2.join(topic, `{}`)
	v1.join(topic, `{}`)
	for _, tc := range []struct{ path, ctype, body string }{
		{BroadcastAPIPath, "application/json", "{\"messages\":[{\"topic\":\"ABC123\",\"event\":\"e\",\"payload\":{\"a\":\"\xff\"}}]}"},
		{BroadcastAPIPath + "/ABC123/events/e", "application/json", "{\"a\":\"\xff\"}"},
		{BroadcastAPIPath + "/ABC123/events/%FF", "application/json", `{"a":1}`},
	} {
		code, body := post(t, h, tc.path, tc.ctype, tc.body)
		if code != http.StatusBadRequest || !strings.Contains(body, "UTF-8") {
			t.Errorf("POST %s %q: HTTP %d %s, want 400 naming UTF-8", tc.path, tc.body, code, body)
		}
	}
	// An application/octet-stream body is opaque: it goes to vsn 2.0.0 sockets as binary only.
	if code, body := post(t, h, BroadcastAPIPath+"/ABC123/events/raw", "application/octet-stream", "\xff\x00"); code != http.StatusAccepted {
		t.Fatalf("binary body: HTTP %d %s", code, body)
	}
	if f := v2.next(); !f.binary || !strings.HasSuffix(string(f.data), "raw\xff\x00") {
		t.Fatalf("v2 got %s, want the binary broadcast", f)
	}
	for _, c := range []*rawClient{v2, v1} {
		if got := c.expectOnlyUTF8UntilBarrier(); len(got) != 0 {
			t.Errorf("unexpected frames: %v", got)
		}
	}
	if st := h.Stats(); st.RESTRefused != 3 {
		t.Errorf("RESTRefused = %d, want 3", st.RESTRefused)
	}
}

// TestInteropInvalidUTF8 is the reviewer's case with real supabase-js (whose WebSocket, like a
// browser's, fails the connection on a text frame that is not UTF-8): a hostile member's presence
// meta and broadcast carrying byte 0xFF must not disturb it. The victim stays subscribed, with no
// CHANNEL_ERROR, and still receives the room's next broadcast.
func TestInteropInvalidUTF8(t *testing.T) {
	nodeCommand(t)
	for _, vsn := range []string{"2.0.0", "1.0.0"} {
		t.Run(vsn, func(t *testing.T) {
			h := startHub(t, Config{})
			victim := startJSPeer(t, h, vsn, "victim")
			victim.do(map[string]any{"op": "track", "payload": map[string]any{"name": "Victim", "isHost": true}})
			victim.waitSync(map[string]string{"victim": "Victim"})
			for _, attack := range []string{
				`{"type":"presence","event":"track","payload":{"name":"` + "\xff" + `","isHost":true}}`,
				`{"type":"broadcast","event":"tempo-change","payload":{"tempo":"` + "\xff" + `"}}`,
			} {
				evil := dial(t, h, dialOpts{})
				ej := evil.join(topic, cfgJSON(false, false, "evil"))
				event := "presence"
				if strings.Contains(attack, `"broadcast"`) {
					event = "broadcast"
				}
				evil.sendRaw(false, []byte(`["`+ej+`","9","`+topic+`","`+event+`",`+attack+`]`))
				// The server handles the frame before it sees the socket end: once the attacker
				// is gone, whatever it caused has been queued to the victim. (The 1007 close is
				// checked by TestInvalidUTF8TextFrameClosesSocket.)
				evil.ws.CloseNow()
				waitFor(t, "the attacker's socket to go", func() bool { return h.Stats().Connections == 1 })
			}
			good := dial(t, h, dialOpts{})
			gj := good.join(topic, `{}`)
			good.track(gj, `{"name":"Good"}`) // tempo-change is relayed from members that track Presence
			good.sendMsg(gj, "", topic, "broadcast", `{"type":"broadcast","event":"tempo-change","payload":{"tempo":128}}`)
			victim.waitBroadcast("tempo-change", `{"tempo":128}`)
			victim.mu.Lock()
			defer victim.mu.Unlock()
			for _, e := range victim.events {
				if e.Ev == "status" && !e.used {
					t.Errorf("victim's channel changed status: %s", e.raw)
				}
			}
		})
	}
}
