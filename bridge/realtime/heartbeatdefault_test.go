package realtime_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// manualClock is a Clock whose time moves only when the test advances it; a timer fires (its
// channel receives) during the advance that reaches its deadline.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	clk     *manualClock
	c       chan time.Time
	at      time.Time
	settled bool // fired or stopped
}

func newManualClock() *manualClock { return &manualClock{now: time.Unix(1_700_000_000, 0)} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) realtime.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{clk: c, c: make(chan time.Time, 1), at: c.now.Add(d)}
	c.timers = append(c.timers, t)
	c.fireDueLocked()
	return t
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireDueLocked()
}

func (c *manualClock) fireDueLocked() {
	live := c.timers[:0]
	for _, t := range c.timers {
		if !t.settled && !t.at.After(c.now) {
			t.settled = true
			t.c <- c.now
		}
		if !t.settled {
			live = append(live, t)
		}
	}
	c.timers = live
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

func (t *manualTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	wasLive := !t.settled
	t.settled = true
	return wasLive
}

// TestDefaultHeartbeatIsRealtimeJSs: a client with no HeartbeatInterval sends its heartbeat every
// 25 s, as realtime-js does (RealtimeClient.ts: 25 000 ms; Phoenix's own 30 s would be wrong for a
// Supabase server). The interval is a literal, not DefaultHeartbeatInterval, and is read from the
// client's clock, which moves only when the test says so: nothing at 25 s less a nanosecond, the
// heartbeat at 25 s, the next one 25 s later.
func TestDefaultHeartbeatIsRealtimeJSs(t *testing.T) {
	srv := newFakeServer(t)
	clk := newManualClock()
	// The test answers the heartbeat itself, so that it knows when the client has taken the reply.
	srv.ignoreHeartbeats = true
	// HeartbeatInterval is zero: the default.
	h := startClient(t, srv, realtime.Config{Clock: clk, Rand: noJitter})
	h.waitState(realtime.StateJoined, 10*time.Second)
	heartbeats := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(framesOnConn(srv, 0, "heartbeat"))
	}
	frames := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.frames)
	}
	// broadcast sends one through the client's loop and waits until the server has it.
	broadcast := func(n int) {
		t.Helper()
		before := frames()
		if err := h.c.Broadcast(context.Background(), "tempo-change", map[string]int{"tempo": 100 + n}); err != nil {
			t.Fatal(err)
		}
		srv.waitFor("the broadcast", 10*time.Second, func() bool { return len(srv.frames) > before })
	}

	// The heartbeat timer was armed as the socket's loop started, at the clock's start. A heartbeat
	// due by now is ready in the client's loop before the first broadcast is asked for; the loop
	// sends it before or right after that one, and so before the second, which is asked for only
	// once the first has reached the server. (Were the loop to find both ready at once, it could
	// take the broadcast first: a wrong interval could then slip by, a right one never fails.)
	clk.advance(25*time.Second - time.Nanosecond)
	broadcast(1)
	broadcast(2)
	if n := heartbeats(); n != 0 {
		t.Fatalf("%d heartbeats before 25 s had passed, want none (realtime-js sends one every 25 000 ms)", n)
	}
	clk.advance(time.Nanosecond)
	srv.waitFor("the heartbeat at 25 s", 10*time.Second, func() bool { return len(framesOnConn(srv, 0, "heartbeat")) == 1 })
	srv.mu.Lock()
	hb := framesOnConn(srv, 0, "heartbeat")[0].msg
	conn := srv.conns[0]
	srv.mu.Unlock()
	if hb.Topic != "phoenix" || hb.JoinRef.Valid || string(hb.Payload) != "{}" {
		t.Errorf("heartbeat %+v, want topic phoenix, no join_ref, payload {}", hb)
	}

	// The reply, then a broadcast: once the client has delivered the broadcast, its loop has
	// taken the reply, and it armed the next heartbeat right after sending this one (before it
	// took anything else), so that timer runs from 25 s.
	srv.send(conn, wire.Ref{}, hb.Ref, "phoenix", "phx_reply", okEmpty)
	srv.send(conn, wire.Ref{}, wire.Ref{}, "realtime:ABC123", "broadcast", `{"type":"broadcast","event":"tempo-change","payload":{"tempo":90}}`)
	h.waitFor("the server's broadcast", 10*time.Second, func() bool {
		for _, e := range h.events {
			if e.Kind == realtime.EventBroadcast {
				return true
			}
		}
		return false
	})
	clk.advance(25*time.Second - time.Nanosecond)
	broadcast(3)
	broadcast(4)
	if n := heartbeats(); n != 1 {
		t.Fatalf("%d heartbeats before 50 s had passed, want 1", n)
	}
	clk.advance(time.Nanosecond)
	srv.waitFor("the heartbeat at 50 s", 10*time.Second, func() bool { return len(framesOnConn(srv, 0, "heartbeat")) == 2 })
}
