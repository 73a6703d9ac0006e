package hub

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
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

// TestPresenceKeyHeldByOneSocket: a second socket cannot join a room with a presence key another
// client holds there; the same client (address) joining with it again, as supabase-js does when it
// reconnects after a network blip, replaces its older channel.
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
	bridge.barrier() // no leave for alice, nothing from mallory (not a member)
	if n := roomSize(h, topic); n != 2 {
		t.Fatalf("room has %d members, want bridge and alice", n)
	}

	// Alice's browser reconnects from the same address on a new socket: the new one takes over.
	alice2 := dial(t, h, dialOpts{from: "127.0.0.2"})
	a2, reply := joinAs(alice2, "alice-peer")
	if reply != string(okJoinReply) {
		t.Fatalf("rejoin from alice's address: %s, want ok", reply)
	}
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

// TestSenderNamedUnderFoldedKeysDropped: ledbridge's own receiver decodes broadcasts with
// encoding/json, which matches keys case-insensitively (the last of the variants wins), where a
// browser's JSON.parse matches them exactly. A broadcast that either reads as a signal naming
// another sender is dropped, over the socket and over REST.
func TestSenderNamedUnderFoldedKeysDropped(t *testing.T) {
	h := startHub(t, Config{})
	bridge := dial(t, h, dialOpts{from: "127.0.0.1"})
	bridge.join(topic, cfgJSON(false, false, "bridge-peer"))
	alice := dial(t, h, dialOpts{from: "127.0.0.2"})
	alice.join(topic, cfgJSON(false, false, "alice-peer"))
	mallory := dial(t, h, dialOpts{from: "127.0.0.3"})
	mj := mallory.join(topic, cfgJSON(false, true, "mallory-peer"))

	asAlice := `{"type":"answer","fromPeerId":"alice-peer","targetPeerId":"bridge-peer","data":{"type":"answer","sdp":"v=0"}}`
	forged := []string{
		`{"type":"broadcast","event":"led-update","Event":"webrtc-signal","payload":` + asAlice + `}`,
		`{"type":"broadcast","event":"webrtc-signal","payload":{"fromPeerId":"mallory-peer"},"Payload":` + asAlice + `}`,
		`{"type":"broadcast","event":"webrtc-signal","payload":{"fromPeerId":"mallory-peer","FromPeerId":"alice-peer"}}`,
		`{"type":"broadcast","event":"state-response","payload":{"fromPeerId":"mallory-peer","FROMPEERID":"alice-peer"}}`,
	}
	for _, payload := range forged {
		ref := mallory.ref()
		mallory.sendMsg(mj, ref, topic, "broadcast", payload)
		if m := mallory.nextMsg(); m.Ref.Value != ref || !strings.Contains(string(m.Payload), `"status":"error"`) {
			t.Errorf("forged %s: answered %s %s, want an error reply", payload, m.Event, m.Payload)
		}
	}
	ref := mallory.ref()
	mallory.sendPush(mj, ref, topic, "webrtc-signal", wire.EncodingJSON, []byte(`{"fromPeerId":"mallory-peer","fromPeerID":"alice-peer"}`))
	if m := mallory.nextMsg(); m.Ref.Value != ref || !strings.Contains(string(m.Payload), `"status":"error"`) {
		t.Errorf("forged kind-3 push: answered %s %s, want an error reply", m.Event, m.Payload)
	}
	// Over REST from alice's own address, a payload that reads as the bridge's is refused too.
	if code, body := postFrom(t, h, "127.0.0.2", BroadcastAPIPath+"/ABC123/events/webrtc-signal",
		`{"fromPeerId":"alice-peer","FromPeerId":"bridge-peer"}`); code != http.StatusForbidden {
		t.Errorf("REST signal naming alice and the bridge: HTTP %d %s, want 403", code, body)
	}
	bridge.barrier() // nothing forged was delivered
	if st := h.Stats(); st.ForgedSenders != uint64(len(forged)+2) {
		t.Errorf("ForgedSenders = %d, want %d", st.ForgedSenders, len(forged)+2)
	}
}
