package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	roomproto "github.com/ledbridge/ledbridge/bridge/room"
)

// TestBroadcastNamingAnotherSenderDropped: a member's webrtc-signal, state-request and
// state-response are relayed only when their fromPeerId is the member's own presence key (its
// peerId), however the JSON is spelled; other events, and its own signals, are relayed as before.
func TestBroadcastNamingAnotherSenderDropped(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	h := startHub(t, Config{})
	bridge := dial(t, h, dialOpts{})
	bridge.join(topic, cfgJSON(false, false, "bridge-peer"))
	alice := dial(t, h, dialOpts{})
	alice.join(topic, cfgJSON(false, false, "alice-peer"))
	mallory := dial(t, h, dialOpts{})
	mj := mallory.join(topic, cfgJSON(false, true, "mallory-peer")) // ack: each push is answered
	trackAsHost(mallory, mj, bridge, alice)                         // so that its led-update and tempo-change pass

	text := func(event, payload string) string {
		return `{"type":"broadcast","event":"` + event + `","payload":` + payload + `}`
	}
	forged := []string{
		text("webrtc-signal", `{"type":"offer","fromPeerId":"alice-peer","targetPeerId":"bridge-peer","data":{"type":"offer","sdp":"v=0"}}`),
		text("state-response", `{"fromPeerId":"alice-peer","targetPeerId":"bridge-peer","state":{"tempo":300,"isPlaying":true}}`),
		text("state-request", `{"fromPeerId":"alice-peer"}`),
		// Spellings a receiver's JSON.parse reads as alice's signal:
		text(`webrtc\u002dsignal`, `{"type":"offer","fromPeerId":"alice-peer","targetPeerId":"bridge-peer"}`),
		text("webrtc-signal", `{"fromPeerId":"mallory-peer","fromPeerId":"alice-peer","type":"offer"}`),
		text("webrtc-signal", `{"fromPeerId":"alice-peer","FromPeerId":"mallory-peer","type":"offer"}`),
		text("webrtc-signal", `{"from\u0050eerId":"alice-peer","type":"offer"}`),
		`{"type":"broadcast","event":"tempo-change","event":"webrtc-signal","payload":{"tempo":1},"payload":{"fromPeerId":"alice-peer"}}`,
		text("webrtc-signal", `{"fromPeerId":null,"type":"offer"}`),
	}
	for _, payload := range forged {
		ref := mallory.ref()
		mallory.sendMsg(mj, ref, topic, "broadcast", payload)
		if m := mallory.nextMsg(); m.Event != "phx_reply" || m.Ref.Value != ref || !strings.Contains(string(m.Payload), `"status":"error"`) {
			t.Errorf("forged %s: answered %s %s, want an error reply", payload, m.Event, m.Payload)
		}
	}
	// A binary kind-3 push (supabase-js on vsn 2.0.0) is checked the same way.
	ref := mallory.ref()
	mallory.sendPush(mj, ref, topic, "webrtc-signal", wire.EncodingJSON, []byte(`{"type":"answer","fromPeerId":"alice-peer","targetPeerId":"bridge-peer"}`))
	if m := mallory.nextMsg(); m.Ref.Value != ref || !strings.Contains(string(m.Payload), `"status":"error"`) {
		t.Errorf("forged kind-3 push: answered %s %s, want an error reply", m.Event, m.Payload)
	}
	// Nor can another client go round the socket through REST, whose requests are checked against
	// the client holding the named key (keyholder_test.go; these sockets are all from 127.0.0.1).
	if code, body := postFrom(t, h, "127.0.0.3", BroadcastAPIPath+"/ABC123/events/webrtc-signal", `{"fromPeerId":"alice-peer"}`); code != http.StatusForbidden {
		t.Errorf("REST webrtc-signal: HTTP %d %s, want 403", code, body)
	}
	if code, body := postFrom(t, h, "127.0.0.3", BroadcastAPIPath, `{"messages":[{"topic":"ABC123","event":"state-response","payload":{"fromPeerId":"alice-peer"}}]}`); code != http.StatusForbidden {
		t.Errorf("REST batch state-response: HTTP %d %s, want 403", code, body)
	}
	const restForged = 2
	bridge.barrier() // nothing forged was delivered
	alice.barrier()
	if st := h.Stats(); st.ForgedSenders != uint64(len(forged)+1+restForged) {
		t.Errorf("ForgedSenders = %d, want %d", st.ForgedSenders, len(forged)+1+restForged)
	}

	// Its own signal, a signal naming no sender (receivers drop it: it cannot be answered) and
	// other events go through, as text and as kind-3 pushes.
	relayed := []string{
		text("webrtc-signal", `{"type":"offer","fromPeerId":"mallory-peer","targetPeerId":"bridge-peer","data":{"type":"offer","sdp":"v=0"}}`),
		text("webrtc-signal", `{"type":"offer","targetPeerId":"bridge-peer"}`),
		text("tempo-change", `{"tempo":128}`),
		text("led-update", `{"colors":["#ff0000"],"note":"fromPeerId alice-peer \\\"webrtc-signal\\\""}`),
	}
	for _, payload := range relayed {
		ref := mallory.ref()
		mallory.sendMsg(mj, ref, topic, "broadcast", payload)
		if m := mallory.nextMsg(); m.Ref.Value != ref || string(m.Payload) != string(okEmptyReply) {
			t.Errorf("%s: answered %s %s, want ok", payload, m.Event, m.Payload)
		}
		if m := bridge.nextMsg(); m.Event != "broadcast" || string(m.Payload) != payload {
			t.Errorf("bridge got %s %s, want %s", m.Event, m.Payload, payload)
		}
	}
	ref = mallory.ref()
	own := `{"type":"ice-candidate","fromPeerId":"mallory-peer","targetPeerId":"bridge-peer","data":null}`
	mallory.sendPush(mj, ref, topic, "webrtc-signal", wire.EncodingJSON, []byte(own))
	if m := mallory.nextMsg(); m.Ref.Value != ref || string(m.Payload) != string(okEmptyReply) {
		t.Errorf("own kind-3 signal: answered %s %s, want ok", m.Event, m.Payload)
	}
	if f := bridge.next(); !f.binary || !strings.HasSuffix(string(f.data), own) {
		t.Errorf("bridge got %s, want mallory's own signal", f)
	}
	if st := h.Stats(); st.ForgedSenders != uint64(len(forged)+1+restForged) {
		t.Errorf("ForgedSenders = %d after legitimate traffic, want %d", st.ForgedSenders, len(forged)+1+restForged)
	}
}

// joinAs sends a phx_join for key and returns the join_ref and the reply's payload.
func joinAs(c *rawClient, key string) (string, string) {
	c.t.Helper()
	ref := c.ref()
	c.sendMsg(ref, ref, topic, "phx_join", `{"config":`+cfgJSON(false, false, key)+`}`)
	m := c.nextMsg()
	if m.Event != "phx_reply" || m.Ref.Value != ref {
		c.t.Fatalf("join answered with %s %s", m.Event, m.Payload)
	}
	return ref, string(m.Payload)
}

// TestPresenceKeyHeldByOneSocket: a second socket cannot join a room with a presence key a live
// socket holds there; one whose holder went silent, as supabase-js reconnecting after a network
// blip finds it, replaces the older channel.
func TestPresenceKeyHeldByOneSocket(t *testing.T) {
	h := startHub(t, Config{})
	bridge := dial(t, h, dialOpts{from: "127.0.0.1"})
	bridge.join(topic, cfgJSON(false, false, "bridge-peer"))
	alice := dial(t, h, dialOpts{from: "127.0.0.2"})
	aj := alice.join(topic, cfgJSON(false, false, "alice-peer"))
	alice.sendMsg(aj, alice.ref(), topic, "presence", `{"type":"presence","event":"track","payload":{"name":"Alice","isHost":true}}`)
	if m := bridge.nextMsg(); m.Event != "presence_diff" || !strings.Contains(string(m.Payload), `"alice-peer"`) {
		t.Fatalf("bridge got %s %s, want alice's join", m.Event, m.Payload)
	}
	for _, want := range []string{"phx_reply", "presence_diff"} { // the track's reply and alice's own join
		if m := alice.nextMsg(); m.Event != want {
			t.Fatalf("alice got %s %s, want %s", m.Event, m.Payload, want)
		}
	}

	// Another host claims alice's key: refused, and alice stays.
	mallory := dial(t, h, dialOpts{from: "127.0.0.3"})
	if _, reply := joinAs(mallory, "alice-peer"); !strings.Contains(reply, `"status":"error"`) || !strings.Contains(reply, "PresenceKeyInUse") {
		t.Fatalf("join with a key another client holds: %s, want a PresenceKeyInUse error", reply)
	}
	if st := h.Stats(); st.JoinRefusals.PresenceKeyTaken != 1 || st.JoinsRefused != 1 {
		t.Errorf("join refusals %+v (total %d), want 1 presence_key_taken", st.JoinRefusals, st.JoinsRefused)
	}
	mallory.sendMsg("", "", topic, "broadcast", `{"type":"broadcast","event":"tempo-change","payload":{"tempo":1}}`)
	skipQueued(mallory) // its broadcast has been handled: the bridge's barrier comes after anything it caused
	bridge.barrier()    // no leave for alice, nothing from mallory (not a member)
	if n := roomSize(h, topic); n != 2 {
		t.Fatalf("room has %d members, want bridge and alice", n)
	}

	// Alice's old socket goes silent and her browser reconnects on a new socket: the new one
	// takes over once the old one leaves the server's ping unanswered.
	resume := alice.pauseReads()
	alice2 := dial(t, h, dialOpts{from: "127.0.0.2"})
	a2, reply := joinAs(alice2, "alice-peer")
	if reply != string(okJoinReply) {
		t.Fatalf("rejoin from alice's address: %s, want ok", reply)
	}
	resume()
	alice2.nextMsg() // presence_state
	if m := alice.nextMsg(); m.Event != "system" || !strings.Contains(string(m.Payload), "Replaced by a newer connection") {
		t.Fatalf("old alice got %s %s, want the system error", m.Event, m.Payload)
	}
	if m := alice.nextMsg(); m.Event != "phx_close" || m.Topic != topic {
		t.Fatalf("old alice got %s %s, want phx_close", m.Event, m.Payload)
	}
	// What the old socket still sends on the channel is not relayed.
	alice.sendMsg(aj, "", topic, "broadcast", `{"type":"broadcast","event":"tempo-change","payload":{"tempo":2}}`)
	alice.sendMsg(aj, alice.ref(), topic, "presence", `{"type":"presence","event":"track","payload":{"name":"Old"}}`)
	alice.barrier()
	// The old channel's meta passed to the new one, without a diff (keyholder_test.go): the new
	// channel's identical re-track is a no-op, a changed one an update under the same key.
	alice2.sendMsg(a2, alice2.ref(), topic, "presence", `{"type":"presence","event":"track","payload":{"name":"Alice","isHost":true}}`)
	alice2.nextMsg() // its reply
	alice2.sendMsg(a2, alice2.ref(), topic, "presence", `{"type":"presence","event":"track","payload":{"name":"Alice","isHost":false}}`)
	if m := bridge.nextMsg(); m.Event != "presence_diff" || !strings.Contains(string(m.Payload), `"joins":{"alice-peer"`) ||
		!strings.Contains(string(m.Payload), `"leaves":{"alice-peer"`) || !strings.Contains(string(m.Payload), `"isHost":false`) {
		t.Fatalf("bridge got %s %s, want the new alice's update", m.Event, m.Payload)
	}
	bridge.barrier()
	if n := roomSize(h, topic); n != 2 {
		t.Fatalf("room has %d members, want bridge and the new alice", n)
	}
	if st := h.Stats(); st.ChannelsReplaced != 1 || st.Presences != 1 {
		t.Errorf("ChannelsReplaced %d, Presences %d; want 1 and 1", st.ChannelsReplaced, st.Presences)
	}
	// The old socket going away changes nothing for the room.
	alice.closeNow()
	alice2.sendMsg(a2, "", topic, "broadcast", `{"type":"broadcast","event":"tempo-change","payload":{"tempo":3}}`)
	if m := bridge.nextMsg(); m.Event != "broadcast" || !strings.Contains(string(m.Payload), `"tempo":3`) {
		t.Fatalf("bridge got %s %s, want the new alice's broadcast", m.Event, m.Payload)
	}
	waitFor(t, "the old socket to close", func() bool { return h.Stats().Connections == 3 })
	if n := roomSize(h, topic); n != 2 {
		t.Fatalf("room has %d members after the old socket closed, want 2", n)
	}

	// Sockets without a chosen key (supabase-js without Presence) get distinct keys and coexist.
	for range 2 {
		c := dial(t, h, dialOpts{from: "127.0.0.2"})
		if _, reply := joinAs(c, ""); reply != string(okJoinReply) {
			t.Fatalf("join without a key: %s", reply)
		}
	}
}

// TestCaseVariantKeysReadAsJSONParseEverywhere: a key differing only in case from "event",
// "payload" or "fromPeerId" ({"fromPeerId":"me","FromPeerId":"victim"}) is another member to
// every receiver in the room. A browser's JSON.parse matches keys exactly, and so do ledbridge's
// own receivers (the Realtime client's envelope, room's event decoders, both bridge/jsonkeys)
// and the server's sender check (jsonkeys too), so a payload that would name another sender
// under a case-folding reading (encoding/json's struct decoding) is relayed as the signal of
// its real sender, never delivered as anyone else's. The same spellings with exact keys are
// dropped as forged.
func TestCaseVariantKeysReadAsJSONParseEverywhere(t *testing.T) {
	h := startHub(t, Config{})
	checkCaseVariantKeys(t, h, startGoPeer(t, h, "2.0.0", "bridge-peer", false), nil)
}

// TestCaseVariantKeysReadAlikeBySupabaseJS: the same broadcasts, with a real supabase-js client
// (JSON.parse, as in the web app's browsers) in the room too: it reads each one's event and
// payload as ledbridge's Realtime client does.
func TestCaseVariantKeysReadAlikeBySupabaseJS(t *testing.T) {
	nodeCommand(t) // skips without node and the npm packages, fails under LEDBRIDGE_REQUIRE_ALL=1
	h := startHub(t, Config{})
	bridge := startGoPeer(t, h, "2.0.0", "bridge-peer", false)
	checkCaseVariantKeys(t, h, bridge, startJSPeer(t, h, "2.0.0", "carol-peer"))
}

// checkCaseVariantKeys sends the broadcasts of TestCaseVariantKeysReadAsJSONParseEverywhere and
// checks what bridge (ledbridge's Realtime client, then room's decoders) and, unless nil, js (a
// supabase-js client) read of each.
func checkCaseVariantKeys(t *testing.T, h *testHub, bridge *goPeer, js *jsPeer) {
	alice := dial(t, h, dialOpts{from: "127.0.0.2"})
	alice.join(topic, cfgJSON(false, false, "alice-peer"))
	mallory := dial(t, h, dialOpts{from: "127.0.0.3"})
	mj := mallory.join(topic, cfgJSON(false, true, "mallory-peer")) // ack: each push is answered
	mallory.track(mj, `{"name":"Mallory","isHost":true}`)           // so that its led-update passes

	signal := func(from, extra string) string {
		return `{"type":"answer","fromPeerId":"` + from + `",` + extra + `"targetPeerId":"bridge-peer","data":{"type":"answer","sdp":"v=0"}}`
	}
	asAlice := signal("alice-peer", "")
	stateResponse := `{"fromPeerId":"mallory-peer","FROMPEERID":"alice-peer","targetPeerId":"bridge-peer","state":{"tempo":120,"isPlaying":false}}`
	texts := []string{
		`{"type":"broadcast","event":"led-update","Event":"webrtc-signal","payload":` + asAlice + `}`,
		`{"type":"broadcast","event":"webrtc-signal","payload":` + signal("mallory-peer", "") + `,"Payload":` + asAlice + `}`,
		`{"type":"broadcast","event":"webrtc-signal","payload":` + signal("mallory-peer", `"FromPeerId":"alice-peer",`) + `}`,
		`{"type":"broadcast","event":"state-response","payload":` + stateResponse + `}`,
	}
	// want is a broadcast as JSON.parse reads it: its event and payload, and the payload's
	// fromPeerId ("" when it has none).
	type want struct{ event, payload, from string }
	exactly := func(event string, payload json.RawMessage) want {
		var members map[string]json.RawMessage // exact keys, the last of a repeated one: JSON.parse's reading
		if err := json.Unmarshal(payload, &members); err != nil {
			t.Fatalf("%s: %v", payload, err)
		}
		var from string
		if raw, ok := members["fromPeerId"]; ok && json.Unmarshal(raw, &from) != nil {
			t.Fatalf("%s: fromPeerId %s", payload, raw)
		}
		return want{event, string(payload), from}
	}
	var sent []want
	for _, text := range texts {
		var envelope map[string]json.RawMessage
		var event string
		if json.Unmarshal([]byte(text), &envelope) != nil || json.Unmarshal(envelope["event"], &event) != nil {
			t.Fatalf("%s: not an envelope", text)
		}
		sent = append(sent, exactly(event, envelope["payload"]))
		ref := mallory.ref()
		mallory.sendMsg(mj, ref, topic, "broadcast", text)
		if m := replyTo(mallory, ref); !strings.Contains(string(m.Payload), `"status":"ok"`) {
			t.Errorf("%s: answered %s, want it relayed", text, m.Payload)
		}
	}
	push := signal("mallory-peer", `"fromPeerID":"alice-peer",`)
	sent = append(sent, exactly("webrtc-signal", json.RawMessage(push)))
	ref := mallory.ref()
	mallory.sendPush(mj, ref, topic, "webrtc-signal", wire.EncodingJSON, []byte(push))
	if m := replyTo(mallory, ref); !strings.Contains(string(m.Payload), `"status":"ok"`) {
		t.Errorf("kind-3 push %s: answered %s, want it relayed", push, m.Payload)
	}
	// Over REST from alice's own address, a signal of hers with a "FromPeerId" naming the bridge
	// is hers.
	rest := signal("alice-peer", `"FromPeerId":"bridge-peer",`)
	sent = append(sent, exactly("webrtc-signal", json.RawMessage(rest)))
	if code, body := postFrom(t, h, "127.0.0.2", BroadcastAPIPath+"/ABC123/events/webrtc-signal", rest); code != http.StatusAccepted {
		t.Errorf("REST signal of alice's: HTTP %d %s, want 202", code, body)
	}

	senders := map[string]string{"led-update": "mallory-peer", "webrtc-signal": "mallory-peer", "state-response": "mallory-peer"}
	for i, w := range sent {
		var got realtime.Event
		bridge.waitFor("broadcast "+w.event, func(e *realtime.Event) bool {
			got = *e
			return e.Kind == realtime.EventBroadcast
		})
		if got.Event != w.event || !jsonEqual(got.Payload, []byte(w.payload)) {
			t.Errorf("broadcast %d: the bridge read event %q payload %s; JSON.parse reads %q %s", i, got.Event, got.Payload, w.event, w.payload)
			continue
		}
		if js != nil {
			e := js.waitFor("broadcast "+w.event, func(e *jsEvent) bool { return e.Ev == "broadcast" })
			if e.Event != got.Event || !jsonEqual(e.Payload, got.Payload) {
				t.Errorf("broadcast %d: supabase-js read event %q payload %s; the bridge %q %s", i, e.Event, e.Payload, got.Event, got.Payload)
			}
		}
		sender := senders[w.event]
		if i == len(sent)-1 {
			sender = "alice-peer"
		}
		v, err := roomproto.DecodeEvent(got.Event, got.Payload)
		switch v := v.(type) {
		case roomproto.Signal:
			if v.FromPeerID != w.from || v.FromPeerID != sender {
				t.Errorf("broadcast %d: room decoded a signal from %q; JSON.parse reads %q, its sender is %q", i, v.FromPeerID, w.from, sender)
			}
		case roomproto.StateResponse:
			if v.FromPeerID != w.from || v.FromPeerID != sender {
				t.Errorf("broadcast %d: room decoded a state-response from %q; JSON.parse reads %q, its sender is %q", i, v.FromPeerID, w.from, sender)
			}
		default:
			// The led-update whose "Event" says webrtc-signal: a led-update without colours
			// to every reader, refused, never a signal.
			if w.event != roomproto.EventLEDUpdate || err == nil {
				t.Errorf("broadcast %d: room decoded %T (%v) from %s %s", i, v, err, got.Event, got.Payload)
			}
		}
	}

	// The exact-key spellings of the same claims are forged: dropped, counted, never delivered.
	forged := []string{
		`{"type":"broadcast","event":"webrtc-signal","payload":` + signal("alice-peer", `"FromPeerId":"mallory-peer",`) + `}`,
		`{"type":"broadcast","event":"webrtc-signal","payload":` + signal("mallory-peer", `"fromPeerId":"alice-peer",`) + `}`,
		`{"type":"broadcast","Event":"led-update","event":"webrtc-signal","payload":` + asAlice + `}`,
	}
	for _, text := range forged {
		ref := mallory.ref()
		mallory.sendMsg(mj, ref, topic, "broadcast", text)
		if m := replyTo(mallory, ref); !strings.Contains(string(m.Payload), `"status":"error"`) {
			t.Errorf("forged %s: answered %s, want an error reply", text, m.Payload)
		}
	}
	if code, body := postFrom(t, h, "127.0.0.2", BroadcastAPIPath+"/ABC123/events/webrtc-signal",
		signal("alice-peer", `"fromPeerId":"bridge-peer",`)); code != http.StatusForbidden {
		t.Errorf("REST signal whose last fromPeerId is the bridge's: HTTP %d %s, want 403", code, body)
	}
	// A marker broadcast after them is the next thing the bridge reads: nothing forged came first.
	ref = mallory.ref()
	mallory.sendMsg(mj, ref, topic, "broadcast", `{"type":"broadcast","event":"tempo-change","payload":{"tempo":99}}`)
	replyTo(mallory, ref)
	var next realtime.Event
	bridge.waitFor("the marker broadcast", func(e *realtime.Event) bool {
		next = *e
		return e.Kind == realtime.EventBroadcast
	})
	if next.Event != "tempo-change" {
		t.Errorf("the bridge read %s %s before the marker", next.Event, next.Payload)
	}
	if js != nil {
		if e := js.waitFor("the marker broadcast", func(e *jsEvent) bool { return e.Ev == "broadcast" }); e.Event != "tempo-change" {
			t.Errorf("supabase-js read %s %s before the marker", e.Event, e.Payload)
		}
	}
	if st := h.Stats(); st.ForgedSenders != uint64(len(forged)+1) {
		t.Errorf("ForgedSenders = %d, want %d", st.ForgedSenders, len(forged)+1)
	}
}

// replyTo returns c's reply to the push ref, stepping over what the server sent before it
// (presence diffs, others' broadcasts, binary ones among them).
func replyTo(c *rawClient, ref string) wire.Message {
	c.t.Helper()
	for {
		f := c.next()
		if f.binary {
			continue
		}
		var m wire.Message
		if err := c.vsn.DecodeText(f.data, &m); err != nil {
			c.t.Fatalf("decode %s: %v", f, err)
		}
		if m.Event == "phx_reply" && m.Ref.Value == ref {
			m.Payload = bytes.Clone(m.Payload)
			return m
		}
	}
}

// unknownKeysSignal is a text broadcast of a webrtc-signal of about size bytes, its envelope and
// its payload padded with distinct unknown keys, as a member can send one to make the sender check
// on its socket's reader expensive.
func unknownKeysSignal(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"broadcast","event":"webrtc-signal",`)
	for i := 0; b.Len() < size/2; i++ {
		fmt.Fprintf(&b, `"%x":0,`, i)
	}
	b.WriteString(`"payload":{"type":"answer","fromPeerId":"mallory-peer",`)
	for i := 0; b.Len() < size-100; i++ {
		fmt.Fprintf(&b, `"%x":0,`, i)
	}
	b.WriteString(`"targetPeerId":"bridge-peer","data":{"type":"answer","sdp":"v=0"}}}`)
	return []byte(b.String())
}

// TestSenderCheckAllocationsDoNotGrowWithKeys: checking a text signal's sender reads its envelope
// and payload once each, stepping over unknown keys: a signal of thousands of them costs as many
// allocations as a small one (its event name), not one per key.
func TestSenderCheckAllocationsDoNotGrowWithKeys(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under -race (sync.Pool drops items at random)")
	}
	mem := &member{presenceKey: "mallory-peer"}
	for _, raw := range [][]byte{
		[]byte(`{"type":"broadcast","event":"webrtc-signal","payload":{"type":"answer","fromPeerId":"mallory-peer"}}`),
		unknownKeysSignal(64 << 10),
	} {
		allocs := testing.AllocsPerRun(5, func() {
			if event, forged := textSenderForged(mem, raw); event != "webrtc-signal" || forged {
				t.Fatalf("event %q forged %v", event, forged)
			}
		})
		if allocs > 1 {
			t.Errorf("%d bytes: %.0f allocations, want at most 1 (the event name), not one per key", len(raw), allocs)
		}
	}
}

// BenchmarkTextSenderCheck: go test -run '^$' -bench TextSenderCheck -benchmem ./bridge/realtime/hub/
func BenchmarkTextSenderCheck(b *testing.B) {
	mem := &member{presenceKey: "mallory-peer"}
	raw := unknownKeysSignal(64 << 10)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, forged := textSenderForged(mem, raw); forged {
			b.Fatal("forged")
		}
	}
}

// supabase-js hands a broadcast to on('broadcast', {event: 'webrtc-signal'}) when the names are
// equal lower-cased (RealtimeChannel._trigger), so "WebRTC-Signal" is a webrtc-signal to the web
// app. A forged sender under such a spelling must be dropped like the exact one, by every path:
// socket text, socket binary, REST.
func TestCaseVariantEventNamesAreSenderChecked(t *testing.T) {
	nodeCommand(t) // skips without node and the npm packages, fails under LEDBRIDGE_REQUIRE_ALL=1
	h := startHub(t, Config{})
	carol := startJSPeer(t, h, "2.0.0", "carol-peer")
	alice := dial(t, h, dialOpts{from: "127.0.0.2"})
	aj := alice.join(topic, cfgJSON(false, true, "alice-peer"))
	mallory := dial(t, h, dialOpts{from: "127.0.0.3"})
	mj := mallory.join(topic, cfgJSON(false, true, "mallory-peer"))
	signal := func(from, sdp string) string {
		return `{"type":"answer","fromPeerId":"` + from + `","targetPeerId":"carol-peer","data":{"type":"answer","sdp":"` + sdp + `"}}`
	}

	// The last two are webrtc-signal to supabase-js in a Turkish or Azerbaijani locale.
	variants := []string{"WebRTC-Signal", "WEBRTC-SIGNAL", "webrtc-Signal", "webrtc-s\u0130gnal", "WEBRTC-SI\u0307GNAL"}
	for i, event := range variants {
		ref := mallory.ref()
		mallory.sendMsg(mj, ref, topic, "broadcast", `{"type":"broadcast","event":"`+event+`","payload":`+signal("alice-peer", fmt.Sprintf("forged text %d", i))+`}`)
		if r := replyTo(mallory, ref); !strings.Contains(string(r.Payload), `"error"`) {
			t.Errorf("text %q in alice's name: reply %s, want an error", event, r.Payload)
		}
		ref = mallory.ref()
		mallory.sendPush(mj, ref, topic, event, wire.EncodingJSON, []byte(signal("alice-peer", fmt.Sprintf("forged binary %d", i))))
		if r := replyTo(mallory, ref); !strings.Contains(string(r.Payload), `"error"`) {
			t.Errorf("binary %q in alice's name: reply %s, want an error", event, r.Payload)
		}
		if code, body := postFrom(t, h, "127.0.0.3", BroadcastAPIPath+"/ABC123/events/"+url.PathEscape(event), signal("alice-peer", fmt.Sprintf("forged rest %d", i))); code != http.StatusForbidden {
			t.Errorf("REST %q in alice's name: %d %s, want 403", event, code, body)
		}
	}
	// Alice's own signal under a case variant is hers to send; it is relayed and marks the end.
	ref := alice.ref()
	alice.sendMsg(aj, ref, topic, "broadcast", `{"type":"broadcast","event":"WebRTC-Signal","payload":`+signal("alice-peer", "alice's own")+`}`)
	if r := replyTo(alice, ref); !strings.Contains(string(r.Payload), `"ok"`) {
		t.Fatalf("alice's own signal: reply %s", r.Payload)
	}
	got := carol.waitFor("alice's own signal", func(e *jsEvent) bool { return e.Ev == "signal-binding" })
	if !strings.Contains(got.raw, "alice's own") {
		t.Errorf("supabase-js's webrtc-signal handler got %s first, want alice's own signal:\n%s", got.raw, carol.dump())
	}
	if st := h.Stats(); st.ForgedSenders != uint64(3*len(variants)) {
		t.Errorf("ForgedSenders = %d, want %d", st.ForgedSenders, 3*len(variants))
	}
}

// The hub spells the sender-naming events itself rather than importing room; this ties the two
// spellings, so a renamed event cannot leave the impersonation check looking for the old name.
func TestSenderEventsAreRoomsEvents(t *testing.T) {
	want := []string{roomproto.EventSignal, roomproto.EventStateRequest, roomproto.EventStateResponse}
	if len(senderEvents) != len(want) {
		t.Fatalf("senderEvents has %d events, want %d: %q", len(senderEvents), len(want), want)
	}
	for i, e := range senderEvents {
		if string(e) != want[i] {
			t.Errorf("senderEvents[%d] = %q, want room's %q", i, e, want[i])
		}
		if !namesSender(want[i]) {
			t.Errorf("namesSender(%q) = false", want[i])
		}
	}
}
