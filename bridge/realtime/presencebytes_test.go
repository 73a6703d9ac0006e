package realtime_test

import (
	"fmt"
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
