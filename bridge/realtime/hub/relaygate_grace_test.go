package hub

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	hostMeta240 = `{"name":"Host","isHost":true,"joinedAt":"2026-01-01T10:00:00.000Z"}`
	bridgeMeta  = `{"name":"LED Bridge","isHost":false,"role":"led-bridge"}`
)

// ledUpdatePath is the REST endpoint supabase-js's send() falls back to for a led-update.
var ledUpdatePath = BroadcastAPIPath + "/ABC123/events/" + url.PathEscape("led-update")

// gatedSend pushes event with payload on c's channel joinRef (as a kind-3 push when binary, as
// text otherwise), asking for an ack, and returns the reply's payload.
func gatedSend(c *rawClient, joinRef string, binary bool, event, payload string) string {
	c.t.Helper()
	ref := c.ref()
	if binary {
		c.sendPush(joinRef, ref, topic, event, wire.EncodingJSON, []byte(payload))
	} else {
		c.sendMsg(joinRef, ref, topic, "broadcast", `{"type":"broadcast","event":"`+event+`","payload":`+payload+`}`)
	}
	return string(replyTo(c, ref).Payload)
}

// expectRelayed requires the next frame bridge receives to carry want.
func expectRelayed(t *testing.T, bridge *rawClient, what, want string) {
	t.Helper()
	if f := bridge.next(); !strings.Contains(string(f.data), want) {
		t.Errorf("%s: bridge got %s, want %s", what, f, want)
	}
}

// skipQueued reads c's frames, binary ones included, up to the reply of a heartbeat sent now.
func skipQueued(c *rawClient) {
	c.t.Helper()
	ref := c.ref()
	c.sendMsg("", ref, "phoenix", "heartbeat", "{}")
	replyTo(c, ref)
}

// hostRoom starts a hub on clock with the bridge (127.0.0.1) and the host (127.0.0.2, key
// host-peer) tracking, and closes the host's socket: the host is reconnecting.
func hostRoom(t *testing.T, clock *fakeClock) (*testHub, *rawClient) {
	t.Helper()
	h := startHub(t, Config{Now: clock.Now})
	bridge := dial(t, h, dialOpts{from: "127.0.0.1"})
	bridge.track(bridge.join(topic, cfgJSON(false, false, "bridge-peer")), bridgeMeta)
	host := dial(t, h, dialOpts{from: "127.0.0.2"})
	awaitDiff(bridge, host.track(host.join(topic, cfgJSON(false, true, "host-peer")), hostMeta240))
	host.closeNow()
	waitFor(t, "the host's socket to leave", func() bool { return roomSize(h, topic) == 1 })
	awaitLeave(bridge, "host-peer") // its Presence leave
	return h, bridge
}

// TestHostRelayedThroughItsReconnect: supabase-js's send() falls back to REST while its channel is
// not joined, and a page reconnecting joins, then re-tracks. The host that just left stays the
// host for hostLeaveGrace, by its address over REST and by its presence key on its new socket,
// so none of its frames is lost and none is counted as forged.
func TestHostRelayedThroughItsReconnect(t *testing.T) {
	h, bridge := hostRoom(t, newFakeClock())

	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#000001"],"seq":3}`); code != http.StatusAccepted {
		t.Errorf("REST led-update from the host's client, its socket gone: HTTP %d %s, want 202", code, body)
	} else {
		expectRelayed(t, bridge, "REST while reconnecting", "#000001")
	}

	host := dial(t, h, dialOpts{from: "127.0.0.2"})
	j := host.join(topic, cfgJSON(false, true, "host-peer"))
	for i, binary := range []bool{false, true} {
		color := []string{"#000002", "#000003"}[i]
		if r := gatedSend(host, j, binary, "led-update", `{"colors":["`+color+`"],"seq":4}`); r != string(okEmptyReply) {
			t.Errorf("led-update (binary %v) from the rejoined host before its re-track: reply %s, want ok", binary, r)
		} else {
			expectRelayed(t, bridge, "frame before the re-track", color)
		}
	}
	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#000004"],"seq":5}`); code != http.StatusAccepted {
		t.Errorf("REST led-update from the rejoined host before its re-track: HTTP %d %s, want 202", code, body)
	} else {
		expectRelayed(t, bridge, "REST before the re-track", "#000004")
	}

	skipQueued(host) // the REST broadcasts reached it too
	awaitDiff(bridge, host.track(j, hostMeta240))
	if r := gatedSend(host, j, false, "led-update", `{"colors":["#000005"],"seq":6}`); r != string(okEmptyReply) {
		t.Errorf("led-update from the re-tracked host: reply %s, want ok", r)
	} else {
		expectRelayed(t, bridge, "frame after the re-track", "#000005")
	}
	bridge.barrier()
	if st := h.Stats(); st.ForgedSenders != 0 || st.UntrackedSenders != 0 {
		t.Errorf("ForgedSenders %d, UntrackedSenders %d; want 0, 0", st.ForgedSenders, st.UntrackedSenders)
	}
}

// TestHostReconnectingFromANewAddress: a host whose address changed (Wi-Fi to 4G) rejoins with
// its presence key: its new socket is the host at once, and its new address over REST.
func TestHostReconnectingFromANewAddress(t *testing.T) {
	h, bridge := hostRoom(t, newFakeClock())
	host := dial(t, h, dialOpts{from: "127.0.0.6"})
	j := host.join(topic, cfgJSON(false, true, "host-peer"))
	if r := gatedSend(host, j, true, "led-update", `{"colors":["#000010"],"seq":1}`); r != string(okEmptyReply) {
		t.Errorf("led-update from the host's new address before its re-track: reply %s, want ok", r)
	} else {
		expectRelayed(t, bridge, "frame from the new address", "#000010")
	}
	if code, body := postFrom(t, h, "127.0.0.6", ledUpdatePath, `{"colors":["#000011"],"seq":2}`); code != http.StatusAccepted {
		t.Errorf("REST led-update from the host's new address: HTTP %d %s, want 202", code, body)
	} else {
		expectRelayed(t, bridge, "REST from the new address", "#000011")
	}
	bridge.barrier()
}

// TestHostGraceEnds: hostLeaveGrace after the host's socket left, its key and its address are
// nobody's: a socket joining with the key is heard on led-update once it tracks as host, and a
// re-track that no longer claims host ends the grace at once.
func TestHostGraceEnds(t *testing.T) {
	clock := newFakeClock()
	h, bridge := hostRoom(t, clock)
	clock.Advance(hostLeaveGrace)
	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#000020"],"seq":1}`); code != http.StatusForbidden {
		t.Errorf("REST led-update from the old host's client after the grace: HTTP %d %s, want 403", code, body)
	}
	host := dial(t, h, dialOpts{from: "127.0.0.2"})
	j := host.join(topic, cfgJSON(false, true, "host-peer"))
	if r := gatedSend(host, j, false, "led-update", `{"colors":["#000021"],"seq":2}`); !strings.Contains(r, `"status":"error"`) {
		t.Errorf("led-update with the host's key after the grace, untracked: reply %s, want an error", r)
	}
	awaitDiff(bridge, host.track(j, hostMeta240))
	if r := gatedSend(host, j, false, "led-update", `{"colors":["#000022"],"seq":3}`); r != string(okEmptyReply) {
		t.Errorf("led-update once tracked as host: reply %s, want ok", r)
	} else {
		expectRelayed(t, bridge, "frame once tracked as host", "#000022")
	}

	// The host leaves again and comes back as a plain musician: its own word ends its grace.
	host.closeNow()
	waitFor(t, "the host's socket to leave", func() bool { return roomSize(h, topic) == 1 })
	awaitLeave(bridge, "host-peer")
	again := dial(t, h, dialOpts{from: "127.0.0.2"})
	j = again.join(topic, cfgJSON(false, true, "host-peer"))
	awaitDiff(bridge, again.track(j, `{"name":"Host","isHost":false,"joinedAt":"2026-01-01T10:00:00.000Z"}`))
	if r := gatedSend(again, j, false, "led-update", `{"colors":["#000023"],"seq":4}`); !strings.Contains(r, `"status":"error"`) {
		t.Errorf("led-update after re-tracking as no host: reply %s, want an error", r)
	}
	if code, body := postFrom(t, h, "127.0.0.2", ledUpdatePath, `{"colors":["#000024"],"seq":5}`); code != http.StatusForbidden {
		t.Errorf("REST led-update after re-tracking as no host: HTTP %d %s, want 403", code, body)
	}
	bridge.barrier()
	// The REST refusal after the grace (no socket of that client in the room) and the two from
	// a tracking member that is not the host are forged; the untracked member's frame is not.
	if st := h.Stats(); st.ForgedSenders != 3 || st.UntrackedSenders != 1 {
		t.Errorf("ForgedSenders %d, UntrackedSenders %d; want 3, 1", st.ForgedSenders, st.UntrackedSenders)
	}
}

// TestGatedEventsFromUntrackedMembersAreNotForged: a member that has not tracked Presence yet (a
// page that sends before its track) is refused led-update, tempo-change and playback-control, but
// is no forger: it is counted in UntrackedSenders, and ForgedSenders keeps to the members that
// speak as another, or tracked and are not the host.
func TestGatedEventsFromUntrackedMembersAreNotForged(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := startHub(t, Config{Metrics: reg})
	bridge := dial(t, h, dialOpts{from: "127.0.0.1"})
	bridge.track(bridge.join(topic, cfgJSON(false, false, "bridge-peer")), bridgeMeta)
	early := dial(t, h, dialOpts{from: "127.0.0.3"})
	ej := early.join(topic, cfgJSON(false, true, "early-peer"))
	for _, p := range []struct {
		binary         bool
		event, payload string
	}{
		{false, "led-update", `{"colors":["#ff0000"],"seq":1}`},
		{true, "led-update", `{"colors":["#ff0000"],"seq":2}`},
		{false, "tempo-change", `{"tempo":120}`},
		{true, "playback-control", `{"isPlaying":true}`},
	} {
		if r := gatedSend(early, ej, p.binary, p.event, p.payload); !strings.Contains(r, `"status":"error"`) {
			t.Errorf("%s (binary %v) before the track: reply %s, want an error", p.event, p.binary, r)
		}
	}
	if code, body := postFrom(t, h, "127.0.0.3", BroadcastAPIPath+"/ABC123/events/tempo-change", `{"tempo":120}`); code != http.StatusForbidden {
		t.Errorf("REST tempo-change from the untracked member's client: HTTP %d %s, want 403", code, body)
	}
	bridge.barrier()
	if st := h.Stats(); st.ForgedSenders != 0 || st.UntrackedSenders != 5 {
		t.Errorf("before the track: ForgedSenders %d, UntrackedSenders %d; want 0, 5", st.ForgedSenders, st.UntrackedSenders)
	}
	trackMusician(early, ej, bridge)
	if r := gatedSend(early, ej, false, "tempo-change", `{"tempo":121}`); r != string(okEmptyReply) {
		t.Errorf("tempo-change once tracked: reply %s, want ok", r)
	} else {
		expectRelayed(t, bridge, "tempo once tracked", `{"tempo":121}`)
	}
	if r := gatedSend(early, ej, true, "led-update", `{"colors":["#ff0000"],"seq":3}`); !strings.Contains(r, `"status":"error"`) {
		t.Errorf("led-update from a tracked musician: reply %s, want an error", r)
	}
	bridge.barrier()
	if st := h.Stats(); st.ForgedSenders != 1 || st.UntrackedSenders != 5 {
		t.Errorf("after the track: ForgedSenders %d, UntrackedSenders %d; want 1, 5", st.ForgedSenders, st.UntrackedSenders)
	}
	got := gathered(t, reg)
	if f, u := got["ledbridge_hub_broadcasts_forged_total"], got["ledbridge_hub_broadcasts_untracked_total"]; f != 1 || u != 5 {
		t.Errorf("metrics: forged %v, untracked %v; want 1, 5", f, u)
	}
}
