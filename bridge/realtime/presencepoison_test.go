package realtime_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// joinedKey reports whether a Presence join of key was delivered (call under h.mu, as waitFor does).
func joinedKey(h *harness, key string) bool {
	for _, e := range h.events {
		if e.Kind == realtime.EventPresenceJoin && e.Key == key {
			return true
		}
	}
	return false
}

// TestBadMetaCostsOnlyItself: a tab that tracks {"phx_ref_prev":1} (the server passes a client's
// own keys through) puts that meta into every presence_state. Only that meta is dropped and
// counted: the other participants are in the table, and later diffs apply.
func TestBadMetaCostsOnlyItself(t *testing.T) {
	srv := newFakeServer(t)
	srv.metas["evil"] = json.RawMessage(`{"name":"x","phx_ref":"r-evil","phx_ref_prev":1}`)
	srv.metas["evil-2"] = json.RawMessage(`{"name":"y","phx_ref":7}`)
	srv.metas["musician-1"] = json.RawMessage(`{"name":"Ann","phx_ref":"r-ann"}`)
	h := startClient(t, srv, fast(realtime.Config{}))
	h.waitFor("musician-1 from presence_state", 10*time.Second, func() bool { return joinedKey(h, "musician-1") })
	c := srv.lastConn()
	srv.send(c, wire.Ref{}, wire.Ref{}, "realtime:ABC123", "presence_diff",
		`{"joins":{"musician-2":{"metas":[{"name":"Bob","phx_ref":"r-bob"},{"phx_ref_prev":[1]}]}},"leaves":{}}`)
	h.waitFor("musician-2 from a later diff", 10*time.Second, func() bool { return joinedKey(h, "musician-2") })
	table := h.c.Presence()
	if len(table) != 2 || len(table["musician-1"]) != 1 || len(table["musician-2"]) != 1 || table["musician-2"][0].Ref != "r-bob" {
		t.Errorf("table %v, want musician-1 and musician-2 with one good meta each", table)
	}
	if st := h.c.Stats(); st.Malformed != 3 {
		t.Errorf("%d malformed counted, want the 3 bad metas", st.Malformed)
	}
	if h.c.State() != realtime.StateJoined {
		t.Errorf("state %v: bad metas must not cost the join", h.c.State())
	}
}

// TestOversizePresenceStateDoesNotFreezeTable: a presence_state over MaxFrameSize is dropped unread;
// the client must not hold every later diff for it until they are dropped: it rejoins once for a
// new state, and diffs apply meanwhile.
func TestOversizePresenceStateDoesNotFreezeTable(t *testing.T) {
	for _, vsn := range []string{"2.0.0", "1.0.0"} {
		t.Run(vsn, func(t *testing.T) {
			srv := newFakeServer(t)
			srv.metas["musician-1"] = json.RawMessage(`{"name":"Ann","phx_ref":"r-ann"}`)
			srv.oversizeStates = 1
			h := startClient(t, srv, fast(realtime.Config{Vsn: vsn}))
			h.waitFor("musician-1 from the resync's presence_state", 10*time.Second, func() bool { return joinedKey(h, "musician-1") })
			srv.mu.Lock()
			joins := srv.countLocked("phx_join")
			srv.mu.Unlock()
			if joins != 2 {
				t.Errorf("%d joins, want 2: one resync after the dropped state", joins)
			}
			h.waitState(realtime.StateJoined, 10*time.Second)
			srv.send(srv.lastConn(), wire.Ref{}, wire.Ref{}, "realtime:ABC123", "presence_diff",
				`{"joins":{"musician-2":{"metas":[{"name":"Bob","phx_ref":"r-bob"}]}},"leaves":{}}`)
			h.waitFor("musician-2 from a later diff", 10*time.Second, func() bool { return joinedKey(h, "musician-2") })
			if st := h.c.Stats(); st.Oversize != 1 {
				t.Errorf("stats %+v, want the one oversize state counted", st)
			}
		})
	}
}
