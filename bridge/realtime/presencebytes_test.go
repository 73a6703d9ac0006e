package realtime_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// TestPresenceTableBoundedInBytes: a server (or the peers it relays) sending presence_diffs with
// huge metas cannot make the client hold more than the byte bounds, whatever the key and meta
// counts allow; metas of a normal size are still tracked.
func TestPresenceTableBoundedInBytes(t *testing.T) {
	srv := newFakeServer(t)
	h := startClient(t, srv, realtime.Config{})
	h.waitState(realtime.StateJoined, 10*time.Second)
	c := srv.lastConn()
	big := strings.Repeat("x", 600<<10) // a ~600 KiB meta per diff: each frame stays under 1 MiB
	const hostile = 10                  // 6 MB of metas, over DefaultMaxPresenceBytes
	for i := range hostile {
		srv.send(c, wire.Ref{}, wire.Ref{}, "realtime:ABC123", "presence_diff",
			fmt.Sprintf(`{"joins":{"spam-%d":{"metas":[{"phx_ref":"s%d","name":%q}]}},"leaves":{}}`, i, i, big))
	}
	srv.send(c, wire.Ref{}, wire.Ref{}, "realtime:ABC123", "presence_diff",
		`{"joins":{"alice":{"metas":[{"phx_ref":"a1","name":"Alice","isHost":true}]}},"leaves":{}}`)
	h.waitFor("alice in Presence", 10*time.Second, func() bool { return len(h.c.Presence()["alice"]) == 1 })

	total := 0
	for _, metas := range h.c.Presence() {
		for _, m := range metas {
			total += len(m.Data)
		}
	}
	if total > realtime.DefaultMaxPresenceBytes {
		t.Errorf("Presence holds %d bytes of metas, bound %d", total, realtime.DefaultMaxPresenceBytes)
	}
	if st := h.c.Stats(); st.PresenceOverflow < hostile {
		t.Errorf("stats %+v: the oversize metas were not counted as overflow", st)
	}
}

// TestHeldPresenceDiffsBoundedInBytes: presence_diffs that arrive between a join and its
// presence_state are held for it, but not beyond MaxPresenceBytes: a server sending megabytes of
// them has them dropped and counted, and the client rejoins for a complete presence_state (the
// one that came may miss what the dropped diffs said), ending with the server's table.
func TestHeldPresenceDiffsBoundedInBytes(t *testing.T) {
	srv := newFakeServer(t)
	srv.metas["alice"] = json.RawMessage(`{"phx_ref":"a1","name":"Alice"}`)
	big := strings.Repeat("x", 900<<10) // each diff stays under a frame; 6 of them exceed 4 MiB
	for i := range 6 {
		srv.beforeState = append(srv.beforeState,
			fmt.Sprintf(`{"joins":{"early-%d":{"metas":[{"phx_ref":"e%d","name":%q}]}},"leaves":{}}`, i, i, big))
	}
	h := startClient(t, srv, fast(realtime.Config{}))
	srv.waitFor("a second join", 10*time.Second, func() bool { return len(framesOnConn(srv, 0, "phx_join")) == 2 })
	h.waitState(realtime.StateJoined, 10*time.Second)
	h.waitFor("the server's table", 10*time.Second, func() bool {
		p := h.c.Presence()
		return len(p) == 1 && len(p["alice"]) == 1
	})
	if got := h.retries(); !reflect.DeepEqual(got, []time.Duration{time.Second}) {
		t.Errorf("rejoin delays %v, want one rejoin at 1s", got)
	}
	h.mu.Lock()
	resynced := false
	for _, s := range h.statuses {
		resynced = resynced || errors.Is(s.Err, realtime.ErrPresenceResync)
	}
	h.mu.Unlock()
	if !resynced {
		t.Error("no status reported ErrPresenceResync")
	}
	if st := h.c.Stats(); st.PresenceOverflow == 0 {
		t.Errorf("stats %+v: the dropped diffs were not counted", st)
	}
}
