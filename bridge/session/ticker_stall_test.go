package session

import (
	"strings"
	"testing"
	"time"
)

// runStalls runs a 60 fps loop on a step clock for total, stalling stall long at each of the
// given offsets from the start (and working 1 ms a tick otherwise); it returns the ticker's log
// lines and how many times /healthz gave a reason while the room was joined.
func runStalls(t *testing.T, total time.Duration, stall time.Duration, at func(elapsed time.Duration) bool) (log string, reasons int) {
	t.Helper()
	s := newClockedLoop(t)
	stalled := time.Duration(-1)
	log = s.run(t, func(_ *Ticker, now time.Time, elapsed time.Duration) bool {
		if elapsed >= total {
			return false
		}
		if h := s.health(now, "joined"); h.Reason != "" {
			reasons++
		}
		if at(elapsed) && elapsed-stalled > 2*stall {
			stalled = elapsed
			s.clock.work(stall)
			return true
		}
		s.clock.work(time.Millisecond)
		return true
	})
	return log, reasons
}

// A lone short stall (a GC pause, an SD card write) is no CPU that cannot keep up: it logged
// "falling behind: 15 %" and, 10 s later, "keeping up again", because all the slots it missed
// were counted in the one second the loop resumed.
func TestALoneStallIsNotFallingBehind(t *testing.T) {
	out, reasons := runStalls(t, 60*time.Second, 1500*time.Millisecond, func(e time.Duration) bool {
		return e >= 30*time.Second && e < 31*time.Second
	})
	if strings.Contains(out, "level=WARN") || strings.Contains(out, "level=INFO") || reasons != 0 {
		t.Errorf("one 1.5 s stall in 60 s: %d /healthz reasons, log:\n%s", reasons, out)
	}
}

// Stalls that repeat (1.2 s every 15 s) are not a loop falling behind either: they logged a WARN
// and an INFO each, 20 of each in 5 minutes, and /healthz's reason came and went as often.
func TestRepeatedShortStallsDoNotFlood(t *testing.T) {
	out, reasons := runStalls(t, 5*time.Minute, 1200*time.Millisecond, func(e time.Duration) bool {
		return e >= 5*time.Second && e%(15*time.Second) < 100*time.Millisecond
	})
	if n := strings.Count(out, "level=WARN") + strings.Count(out, "level=INFO"); n != 0 || reasons != 0 {
		t.Errorf("a 1.2 s stall every 15 s for 5 min: %d lines and %d /healthz reasons:\n%s", n, reasons, out)
	}
}

// A loop that hangs for longer than the pace window while behind has not kept up: the window
// held no tick and read 0 % skipped, and the loop logged "keeping up again … 0 %" on resuming.
func TestAHangWhileBehindIsNotKeepingUp(t *testing.T) {
	s := newClockedLoop(t)
	hung := false
	behindAfter := false
	out := s.run(t, func(tk *Ticker, _ time.Time, elapsed time.Duration) bool {
		switch {
		case elapsed < 30*time.Second:
			s.clock.work(150 * time.Millisecond) // behind: about 6.7 fps
		case !hung:
			hung = true
			s.clock.work(15 * time.Second)
		case elapsed < 47*time.Second:
			s.clock.work(time.Millisecond)
		default:
			behindAfter = tk.Behind()
			return false
		}
		return true
	})
	if strings.Count(out, "level=WARN") != 1 || strings.Contains(out, "keeping up again") || !behindAfter {
		t.Errorf("behind, then hung 15 s, then 2 s at pace: still behind %v (want true), log (want one WARN, no recovery):\n%s", behindAfter, out)
	}
}

// Two real episodes close together log one WARN, and the recovery only of the episode whose WARN
// was logged.
func TestFallingBehindWarnsAtMostOncePerTenMinutes(t *testing.T) {
	s := newClockedLoop(t)
	out := s.run(t, func(_ *Ticker, _ time.Time, elapsed time.Duration) bool {
		switch {
		case elapsed >= 4*time.Minute:
			return false
		case elapsed%(2*time.Minute) >= 30*time.Second && elapsed%(2*time.Minute) < 90*time.Second:
			s.clock.work(150 * time.Millisecond) // behind for a minute in every two
		default:
			s.clock.work(time.Millisecond)
		}
		return true
	})
	if strings.Count(out, "level=WARN") != 1 || strings.Count(out, "level=INFO") != 1 {
		t.Errorf("two minutes-long episodes 2 min apart: want one WARN and one INFO:\n%s", out)
	}
}

// A stall's skipped slots count in the seconds they were due in, however long it was.
func TestSkippedSlotsCountInTheirSeconds(t *testing.T) {
	clock := &stepClock{now: time.Unix(1e9, 0)}
	tk := NewTicker(20*time.Millisecond, clock, func(time.Time) {})
	at := tk.base.Add(500 * time.Millisecond)
	tk.pace.record(tk.second(at))
	tk.recordSkipped(at.Add(tk.period), 100) // 2 s: 24 slots in second 0, 50 in 1, 26 in 2
	if p := tk.pace.window(3); p.Seconds != 2 || p.Skipped != 76 || p.BehindSeconds != 2 {
		t.Errorf("seconds 1-2 after a 2 s stall: %+v, want 76 skipped slots, both seconds behind", p)
	}
	tk.recordSkipped(at.Add(2*time.Second+tk.period), 50*3600) // an hour's hang
	end := at.Add(2*time.Second + time.Hour + tk.period)
	if p := tk.Recent(end); p.Seconds != paceSeconds || p.Ticks != 0 || p.Skipped != 50*paceSeconds || p.BehindSeconds != paceSeconds {
		t.Errorf("the last %d s of an hour's hang: %+v, want every slot skipped", paceSeconds, p)
	}
}
