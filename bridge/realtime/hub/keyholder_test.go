package hub

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// presenceView is a room's Presence as a supabase-js client (the bridge's session) sees it: the
// metas of every key by phx_ref, built from presence_state and presence_diff as
// RealtimePresence.syncState/syncDiff do (a diff's joins first, then its leaves).
type presenceView map[string]map[string]bool

func (v presenceView) apply(t *testing.T, event string, payload []byte) {
	t.Helper()
	type group map[string]struct {
		Metas []struct {
			Ref string `json:"phx_ref"`
		} `json:"metas"`
	}
	add := func(g group) {
		for key, metas := range g {
			if v[key] == nil {
				v[key] = map[string]bool{}
			}
			for _, m := range metas.Metas {
				v[key][m.Ref] = true
			}
		}
	}
	switch event {
	case "presence_state":
		var state group
		if err := json.Unmarshal(payload, &state); err != nil {
			t.Fatalf("presence_state %s: %v", payload, err)
		}
		clear(v)
		add(state)
	case "presence_diff":
		var diff struct{ Joins, Leaves group }
		if err := json.Unmarshal(payload, &diff); err != nil {
			t.Fatalf("presence_diff %s: %v", payload, err)
		}
		add(diff.Joins)
		for key, metas := range diff.Leaves {
			for _, m := range metas.Metas {
				delete(v[key], m.Ref)
			}
			if len(v[key]) == 0 {
				delete(v, key)
			}
		}
	}
}

// track sends a Presence track of a new meta on the channel joined as joinRef and reads up to its
// reply and the diff announcing it (which the tracker gets too). It returns that diff's payload,
// for awaitDiff to find on the other members.
func (c *rawClient) track(joinRef, payload string) (diff []byte) {
	c.t.Helper()
	ref := c.ref()
	c.sendMsg(joinRef, ref, topic, "presence", `{"type":"presence","event":"track","payload":`+payload+`}`)
	for {
		m := c.nextMsg()
		if m.Event == "phx_reply" && m.Ref.Value == ref {
			if string(m.Payload) != string(okEmptyReply) {
				c.t.Fatalf("track answered %s", m.Payload)
			}
			break
		}
	}
	for {
		if m := c.nextMsg(); m.Event == "presence_diff" {
			return m.Payload
		}
	}
}

// watcher is a socket watching a room's Presence the way ledbridge's session does: it fails the
// test when a frame leaves a musician's key absent from its view.
type watcher struct {
	c    *rawClient
	view presenceView
}

// watch joins topic with Presence enabled (tracking nothing) and reads presence_state.
func watch(t *testing.T, h *testHub, from string) *watcher {
	t.Helper()
	w := &watcher{c: dial(t, h, dialOpts{from: from}), view: presenceView{}}
	ref := w.c.ref()
	w.c.sendMsg(ref, ref, topic, "phx_join", `{"config":`+cfgJSON(false, false, "bridge-peer")+`}`)
	if m := w.c.nextMsg(); m.Event != "phx_reply" || string(m.Payload) != string(okJoinReply) {
		t.Fatalf("watcher join: %s %s", m.Event, m.Payload)
	}
	m := w.c.nextMsg()
	if m.Event != "presence_state" {
		t.Fatalf("watcher got %s, want presence_state", m.Event)
	}
	w.view.apply(t, m.Event, m.Payload)
	return w
}

// readUntil applies frames to the view until done holds, requiring key present after each.
func (w *watcher) readUntil(key string, done func(event string, payload []byte) bool) {
	w.c.t.Helper()
	for {
		m := w.c.nextMsg()
		w.view.apply(w.c.t.(*testing.T), m.Event, m.Payload)
		if len(w.view[key]) == 0 {
			w.c.t.Fatalf("after %s %s the bridge's view has no %s", m.Event, m.Payload, key)
		}
		if done(m.Event, m.Payload) {
			return
		}
	}
}

// settle reads (requiring key present) up to the reply of a heartbeat sent now: whatever the
// server queued for the watcher before it has been seen.
func (w *watcher) settle(key string) {
	w.c.t.Helper()
	ref := w.c.ref()
	w.c.sendMsg("", ref, "phoenix", "heartbeat", "{}")
	w.readUntil(key, func(event string, _ []byte) bool { return event == "phx_reply" })
}

// TestReconnectKeepsMusicianPresent: when a musician's browser reconnects from the same address
// (a supabase-js reconnect after a blip, its old socket silent), the bridge's view of the room never loses the musician's
// key: ledbridge's session would otherwise see a Presence leave and, past its grace, close a
// PeerConnection whose media path was fine. The new socket's re-track is an ordinary update under the same key.
func TestReconnectKeepsMusicianPresent(t *testing.T) {
	h := startHub(t, Config{})
	alice := dial(t, h, dialOpts{from: "127.0.0.2"})
	aj := alice.join(topic, cfgJSON(false, false, "alice-peer"))
	alice.track(aj, `{"name":"Alice","isHost":true}`)
	bridge := watch(t, h, "127.0.0.1")
	if len(bridge.view["alice-peer"]) != 1 {
		t.Fatalf("bridge's view %v, want alice-peer", bridge.view)
	}

	resume := alice.pauseReads()
	alice2 := dial(t, h, dialOpts{from: "127.0.0.2"})
	a2, reply := joinAs(alice2, "alice-peer")
	if reply != string(okJoinReply) {
		t.Fatalf("rejoin from alice's address: %s, want ok", reply)
	}
	resume()
	alice2.track(a2, `{"name":"Alice","isHost":true,"rejoined":1}`)
	bridge.readUntil("alice-peer", func(event string, payload []byte) bool {
		return event == "presence_diff" && strings.Contains(string(payload), `"rejoined":1`)
	})
	// Its old socket going away changes nothing either.
	if m := alice.nextMsg(); m.Event != "system" || !strings.Contains(string(m.Payload), "Replaced by a newer connection") {
		t.Fatalf("old alice got %s %s, want the system error", m.Event, m.Payload)
	}
	alice.closeNow()
	waitFor(t, "the old socket to close", func() bool { return h.Stats().Connections == 2 })
	bridge.settle("alice-peer")
	if len(bridge.view["alice-peer"]) != 1 {
		t.Errorf("bridge's view of alice-peer: %v, want one meta", bridge.view["alice-peer"])
	}
	if st := h.Stats(); st.Presences != 1 || st.ChannelsReplaced != 1 {
		t.Errorf("Presences %d, ChannelsReplaced %d; want 1 and 1", st.Presences, st.ChannelsReplaced)
	}
}

// dialFrozen opens a socket from the loopback address from, joins topic with key and tracks a
// meta, then never reads again: a phone that moved to another network, whose old connection the
// server still holds open (no close, no FIN) and which answers no ping.
func dialFrozen(t *testing.T, h *testHub, from, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+h.addr+Path+"?apikey=any-key&vsn=2.0.0", &websocket.DialOptions{HTTPClient: fromClient(t, from)})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	for _, frame := range []string{
		`["1","1","` + topic + `","phx_join",{"config":` + cfgJSON(false, false, key) + `}]`,
		`["1","2","` + topic + `","presence",{"type":"presence","event":"track","payload":{"name":"Frozen"}}]`,
	} {
		if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// TestUnansweringKeyHolderReplaced: a musician whose address changed (Wi-Fi to 4G, a rotated
// IPv6 privacy address) rejoins from another client while the server still holds its old socket,
// which answers nothing: the server probes the holder, and as it does not answer the new socket
// takes its place (and its meta, so the bridge never sees the musician leave) at once, instead of
// refusing every retry until the old socket's idle timeout. A holder that answers keeps its key.
func TestUnansweringKeyHolderReplaced(t *testing.T) {
	// The idle timeout (a minute) would free the key only long after the test's wait for the join
	// reply (testTimeout): the probe (holderProbeTimeout) is what frees it.
	h := startHub(t, Config{IdleTimeout: time.Minute})
	bridge := watch(t, h, "127.0.0.1")

	// A live holder is not displaced by another client.
	bob := dial(t, h, dialOpts{from: "127.0.0.4"})
	bj := bob.join(topic, cfgJSON(false, false, "bob-peer"))
	bob.track(bj, `{"name":"Bob"}`)
	other := dial(t, h, dialOpts{from: "127.0.0.5"})
	if _, reply := joinAs(other, "bob-peer"); !strings.Contains(reply, "PresenceKeyInUse") {
		t.Fatalf("join with a live holder's key from another client: %s, want PresenceKeyInUse", reply)
	}
	bob.barrier() // still joined, nothing sent to it

	dialFrozen(t, h, "127.0.0.2", "alice-peer")
	bridge.readUntil("bob-peer", func(event string, payload []byte) bool {
		return event == "presence_diff" && strings.Contains(string(payload), `"alice-peer"`)
	})
	alice := dial(t, h, dialOpts{from: "127.0.0.3"})
	aj, reply := joinAs(alice, "alice-peer")
	if reply != string(okJoinReply) {
		t.Fatalf("join from alice's new address while her old socket is silent: %s, want ok", reply)
	}
	alice.track(aj, `{"name":"Alice on 4G"}`)
	bridge.readUntil("alice-peer", func(event string, payload []byte) bool {
		return event == "presence_diff" && strings.Contains(string(payload), `"Alice on 4G"`)
	})
	bridge.settle("alice-peer")
	if len(bridge.view["alice-peer"]) != 1 || len(bridge.view["bob-peer"]) != 1 {
		t.Errorf("bridge's view %v, want one meta each for alice-peer and bob-peer", bridge.view)
	}
	if st := h.Stats(); st.ChannelsReplaced != 1 || st.JoinRefusals.PresenceKeyTaken != 1 || st.Presences != 2 {
		t.Errorf("ChannelsReplaced %d, PresenceKeyTaken %d, Presences %d; want 1, 1, 2", st.ChannelsReplaced, st.JoinRefusals.PresenceKeyTaken, st.Presences)
	}
}

// postFrom is post from the loopback address from.
func postFrom(t *testing.T, h *testHub, from, path, body string) (int, string) {
	t.Helper()
	resp, err := fromClient(t, from).Post(h.httpURL()+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRESTSenderEventFromHolder: supabase-js sends webrtc-signal over REST (httpSend, and its
// fallback for a channel not joined yet); the server relays it when the socket holding its
// fromPeerId in the room is of the same client as the request, and refuses it (403, counted as
// forged) from anyone else, or naming no member.
func TestRESTSenderEventFromHolder(t *testing.T) {
	h := startHub(t, Config{})
	bridge := dial(t, h, dialOpts{from: "127.0.0.1"})
	bridge.join(topic, cfgJSON(false, false, "bridge-peer"))
	alice := dial(t, h, dialOpts{from: "127.0.0.2"})
	alice.join(topic, cfgJSON(false, false, "alice-peer"))
	const single = BroadcastAPIPath + "/ABC123/events/webrtc-signal"
	signal := `{"type":"offer","fromPeerId":"alice-peer","targetPeerId":"bridge-peer","data":{"type":"offer","sdp":"v=0"}}`

	if code, body := postFrom(t, h, "127.0.0.2", single, signal); code != http.StatusAccepted {
		t.Fatalf("alice's own signal over REST: HTTP %d %s, want 202", code, body)
	}
	if f := bridge.next(); !strings.HasSuffix(string(f.data), signal) {
		t.Fatalf("bridge got %s, want alice's signal", f)
	}
	batch := `{"messages":[{"topic":"ABC123","event":"state-request","payload":{"fromPeerId":"alice-peer"}}]}`
	if code, body := postFrom(t, h, "127.0.0.2", BroadcastAPIPath, batch); code != http.StatusAccepted {
		t.Fatalf("alice's own state-request in a batch: HTTP %d %s, want 202", code, body)
	}
	if m := bridge.nextMsg(); m.Event != "broadcast" || !strings.Contains(string(m.Payload), `"fromPeerId":"alice-peer"`) {
		t.Fatalf("bridge got %s %s, want alice's state-request", m.Event, m.Payload)
	}

	refused := []struct{ from, path, body string }{
		{"127.0.0.3", single, signal}, // another client naming alice
		{"127.0.0.3", BroadcastAPIPath, batch},
		{"127.0.0.2", single, `{"type":"answer","fromPeerId":"bridge-peer","targetPeerId":"alice-peer"}`}, // alice naming the bridge
		{"127.0.0.2", single, `{"type":"offer","fromPeerId":"nobody","targetPeerId":"bridge-peer"}`},      // no such member
		{"127.0.0.2", single, `{"type":"offer","targetPeerId":"bridge-peer"}`},                            // no sender named
		{"127.0.0.2", single, `{"fromPeerId":"alice-peer","fromPeerId":"bridge-peer"}`},                   // JSON.parse reads the last
		{"127.0.0.2", BroadcastAPIPath + "/NOROOM/events/state-response", `{"fromPeerId":"alice-peer"}`},  // alice is not in that room
	}
	for _, r := range refused {
		if code, body := postFrom(t, h, r.from, r.path, r.body); code != http.StatusForbidden {
			t.Errorf("%s %s %s: HTTP %d %s, want 403", r.from, r.path, r.body, code, body)
		}
	}
	bridge.barrier() // nothing refused was delivered
	if st := h.Stats(); st.ForgedSenders != uint64(len(refused)) {
		t.Errorf("ForgedSenders = %d, want %d", st.ForgedSenders, len(refused))
	}
}
