package hub

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// awaitDiff reads c's frames, whatever they are, up to each of the presence_diffs whose payloads
// are diffs (as track returns them), in the order the room sent them. A diff reaches the other
// members after the tracker has its reply, in no order with what their own sockets are answered:
// a heartbeat round trip on c can come back before it.
func awaitDiff(c *rawClient, diffs ...[]byte) {
	c.t.Helper()
	for _, diff := range diffs {
		for {
			if m := c.nextMsg(); m.Event == "presence_diff" && bytes.Equal(m.Payload, diff) {
				break
			}
		}
	}
}

// awaitLeave reads c's frames, whatever they are, up to the presence_diff in which key leaves
// (its untrack, or its socket gone).
func awaitLeave(c *rawClient, key string) {
	c.t.Helper()
	for {
		m := c.nextMsg()
		if m.Event != "presence_diff" {
			continue
		}
		var diff struct{ Joins, Leaves map[string]json.RawMessage }
		if err := json.Unmarshal(m.Payload, &diff); err != nil {
			c.t.Fatalf("presence_diff %s: %v", m.Payload, err)
		}
		if _, left := diff.Leaves[key]; left && len(diff.Joins) == 0 {
			return
		}
	}
}

// TestRoomEventsRelayedOnlyFromTheirSenders: PROTOCOL.md §3 has led-update sent by the room's host
// and tempo-change and playback-control by musicians. The server relays led-update only from the
// member Presence elects host (isHost, earliest joinedAt), and tempo-change and playback-control
// only from members that track Presence, under any spelling supabase-js takes for the event, as
// text, as a kind-3 push and over REST; the rest are dropped and counted with the forged senders.
func TestRoomEventsRelayedOnlyFromTheirSenders(t *testing.T) {
	clock := newFakeClock()
	h := startHub(t, Config{Now: clock.Now})
	bridge := dial(t, h, dialOpts{from: "127.0.0.1"})
	bridge.track(bridge.join(topic, cfgJSON(false, false, "bridge-peer")), `{"name":"LED Bridge","isHost":false,"role":"led-bridge"}`)
	names := map[*rawClient]string{}
	var diffs [][]byte // the members' tracks, for the bridge to read
	member := func(from, key, meta string) (*rawClient, string) {
		c := dial(t, h, dialOpts{from: from})
		names[c] = key
		j := c.join(topic, cfgJSON(false, true, key))
		if meta != "" {
			diffs = append(diffs, c.track(j, meta))
		}
		return c, j
	}
	host, hj := member("127.0.0.2", "host-peer", `{"name":"Host","isHost":true,"joinedAt":"2026-01-01T10:00:00.000Z"}`)
	late, lj := member("127.0.0.3", "late-peer", `{"name":"Late","isHost":true,"joinedAt":"2026-01-01T10:05:00.000Z"}`)
	musician, uj := member("127.0.0.4", "musician-peer", `{"name":"Musician","isHost":false,"joinedAt":"2026-01-01T09:00:00.000Z"}`)
	mallory, mj := member("127.0.0.5", "mallory-peer", "") // joined, never tracked
	awaitDiff(bridge, diffs...)

	text := func(event, payload string) string {
		return `{"type":"broadcast","event":"` + event + `","payload":` + payload + `}`
	}
	const led = `{"colors":["#0000ff"],"seq":5000}`
	type push struct {
		c       *rawClient
		joinRef string
		binary  bool
		event   string
		payload string
	}
	send := func(p push) wire.Message {
		t.Helper()
		ref := p.c.ref()
		if p.binary {
			p.c.sendPush(p.joinRef, ref, topic, p.event, wire.EncodingJSON, []byte(p.payload))
		} else {
			p.c.sendMsg(p.joinRef, ref, topic, "broadcast", text(p.event, p.payload))
		}
		return replyTo(p.c, ref)
	}
	refused := []push{
		{mallory, mj, false, "led-update", led},
		{mallory, mj, true, "led-update", led},
		{mallory, mj, false, `led\u002dupdate`, led},
		{mallory, mj, false, "LED-Update", led},
		{mallory, mj, true, "Led-UPDATE", led},
		{mallory, mj, false, "tempo-change", `{"tempo":300}`},
		{mallory, mj, true, "tempo-change", `{"tempo":300}`},
		{mallory, mj, false, "playback-control", `{"isPlaying":false}`},
		{mallory, mj, true, "Playbac\u212a-Control", `{"isPlaying":false}`}, // the Kelvin sign lower-cases to k
		{musician, uj, false, "led-update", led},
		{musician, uj, true, "led-update", led},
		{late, lj, false, "led-update", led}, // claims host, but joined after the host
		{late, lj, true, "led-update", led},
	}
	for _, p := range refused {
		if r := send(p); !strings.Contains(string(r.Payload), `"status":"error"`) {
			t.Errorf("%s from %s (binary %v): reply %s, want an error", p.event, names[p.c], p.binary, r.Payload)
		}
	}
	relayed := []push{
		{host, hj, false, "led-update", `{"colors":["#ff0000"],"seq":1}`},
		{host, hj, true, "led-update", `{"colors":["#ff0000"],"seq":2}`},
		{host, hj, true, "tempo-change", `{"tempo":128}`},
		{musician, uj, false, "tempo-change", `{"tempo":100}`},
		{musician, uj, true, "playback-control", `{"isPlaying":true}`},
		{late, lj, false, "playback-control", `{"isPlaying":false}`},
		{mallory, mj, false, "chat", `{"text":"hi"}`}, // an event the room protocol does not know
	}
	for _, p := range relayed {
		if r := send(p); string(r.Payload) != string(okEmptyReply) {
			t.Errorf("%s from %s (binary %v): reply %s, want ok", p.event, names[p.c], p.binary, r.Payload)
		}
		if f := bridge.next(); !strings.Contains(string(f.data), p.payload) {
			t.Errorf("bridge got %s, want %s", f, p.payload)
		}
	}
	bridge.barrier() // nothing refused was delivered

	// Over REST, which has no channel: led-update from the host's own client, tempo-change and
	// playback-control from a client with a tracking member in the room.
	events := func(event string) string { return BroadcastAPIPath + "/ABC123/events/" + url.PathEscape(event) }
	restRefused := []struct{ from, path, body string }{
		{"127.0.0.5", events("led-update"), led},
		{"127.0.0.4", events("LED-UPDATE"), led},
		{"127.0.0.5", events("tempo-change"), `{"tempo":300}`},
		{"127.0.0.9", BroadcastAPIPath, `{"messages":[{"topic":"ABC123","event":"playback-control","payload":{"isPlaying":false}}]}`},
	}
	for _, r := range restRefused {
		if code, body := postFrom(t, h, r.from, r.path, r.body); code != http.StatusForbidden {
			t.Errorf("REST %s %s %s: HTTP %d %s, want 403", r.from, r.path, r.body, code, body)
		}
	}
	bridge.barrier()
	restRelayed := []struct{ from, path, body, want string }{
		{"127.0.0.2", events("led-update"), `{"colors":["#00ff00"],"seq":3}`, `"#00ff00"`},
		{"127.0.0.4", BroadcastAPIPath, `{"messages":[{"topic":"ABC123","event":"tempo-change","payload":{"tempo":90}}]}`, `{"tempo":90}`},
	}
	for _, r := range restRelayed {
		if code, body := postFrom(t, h, r.from, r.path, r.body); code != http.StatusAccepted {
			t.Errorf("REST %s %s %s: HTTP %d %s, want 202", r.from, r.path, r.body, code, body)
		}
		if f := bridge.next(); !strings.Contains(string(f.data), r.want) {
			t.Errorf("bridge got %s, want the REST broadcast %s", f, r.body)
		}
	}

	// The host leaves: the next claimant by joinedAt is host, and the old one's client is not.
	host.closeNow()
	waitFor(t, "the host to leave", func() bool { return roomSize(h, topic) == 4 })
	awaitLeave(bridge, "host-peer")
	if r := send(push{late, lj, true, "led-update", `{"colors":["#ffffff"],"seq":1}`}); string(r.Payload) != string(okEmptyReply) {
		t.Errorf("the new host's led-update: reply %s, want ok", r.Payload)
	}
	if f := bridge.next(); !strings.Contains(string(f.data), "#ffffff") {
		t.Errorf("bridge got %s, want the new host's frame", f)
	}
	// Once its grace is over (relaygate_grace_test.go), neither is its client.
	clock.Advance(hostLeaveGrace)
	if code, body := postFrom(t, h, "127.0.0.2", events("led-update"), led); code != http.StatusForbidden {
		t.Errorf("REST led-update from the old host's client: HTTP %d %s, want 403", code, body)
	}
	// A member that stops tracking is no longer heard on tempo.
	ref := musician.ref()
	musician.sendMsg(uj, ref, topic, "presence", `{"type":"presence","event":"untrack"}`)
	replyTo(musician, ref)
	awaitLeave(bridge, "musician-peer")
	if r := send(push{musician, uj, false, "tempo-change", `{"tempo":20}`}); !strings.Contains(string(r.Payload), `"status":"error"`) {
		t.Errorf("tempo-change after untrack: reply %s, want an error", r.Payload)
	}
	bridge.barrier()
	// mallory, who never tracked, and the musician once untracked are refused, not forgers: the
	// forged ones are the tracking non-hosts' led-update, and REST from a client with a tracking
	// non-host or no member in the room (127.0.0.4, 127.0.0.9, the old host's client).
	const untracked = 9 + 2 + 1 // mallory's frames, mallory's client over REST, the musician untracked
	if st, want := h.Stats(), uint64(len(refused)+len(restRefused)+2); st.ForgedSenders != want-untracked || st.UntrackedSenders != untracked {
		t.Errorf("ForgedSenders %d, UntrackedSenders %d; want %d, %d", st.ForgedSenders, st.UntrackedSenders, want-untracked, untracked)
	}
}

// trackAsHost makes c, joined as joinRef, the room's host: the room relays led-update from its
// host only. The presence_diff announcing it is read off the others.
func trackAsHost(c *rawClient, joinRef string, others ...*rawClient) {
	c.t.Helper()
	diff := c.track(joinRef, `{"name":"Host","isHost":true}`)
	for _, o := range others {
		awaitDiff(o, diff)
	}
}

// trackMusician makes c, joined as joinRef, a participant that tracks Presence: the room relays
// tempo-change and playback-control only from such members. The presence_diff announcing it is
// read off the others.
func trackMusician(c *rawClient, joinRef string, others ...*rawClient) {
	c.t.Helper()
	diff := c.track(joinRef, `{"name":"Musician","isHost":false}`)
	for _, o := range others {
		awaitDiff(o, diff)
	}
}
