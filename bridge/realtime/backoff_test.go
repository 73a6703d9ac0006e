package realtime_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// trackedJoins waits until the server has seen n joins, each followed by a track, on connection
// conn.
func trackedJoins(srv *fakeServer, conn, n int) {
	srv.t.Helper()
	srv.waitFor("joins each with a track", 10*time.Second, func() bool {
		return len(srv.conns) > conn && len(framesOnConn(srv, conn, "phx_join")) == n && len(presenceOps(srv, conn)) == n
	})
}

// TestRejoinBackoffGrowsWhileJoinsAreCutShort: a server that accepts every join and shuts the
// channel down right after it (system error + phx_close, as Supabase does to every channel of a
// project over its message rate) is rejoined at 1, 2, 5, 10 s, on the same socket: a join that did
// not last is no recovery, so it must not reset the schedule (it did, and the client rejoined every
// second for as long as the cause lasted).
func TestRejoinBackoffGrowsWhileJoinsAreCutShort(t *testing.T) {
	srv := newFakeServer(t)
	srv.shutdownOnTrack = 4
	h := newHarness(t, srv, fast(realtime.Config{}))
	if err := h.c.Track(context.Background(), map[string]any{"name": "LED Bridge"}); err != nil {
		t.Fatal(err)
	}
	h.run()
	trackedJoins(srv, 0, 5) // four shut down, the fifth stays
	h.waitState(realtime.StateJoined, 10*time.Second)
	want := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}
	if got := h.retries(); !reflect.DeepEqual(got, want) {
		t.Errorf("rejoin delays %v, want %v", got, want)
	}
	srv.mu.Lock()
	nconns := len(srv.conns)
	srv.mu.Unlock()
	if st := h.c.Stats(); nconns != 1 || st.Rejoins != 4 || st.Reconnects != 0 {
		t.Errorf("%d sockets, stats %+v: want 4 rejoins on one socket", nconns, st)
	}
}

// TestRejoinBackoffResetsAfterLastingJoin: once a join has lasted a heartbeat interval, the next
// loss of the channel is rejoined at the first step again.
func TestRejoinBackoffResetsAfterLastingJoin(t *testing.T) {
	srv := newFakeServer(t)
	srv.shutdownOnTrack = 2
	cfg := fast(realtime.Config{})
	clk := cfg.Clock.(*scaledClock)
	h := newHarness(t, srv, cfg)
	if err := h.c.Track(context.Background(), map[string]any{"name": "LED Bridge"}); err != nil {
		t.Fatal(err)
	}
	h.run()
	trackedJoins(srv, 0, 3)
	h.waitState(realtime.StateJoined, 10*time.Second)
	if got, want := h.retries(), []time.Duration{time.Second, 2 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rejoin delays %v, want %v", got, want)
	}

	clk.advance(cfg.HeartbeatInterval) // the third join has now lasted a heartbeat interval
	c := srv.lastConn()
	jr := wire.RefOf(c.joinRef)
	srv.send(c, jr, wire.Ref{}, "realtime:ABC123", "system", `{"extension":"system","status":"error","message":"Too many messages per second","channel":"ABC123"}`)
	srv.send(c, jr, jr, "realtime:ABC123", "phx_close", `{}`)
	trackedJoins(srv, 0, 4)
	if got, want := h.retries(), []time.Duration{time.Second, 2 * time.Second, time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("rejoin delays %v, want %v: a lasting join starts the schedule again", got, want)
	}
}

// TestReconnectBackoffGrowsWhileSocketsAreCutAfterJoin: a server that drops each socket right
// after accepting its join is reconnected at 1, 2, 5, 10 s, not every second: a join that did not
// last does not reset the socket schedule either.
func TestReconnectBackoffGrowsWhileSocketsAreCutAfterJoin(t *testing.T) {
	srv := newFakeServer(t)
	srv.dropAfterJoin = 4
	h := startClient(t, srv, fast(realtime.Config{}))
	srv.waitFor("a join on the fifth socket", 10*time.Second, func() bool {
		return len(srv.conns) == 5 && len(framesOnConn(srv, 4, "phx_join")) == 1
	})
	h.waitState(realtime.StateJoined, 10*time.Second)
	want := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}
	if got := h.retries(); !reflect.DeepEqual(got, want) {
		t.Errorf("reconnect delays %v, want %v", got, want)
	}
}
