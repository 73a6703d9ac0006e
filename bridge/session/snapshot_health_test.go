package session

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// /healthz says the loop is not ticking only after 5 s without a tick (half the unit's
// WatchdogSec), at any output.fps. It said so after a second: review 280's loop at 1 % of a core
// still ticked once or twice a second, and /healthz flapped between 200 and 503.
func TestHealthSaysNotTickingOnlyForAHungLoop(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "") // the shipped unit's bound, whatever runs the test
	for _, fps := range []int{1, 60} {
		clock := &stepClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
		code, err := room.ParseCode("HLT234")
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Code: code, FPS: fps, Clock: clock,
			Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		tick := clock.Now()
		s.ticker.recordTick(tick) // what Ticker.Run records after a tick
		check := func(since time.Duration, want bool) {
			clock.mu.Lock()
			clock.now = tick.Add(since)
			clock.mu.Unlock()
			h := s.health(clock.Now(), "joined")
			if h.OK != want {
				t.Errorf("%d fps, %v after a tick: /healthz %+v, want OK %v", fps, since, h, want)
			}
			if !want && h.Reason != "the frame loop has not ticked for "+since.String() {
				t.Errorf("%d fps, %v after a tick: reason %q", fps, since, h.Reason)
			}
		}
		check(1500*time.Millisecond, true) // a slow loop
		check(4900*time.Millisecond, true)
		check(5*time.Second, false)
		check(7*time.Second, false)
	}
}

// SinceTick, which the systemd watchdog judges, is the time since the last tick's start, or since
// the loop was made before its first tick: a loop that never starts counts as hung too.
func TestSinceTickCountsFromTheLastTickOrTheStart(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)}
	s := newUnrunSession(t, clock)
	clock.work(2 * time.Second)
	if got := s.SinceTick(); got != 2*time.Second {
		t.Errorf("before the first tick: SinceTick() = %v, want 2s (since the loop was made)", got)
	}
	s.ticker.recordTick(clock.Now())
	clock.work(1500 * time.Millisecond)
	if got := s.SinceTick(); got != 1500*time.Millisecond {
		t.Errorf("SinceTick() = %v, want 1.5s", got)
	}
}

// SinceTick is asked every second by the watchdog: it must not copy and sort the loop's last
// 600 intervals and frame times (about 9.7 KB a call) as Stats does.
func TestSinceTickAllocatesNothing(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)}
	s := newUnrunSession(t, clock)
	for range intervalWindow {
		s.ticker.stats.record(time.Second/60, time.Millisecond)
	}
	s.ticker.recordTick(clock.Now())
	if allocs := testing.AllocsPerRun(100, func() { s.SinceTick() }); allocs > 0 {
		t.Errorf("SinceTick allocates %v times a call", allocs)
	}
}

// /healthz calls the loop hung when the watchdog does: with a drop-in's WatchdogSec=30s it said
// 503 "not ticked" after 5 s while the watchdog, at half WatchdogSec, kept pinging until 15 s.
func TestHealthHangBoundIsTheWatchdogs(t *testing.T) {
	for _, c := range []struct {
		watchdogUsec string
		hangAfter    time.Duration
	}{{"30000000", 15 * time.Second}, {"", 5 * time.Second}} {
		t.Setenv("WATCHDOG_PID", "")
		t.Setenv("WATCHDOG_USEC", c.watchdogUsec)
		clock := &stepClock{now: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)}
		s := newUnrunSession(t, clock)
		tick := clock.Now()
		s.ticker.recordTick(tick)
		for _, since := range []time.Duration{c.hangAfter - 100*time.Millisecond, c.hangAfter} {
			want := since < c.hangAfter
			if h := s.health(tick.Add(since), "joined"); h.OK != want {
				t.Errorf("WATCHDOG_USEC=%q, %v after a tick: /healthz %+v, want OK %v", c.watchdogUsec, since, h, want)
			}
		}
	}
}
