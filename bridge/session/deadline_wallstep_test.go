package session

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clock/clocktest"
)

// steppingClock is a Clock whose readings carry a monotonic reading, like SystemClock's, on a
// virtual timeline the test advances, and whose wall clock the test can step as NTP would.
type steppingClock struct {
	mu    sync.Mutex
	start time.Time     // a real time.Now: it has a monotonic reading
	ran   time.Duration // monotonic time since start
	step  time.Duration // the wall clock's total step so far
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clocktest.WallStepped(c.start.Add(c.ran), c.step)
}

func newSteppingClock(t *testing.T) *steppingClock {
	t.Helper()
	start := time.Now()
	for _, step := range []time.Duration{-time.Hour, time.Hour} {
		stepped := clocktest.WallStepped(start, step)
		if stepped.Sub(start) != 0 || time.Duration(stepped.UnixNano()-start.UnixNano()) != step {
			t.Fatalf("cannot build a time whose wall clock is stepped by %v: its Sub from the original is %v, its wall clock moved %v",
				step, stepped.Sub(start), time.Duration(stepped.UnixNano()-start.UnixNano()))
		}
	}
	return &steppingClock{start: start}
}

func (c *steppingClock) SleepUntil(ctx context.Context, _ time.Time) error { return ctx.Err() }

func (c *steppingClock) advance(d, step time.Duration) {
	c.mu.Lock()
	c.ran += d
	c.step += step
	c.mu.Unlock()
}

// newSteppingSession starts a session on clock driving one 60-LED DDP strip on loopback, for
// ticking the frame loop by hand.
func newSteppingSession(t *testing.T, clock Clock) (*Session, *strip) {
	t.Helper()
	s, strips := handTickedSession(t, Config{Clock: clock}, "leds=60")
	return s, strips[0]
}

// tickShows ticks the loop at the clock's now and reports whether the strip's frame is exactly
// the overlay draw(frame, now) paints over the rendered frame, within the brightness cap.
func tickShows(s *Session, st *strip, clock Clock, draw func(frame []byte, now time.Time)) bool {
	now := clock.Now()
	s.loop.tick(now)
	got := st.frame[:st.frameBytes]
	want := bytes.Clone(got)
	draw(want, now)
	st.renderer.Overlay(want)
	return bytes.Equal(got, want)
}

// A 5 s test pattern lasts 5 s of monotonic time whatever the wall clock does meanwhile: NTP
// stepping it back an hour must not leave the rainbow on for an hour, nor a step forward end it.
func TestTestPatternSurvivesWallClockSteps(t *testing.T) {
	clock := newSteppingClock(t)
	s, st := newSteppingSession(t, clock)
	rainbow3 := func(frame []byte, now time.Time) { rainbow(frame, 3, now) }
	s.loop.tick(clock.Now())
	if tickShows(s, st, clock, rainbow3) {
		t.Fatal("the strip shows the rainbow before any test pattern was asked for")
	}
	if err := s.TestPattern(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !tickShows(s, st, clock, rainbow3) {
		t.Fatal("no rainbow right after TestPattern(5s)")
	}
	// The status page says so (its mode line read "auto (now idle)" under the rainbow).
	if !s.Snapshot().Room.TestPattern {
		t.Error("the status snapshot does not show the test pattern while it runs")
	}
	clock.advance(time.Second, time.Hour) // 1 s in, the wall clock jumps an hour ahead
	if !tickShows(s, st, clock, rainbow3) {
		t.Error("1 s into a 5 s test pattern, after the wall clock stepped forward 1 h: the rainbow is gone")
	}
	clock.advance(3*time.Second, -2*time.Hour) // 4 s in, it is set back two hours
	if !tickShows(s, st, clock, rainbow3) {
		t.Error("4 s into a 5 s test pattern, after the wall clock stepped back: the rainbow is gone")
	}
	clock.advance(2*time.Second, 0) // 6 s in: over, though the wall clock says it is an hour earlier
	if tickShows(s, st, clock, rainbow3) {
		t.Error("6 s after a 5 s test pattern began (the wall clock set back 1 h meanwhile): the strip still shows the rainbow")
	}
	if s.Snapshot().Room.TestPattern {
		t.Error("the status snapshot still shows the test pattern after it ended")
	}
}

// Identify flashes for 3 s of monotonic time whatever the wall clock does meanwhile.
func TestIdentifySurvivesWallClockSteps(t *testing.T) {
	clock := newSteppingClock(t)
	s, st := newSteppingSession(t, clock)
	s.loop.tick(clock.Now())
	if err := s.Identify(st.key); err != nil {
		t.Fatal(err)
	}
	if !tickShows(s, st, clock, flash) {
		t.Fatal("no flash right after Identify")
	}
	clock.advance(time.Second, time.Hour)
	if !tickShows(s, st, clock, flash) {
		t.Error("1 s into identify, after the wall clock stepped forward 1 h: the flash is gone")
	}
	clock.advance(3*time.Second, -2*time.Hour)
	if tickShows(s, st, clock, flash) {
		t.Error("4 s after a 3 s identify began (the wall clock set back 1 h meanwhile): the strip still flashes")
	}
}
