package clock

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clock/clocktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func load(t *testing.T, s *MonoStamp) time.Time {
	t.Helper()
	got, ok := s.Load()
	if !ok {
		t.Fatal("Load: no time held after a Store")
	}
	return got
}

func TestMonoStampZeroValueHoldsNoTime(t *testing.T) {
	var s MonoStamp
	if got, ok := s.Load(); ok || !got.IsZero() {
		t.Fatalf("zero MonoStamp: Load = %v, %v; want the zero time, false", got, ok)
	}
	s.Store(time.Now())
	s.Store(time.Time{})
	if got, ok := s.Load(); ok || !got.IsZero() {
		t.Fatalf("after storing the zero time: Load = %v, %v; want the zero time, false", got, ok)
	}
}

// A time with a monotonic reading loads with it: comparisons with time.Now's use it.
// time.Time.String shows a monotonic reading as "m=±…".
func TestMonoStampKeepsTheMonotonicReading(t *testing.T) {
	start := time.Now()
	var s MonoStamp
	stored := start.Add(20 * time.Millisecond)
	s.Store(stored)
	got := load(t, &s)
	if !got.Equal(stored) || !strings.Contains(got.String(), " m=") {
		t.Fatalf("stored %v, loaded %v: want an equal time with a monotonic reading", stored, got)
	}
	if d := start.Add(720 * time.Millisecond).Sub(got); d != 700*time.Millisecond {
		t.Fatalf("%v from the loaded time to one 700ms after it", d)
	}
	if d := got.Sub(start); d != 20*time.Millisecond {
		t.Fatalf("%v from the start to the loaded time, want 20ms", d)
	}
}

// The wall clock steps an hour forward or back between a Store and the comparison of the time
// loaded with time.Now, or before the Store: the comparison still measures the time that passed.
func TestMonoStampIgnoresWallClockSteps(t *testing.T) {
	start := time.Now()
	for _, step := range []time.Duration{time.Hour, -time.Hour} {
		before := start.Add(2 * time.Second)                              // time.Now 2 s in
		after := clocktest.WallStepped(start.Add(5*time.Second), step)    // time.Now 5 s in, the clock stepped since
		afterToo := clocktest.WallStepped(start.Add(4*time.Second), step) // time.Now 4 s in
		if wall := time.Duration(after.UnixNano() - before.UnixNano()); wall != 3*time.Second+step || after.Sub(before) != 3*time.Second {
			t.Fatalf("cannot build a time whose wall clock stepped %v: 3 s later by the monotonic clock, it is %v later by the wall clock and %v by Sub",
				step, wall, after.Sub(before))
		}
		var s MonoStamp
		s.Store(before)
		if got := load(t, &s); after.Sub(got) != 3*time.Second || !got.Before(after) || !got.Equal(before) {
			t.Errorf("step %v after the Store: %v from the time loaded to now, want 3s", step, after.Sub(got))
		}
		s.Store(afterToo)
		if got := load(t, &s); after.Sub(got) != time.Second || !got.Equal(afterToo) || got.Before(before) {
			t.Errorf("step %v before the Store: %v from the time loaded to now, want 1s; %v after the time before the step, want 2s",
				step, after.Sub(got), got.Sub(before))
		}
	}
}

// Times without a monotonic reading (an injected test clock's, a parsed time's) load with the
// same wall-clock reading, to the nanosecond, whether they are before or after the process
// started, or at its very start (an offset of 0, which is not "no time").
func TestMonoStampWithoutMonotonicReading(t *testing.T) {
	for _, stored := range []time.Time{
		time.Date(2026, 11, 25, 20, 0, 0, 123456789, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2100, 1, 1, 0, 0, 0, 1, time.FixedZone("UTC+1", 3600)),
		processStart.Round(0),
		processStart.Round(0).Add(-time.Nanosecond),
		processStart,
	} {
		var s MonoStamp
		s.Store(stored)
		got := load(t, &s)
		if !got.Equal(stored) || got.UnixNano() != stored.UnixNano() {
			t.Errorf("stored %v, loaded %v", stored, got)
		}
		later := stored.Round(0).Add(90 * time.Minute)
		if d := later.Sub(got); d != 90*time.Minute {
			t.Errorf("stored %v: %v from the time loaded to one 90 minutes after it", stored, d)
		}
	}
}

// Times more than 292 years from the process's start are clamped to that bound, not lost, and
// never read as "no time".
func TestMonoStampClampsFarTimes(t *testing.T) {
	for _, c := range []struct {
		stored time.Time
		want   time.Time
	}{
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), processStart.Add(math.MinInt64 + 1)},
		{time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC), processStart.Add(math.MaxInt64)},
	} {
		var s MonoStamp
		s.Store(c.stored)
		if got := load(t, &s); !got.Equal(c.want) {
			t.Errorf("stored %v, loaded %v, want %v", c.stored, got, c.want)
		}
	}
}

// One goroutine stores ever later times while others load: each load is a time stored, never
// earlier than one loaded before it (run with -race).
func TestMonoStampConcurrentStoreAndLoad(t *testing.T) {
	start := time.Now()
	const stores = 20000
	var s MonoStamp
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			var last time.Duration = -1
			for last < stores*time.Microsecond {
				got, ok := s.Load()
				if !ok {
					continue
				}
				d := got.Sub(start)
				if d < last || d%time.Microsecond != 0 || d <= 0 || d > stores*time.Microsecond {
					errs <- "loaded " + d.String() + " after " + last.String() + ": not a time stored, or earlier than one loaded before"
					return
				}
				last = d
			}
		})
	}
	for i := 1; i <= stores; i++ {
		s.Store(start.Add(time.Duration(i) * time.Microsecond))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestMonoStampAllocatesNothing(t *testing.T) {
	var s MonoStamp
	now := time.Now()
	if a := testing.AllocsPerRun(100, func() { s.Store(now); _, _ = s.Load() }); a != 0 {
		t.Fatalf("%v allocations per Store and Load, want 0", a)
	}
}
