package realtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// frozenClock's Now never moves (so no rate window ever passes), while its timers run 100× faster
// (so backoffs still end).
type frozenClock struct{ now time.Time }

func (c frozenClock) Now() time.Time { return c.now }
func (c frozenClock) NewTimer(d time.Duration) realtime.Timer {
	return sysTimer{time.NewTimer(d / 100)}
}

// TestRejoinStartsAFreshPresenceWindow: the server counts track/untrack calls per join, so the
// client's limit starts again on every join: five tracks, then a rejoin, must not hold back the
// rejoin's re-track or the next track (under a clock whose window never passes).
func TestRejoinStartsAFreshPresenceWindow(t *testing.T) {
	srv := newFakeServer(t)
	cfg := fast(realtime.Config{})
	cfg.Clock = frozenClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
	h := startClient(t, srv, cfg)
	h.waitState(realtime.StateJoined, 10*time.Second)
	ctx := context.Background()
	for i := range 5 {
		if err := h.c.Track(ctx, map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	srv.mu.Lock()
	if n := len(presenceOps(srv, 0)); n != 5 {
		t.Fatalf("%d presence pushes, want the 5 tracks", n)
	}
	c := srv.lastConnLocked()
	jr := wire.RefOf(c.joinRef)
	srv.mu.Unlock()
	srv.send(c, jr, jr, "realtime:ABC123", "phx_close", `{}`) // the channel is shut down: rejoin
	srv.waitFor("the rejoin's re-track", 10*time.Second, func() bool {
		return srv.countLocked("phx_join") == 2 && len(presenceOps(srv, 0)) == 6
	})
	h.waitState(realtime.StateJoined, 10*time.Second)
	if err := h.c.Track(ctx, map[string]int{"n": 5}); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	ops := presenceOps(srv, 0)
	srv.mu.Unlock()
	if len(ops) != 7 {
		t.Errorf("presence pushes %v, want 7: the track after the rejoin was held back", ops)
	}
	if st := h.c.Stats(); st.PresenceDeferred != 0 {
		t.Errorf("%d pushes deferred, want none: a join starts a new window", st.PresenceDeferred)
	}
}
