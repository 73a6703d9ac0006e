package session

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledbridge/ledbridge/bridge/lograte"
)

// Clock is the frame loop's time source; tests replace it. (The device followers' retry and
// recheck timers use the time package directly.)
type Clock interface {
	Now() time.Time
	// SleepUntil blocks until t or until ctx is done, whichever is first; it returns ctx.Err() in
	// the second case.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the real, monotonic clock. Its SleepUntil reuses one timer, so that the frame
// loop does not allocate per tick; call SleepUntil from one goroutine at a time.
type SystemClock struct {
	timer *time.Timer
}

// Now returns time.Now, which carries Go's monotonic reading.
func (*SystemClock) Now() time.Time { return time.Now() }

// SleepUntil sleeps on the clock's timer until t.
func (c *SystemClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	if c.timer == nil {
		c.timer = time.NewTimer(d)
	} else {
		c.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		c.timer.Stop()
		return ctx.Err()
	case <-c.timer.C:
		return nil
	}
}

// Ticker calls a function at a fixed rate from one goroutine. Deadlines are computed from the start
// time (start + n·period), so the rate does not drift however long each tick takes. A tick that
// starts more than a whole period late is counted as late and the missed slots are skipped, never
// caught up: an LED frame that is already stale is worthless.
type Ticker struct {
	period time.Duration
	clock  Clock
	onTick func(now time.Time)

	ticks atomic.Uint64
	late  atomic.Uint64
	// lastTick is the last tick's start as nanoseconds after base (+1, so that 0 means none):
	// LastTick rebuilt from base keeps the clock's monotonic reading, so the health checks that
	// compare it with now are not fooled by a step of the wall clock (NTP at a Pi's boot).
	lastTick atomic.Int64
	base     time.Time
	stats    tickStats
	pace     paceRing

	// log says when the loop falls behind and when it keeps up again (nil: not said).
	log *slog.Logger
	// behindSince is when the loop was found falling behind, as nanoseconds after base (+1; 0:
	// keeping up). Only Run's goroutine writes it.
	behindSince atomic.Int64
	judged      int64 // the last second judgePace looked at (Run's goroutine only)
	// behindWarn lets one falling-behind WARN through per behindWarnEvery; warned is whether the
	// current episode's WARN was let through, so that its recovery is said only then.
	behindWarn lograte.Limiter
	warned     bool
}

// NewTicker returns a ticker that calls onTick every period once Run is called.
func NewTicker(period time.Duration, clock Clock, onTick func(now time.Time)) *Ticker {
	if clock == nil {
		clock = &SystemClock{}
	}
	return &Ticker{period: period, clock: clock, onTick: onTick, base: clock.Now(),
		behindWarn: lograte.Limiter{Every: behindWarnEvery}}
}

// Run ticks until ctx is done, then returns nil.
func (t *Ticker) Run(ctx context.Context) error {
	start := t.clock.Now()
	var n int64
	var prev time.Time
	for {
		n++
		due := start.Add(time.Duration(n) * t.period)
		if err := t.clock.SleepUntil(ctx, due); err != nil {
			return nil // cancellation is the only way to stop the loop
		}
		now := t.clock.Now()
		if behind := now.Sub(due); behind >= t.period {
			skipped := int64(behind / t.period)
			n += skipped
			t.late.Add(uint64(skipped))
			t.recordSkipped(due, skipped)
		}
		t.onTick(now)
		t.ticks.Add(1)
		t.recordTick(now)
		t.pace.record(t.second(now))
		t.judgePace(now)
		if !prev.IsZero() {
			t.stats.record(now.Sub(prev), t.clock.Now().Sub(now))
		}
		prev = now
	}
}

// recordTick notes now as the last tick's start (see lastTick).
func (t *Ticker) recordTick(now time.Time) { t.lastTick.Store(int64(now.Sub(t.base)) + 1) }

// SinceTick is how long before now the last tick started, or the ticker was made if it has not
// ticked: a loop that never starts counts as hung too. Unlike Stats it allocates nothing.
func (t *Ticker) SinceTick(now time.Time) time.Duration {
	return now.Sub(t.base.Add(time.Duration(max(t.lastTick.Load()-1, 0))))
}

// second is which second after base now falls in (the pace ring keeps it at second %
// len(seconds)).
func (t *Ticker) second(now time.Time) int64 { return int64(now.Sub(t.base) / time.Second) }

// recordSkipped counts n frame slots skipped from the one due at first on, each in the second it
// belonged to: a stall's slots all counted in the second the loop resumed made one 1.5 s stall
// read as 15 % skipped over the window, a loop falling behind.
func (t *Ticker) recordSkipped(first time.Time, n int64) {
	// Seconds the pace ring no longer holds are not worth walking through after a long hang.
	if last := first.Add(time.Duration(n-1) * t.period); t.second(last)-t.second(first) > paceSeconds {
		from := t.base.Add(time.Duration(t.second(last)-paceSeconds) * time.Second)
		k := int64((from.Sub(first) + t.period - 1) / t.period)
		first, n = first.Add(time.Duration(k)*t.period), n-k
	}
	for n > 0 {
		second := t.second(first)
		next := t.base.Add(time.Duration(second+1) * time.Second)
		k := min(n, max(1, int64((next.Sub(first)+t.period-1)/t.period))) // the slots due before next
		t.pace.skip(second, k)
		first, n = first.Add(time.Duration(k)*t.period), n-k
	}
}

// Pace is the loop's ticks and skipped frame slots over its last whole seconds, up to
// paceSeconds of them (none before the loop's first whole second).
type Pace struct {
	Seconds        int
	Ticks, Skipped uint64
	// BehindSeconds is how many of the seconds skipped over behindShare of their slots.
	BehindSeconds int
}

// FPS is the rate the loop ticked at over the window; 0 for an empty one.
func (p Pace) FPS() float64 {
	if p.Seconds == 0 {
		return 0
	}
	return float64(p.Ticks) / float64(p.Seconds)
}

// SkippedShare is the share of the window's frame slots that were skipped, 0–1.
func (p Pace) SkippedShare() float64 {
	if slots := p.Ticks + p.Skipped; slots > 0 {
		return float64(p.Skipped) / float64(slots)
	}
	return 0
}

// Recent is the loop's pace over the whole seconds before now's: a fixed stretch of time, so a
// reading follows a change within seconds at any frame rate, and a loop that stopped reads 0.
func (t *Ticker) Recent(now time.Time) Pace { return t.pace.window(t.second(now)) }

// The loop falls behind when over behindShare of its frame slots over a whole pace window were
// skipped, and in at least behindSeconds of its seconds each; it keeps up again when under
// keptUpShare were: between the two it stays as it was, so that a load on the edge does not log
// a line every few seconds. Review 280's loop at 5 % of a core skipped 80 %, at 10 % about 35 %;
// at 15 %, 4 %, with the strips at 57-60 fps. Counting the seconds keeps a stall (a GC pause, a
// slow SD card write) from reading as a CPU that cannot keep up: a 1.5 s one skipped 15 % of a
// window, but in two of its seconds.
const (
	behindShare   = 0.10
	behindSeconds = paceSeconds / 2
	keptUpShare   = 0.05
)

// behindWarnEvery is the least time between two falling-behind WARN lines: a load that comes and
// goes (another job on the Pi every few minutes) says so once, not at each episode.
const behindWarnEvery = 10 * time.Minute

// Behind reports whether the loop is falling behind (see behindShare).
func (t *Ticker) Behind() bool { return t.behindSince.Load() != 0 }

// judgePace looks at the last whole pace window once a second, at the first tick of each: one
// WARN when the loop falls behind (the CPU cannot keep up, which nothing said before: review
// 280's five minutes at 5 % of a core left no line in the journal), one INFO when it keeps up
// again, with how long it was behind.
func (t *Ticker) judgePace(now time.Time) {
	second := t.second(now)
	if second == t.judged {
		return
	}
	t.judged = second
	p := t.pace.window(second)
	if p.Seconds < paceSeconds || p.Ticks == 0 {
		return // a window the loop did not tick in (it hung) says nothing of its pace
	}
	share := p.SkippedShare()
	since := t.behindSince.Load()
	switch {
	case since == 0 && share > behindShare && p.BehindSeconds >= behindSeconds:
		t.behindSince.Store(int64(now.Sub(t.base)) + 1)
		held, ok := t.behindWarn.Allow(now)
		t.warned = ok
		if ok && t.log != nil {
			t.log.Warn(fmt.Sprintf("frame loop falling behind: %.0f %% of frames skipped over %d s (%.1f of %d fps); "+
				"the CPU cannot keep up: drive fewer strips or LEDs, lower output.fps, or move other work off this machine",
				100*share, p.Seconds, p.FPS(), int(time.Second/t.period)),
				"skipped_percent", math.Round(100*share), "fps", math.Round(10*p.FPS())/10, "episodes_not_logged", held)
		}
	case since != 0 && share < keptUpShare:
		t.behindSince.Store(0)
		behind := now.Sub(t.base.Add(time.Duration(since - 1))).Round(time.Second)
		if t.warned && t.log != nil {
			t.log.Info(fmt.Sprintf("frame loop keeping up again after %s behind: %.0f %% of frames skipped over %d s", behind, 100*share, p.Seconds),
				"behind_for", behind)
		}
	}
}

// TickerStats is a snapshot of the loop's health.
type TickerStats struct {
	Ticks     uint64
	LateTicks uint64
	LastTick  time.Time
	// Interval and FrameTime summarise the last intervalWindow ticks: the time between tick starts
	// and the time each onTick took.
	Interval  Summary
	FrameTime Summary
}

// Stats returns the loop's counters and recent timing.
func (t *Ticker) Stats() TickerStats {
	s := TickerStats{Ticks: t.ticks.Load(), LateTicks: t.late.Load()}
	if ns := t.lastTick.Load(); ns != 0 {
		s.LastTick = t.base.Add(time.Duration(ns - 1))
	}
	s.Interval, s.FrameTime = t.stats.summaries()
	return s
}

// Summary describes a window of durations.
type Summary struct {
	Count          int
	Mean, P50, P99 time.Duration
	Max            time.Duration
}

const intervalWindow = 600 // ten seconds at 60 fps

// ringCursor is where a fixed ring is written next and whether it has come round: both stay
// bounded however long the daemon runs. A count of records would not: an int reaches its limit
// after 414 days of 60 fps ticks on 32-bit ARM, and a ring indexed by it then panics.
type ringCursor struct {
	next int
	full bool
}

// advance returns the slot of a ring of size slots to write, and moves past it.
func (c *ringCursor) advance(size int) int {
	i := c.next
	if c.next++; c.next == size {
		c.next, c.full = 0, true
	}
	return i
}

// filled is how many of a ring's size slots hold a record.
func (c *ringCursor) filled(size int) int {
	if c.full {
		return size
	}
	return c.next
}

// tickStats keeps the last intervalWindow intervals and frame times in fixed rings.
type tickStats struct {
	mu        sync.Mutex
	intervals [intervalWindow]time.Duration
	frames    [intervalWindow]time.Duration
	cursor    ringCursor
}

func (s *tickStats) record(interval, frame time.Duration) {
	s.mu.Lock()
	i := s.cursor.advance(intervalWindow)
	s.intervals[i] = interval
	s.frames[i] = frame
	s.mu.Unlock()
}

func (s *tickStats) summaries() (interval, frame Summary) {
	s.mu.Lock()
	n := s.cursor.filled(intervalWindow)
	iv := make([]time.Duration, n)
	fr := make([]time.Duration, n)
	copy(iv, s.intervals[:n])
	copy(fr, s.frames[:n])
	s.mu.Unlock()
	return summarize(iv), summarize(fr)
}

// summarize sorts d in place and reports it.
func summarize(d []time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	pct := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return Summary{Count: len(d), Mean: sum / time.Duration(len(d)), P50: pct(0.50), P99: pct(0.99), Max: d[len(d)-1]}
}

// paceSeconds is how many whole seconds Recent sums.
const paceSeconds = 10

// paceSecond is one second's ticks and skipped frame slots, the second counted from the ticker's
// base.
type paceSecond struct {
	second         int64
	ticks, skipped uint64
}

// paceRing keeps the current second and the paceSeconds before it in a fixed ring: the frame
// loop records into it without allocating.
type paceRing struct {
	mu      sync.Mutex
	seconds [paceSeconds + 1]paceSecond
	first   int64 // the first tick's second (+1; 0: no tick yet), a partial one
}

// record counts a tick in second.
func (r *paceRing) record(second int64) { r.add(second, 1, 0) }

// skip counts skipped slots in second, which no tick started in.
func (r *paceRing) skip(second int64, skipped int64) { r.add(second, 0, skipped) }

func (r *paceRing) add(second int64, ticks, skipped int64) {
	r.mu.Lock()
	if r.first == 0 {
		r.first = second + 1
	}
	s := &r.seconds[second%int64(len(r.seconds))]
	if s.second != second {
		*s = paceSecond{second: second}
	}
	s.ticks += uint64(ticks)
	s.skipped += uint64(skipped)
	r.mu.Unlock()
}

// window sums the whole seconds before current, at most paceSeconds of them and none up to the
// first tick's (the loop started during it).
func (r *paceRing) window(current int64) Pace {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == 0 {
		return Pace{}
	}
	from := max(current-paceSeconds, r.first) // r.first is the first tick's second + 1
	var p Pace
	if from >= current {
		return p
	}
	p.Seconds = int(current - from)
	for _, s := range r.seconds {
		if s.second >= from && s.second < current {
			p.Ticks += s.ticks
			p.Skipped += s.skipped
			if float64(s.skipped) > behindShare*float64(s.ticks+s.skipped) {
				p.BehindSeconds++
			}
		}
	}
	return p
}
