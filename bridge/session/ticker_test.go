package session

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stepClock is a fake Clock whose SleepUntil jumps straight to the deadline, so a test runs
// thousands of ticks instantly; work(d) simulates time spent inside a tick.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *stepClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
	return nil
}

func (c *stepClock) work(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestTickerNoDriftAndSkipsMissedSlots(t *testing.T) {
	clock := &stepClock{now: time.Unix(0, 0)}
	start := clock.Now()
	period := time.Second / 60
	ctx, cancel := context.WithCancel(context.Background())
	var ticks []time.Time
	tk := NewTicker(period, clock, func(now time.Time) {
		ticks = append(ticks, now)
		if len(ticks) == 3500 {
			clock.work(50 * time.Millisecond) // a stall of three periods
		} else {
			clock.work(time.Millisecond)
		}
		if len(ticks) == 3600 {
			cancel()
		}
	})
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := tk.Stats()
	if st.Ticks != 3600 {
		t.Fatalf("ticks = %d", st.Ticks)
	}
	if st.LateTicks != 2 {
		t.Errorf("late ticks = %d, want 2 (a 50 ms stall spans two whole missed slots)", st.LateTicks)
	}
	// Every tick lands exactly on the start + n·period grid: no drift after an hour of frames.
	// The one tick right after the stall runs late, off the grid; the next is back on it.
	for i, at := range ticks {
		off := at.Sub(start) % period
		if off != 0 && i != 3500 {
			t.Fatalf("tick %d at %v is %v off the grid", i, at.Sub(start), off)
		}
	}
	last := ticks[len(ticks)-1].Sub(start)
	if want := time.Duration(3600+2) * period; last != want {
		t.Errorf("last tick at %v, want %v", last, want)
	}
	if st.FrameTime.Max != 50*time.Millisecond || st.FrameTime.P50 != time.Millisecond {
		t.Errorf("frame time summary = %+v", st.FrameTime)
	}
}

func TestTickerStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tk := NewTicker(time.Millisecond, nil, func(time.Time) {})
	done := make(chan error)
	go func() { done <- tk.Run(ctx) }()
	// Until the first tick, not for a fixed time: a loaded machine may not run the loop for a while.
	for deadline := time.Now().Add(10 * time.Second); tk.Stats().Ticks == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := tk.Stats()
	if st.Ticks == 0 {
		t.Fatal("the real clock never ticked")
	}
	// LastTick keeps the monotonic reading (shown as "m=" by String): the health checks compare
	// it with now, and a wall-clock step must not make a wedged loop look alive.
	if !strings.Contains(st.LastTick.String(), "m=") {
		t.Errorf("LastTick %v has no monotonic clock reading", st.LastTick)
	}
}

// On a fake clock LastTick is the last tick's start, exactly.
func TestTickerLastTick(t *testing.T) {
	clock := &stepClock{now: time.Unix(1e9, 0)}
	ctx, cancel := context.WithCancel(context.Background())
	var last time.Time
	var tk *Ticker
	tk = NewTicker(10*time.Millisecond, clock, func(now time.Time) {
		last = now
		if tk.Stats().Ticks == 9 {
			cancel()
		}
	})
	if err := tk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tk.Stats().LastTick; !got.Equal(last) || !last.Equal(time.Unix(1e9, 0).Add(100*time.Millisecond)) {
		t.Errorf("LastTick %v, last tick started %v", got, last)
	}
}

// What the loop records of each tick (its start, its pace second and skipped slots, its
// interval) and its pace judgement allocate nothing, across the pace ring's seconds.
func TestTickBookkeepingAllocatesNothing(t *testing.T) {
	clock := &stepClock{now: time.Unix(1e9, 0)}
	tk := NewTicker(time.Second/60, clock, func(time.Time) {})
	now := clock.Now()
	tick := func() {
		now = now.Add(50 * time.Millisecond)
		tk.recordTick(now)
		tk.recordSkipped(now.Add(-2*tk.period), 2) // the two slots before this tick's
		tk.pace.record(tk.second(now))
		tk.judgePace(now) // allocates only for its log lines, one per change (none here: no log)
		tk.stats.record(50*time.Millisecond, time.Millisecond)
	}
	if allocs := testing.AllocsPerRun(1000, tick); allocs > 0 {
		t.Errorf("%v allocations a tick", allocs)
	}
	if p := tk.Recent(now); p.Seconds != paceSeconds || p.Ticks != 20*paceSeconds || p.Skipped != 40*paceSeconds {
		t.Errorf("recent pace %+v, want %d s of 20 ticks and 40 skipped slots each", p, paceSeconds)
	}
}
