package session

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// At a low output.fps the loop counts as ticking for three periods after a tick, at 60 fps for a
// second: at 1 fps a fixed second was the period itself, so a tick a little late made /healthz
// flap.
func TestTickingThresholdFollowsTheFrameRate(t *testing.T) {
	for _, tc := range []struct {
		fps          int
		alive, stuck time.Duration // since the last tick: still ticking, and no longer
	}{
		{fps: 1, alive: 1500 * time.Millisecond, stuck: 3100 * time.Millisecond},
		{fps: 2, alive: 1200 * time.Millisecond, stuck: 1600 * time.Millisecond},
		{fps: 60, alive: 900 * time.Millisecond, stuck: 1100 * time.Millisecond},
	} {
		clock := &stepClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
		code, err := room.ParseCode("HLT234")
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Code: code, FPS: tc.fps, Clock: clock,
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
			h := s.health(clock.Now(), "joined", s.ticker.Stats())
			if h.OK != want {
				t.Errorf("%d fps, %v after a tick: /healthz %+v, want OK %v", tc.fps, since, h, want)
			}
		}
		check(tc.alive, true)
		check(tc.stuck, false)
	}
}

// SinceTick, which the systemd watchdog judges, is the time since the last tick's start, or since
// the loop was made before its first tick: a loop that never starts counts as hung too.
func TestSinceTickCountsFromTheLastTickOrTheStart(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)}
	code, err := room.ParseCode("HLT234")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Code: code, FPS: 60, Clock: clock,
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
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
