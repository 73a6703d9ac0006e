package wled

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clockedLine is one log record with the fake clock's time when it was logged.
type clockedLine struct {
	at    time.Time
	msg   string
	attrs map[string]slog.Value
}

// clockedRecorder keeps every record logged through it, stamped by a fake clock.
type clockedRecorder struct {
	mu    sync.Mutex
	now   func() time.Time
	lines []clockedLine
}

func (h *clockedRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *clockedRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *clockedRecorder) WithGroup(string) slog.Handler            { return h }
func (h *clockedRecorder) Handle(_ context.Context, r slog.Record) error {
	l := clockedLine{at: h.now(), msg: r.Message, attrs: map[string]slog.Value{}}
	r.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.Resolve()
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, l)
	h.mu.Unlock()
	return nil
}

func (h *clockedRecorder) with(msg string) []clockedLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []clockedLine
	for _, l := range h.lines {
		if l.msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// refusingRig is an Output on a fake clock whose sends fail when a test says: the frame loop's
// 60 frames a second for minutes in a moment.
type refusingRig struct {
	o     *Output
	logs  *clockedRecorder
	clock time.Time
	frame []byte
}

func newRefusingRig(t *testing.T) *refusingRig {
	t.Helper()
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := &refusingRig{clock: time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)}
	r.logs = &clockedRecorder{now: func() time.Time { return r.clock }}
	tg, _ := ParseTarget("ddp://" + l.LocalAddr().String() + "?leds=50")
	o, err := NewOutput(OutputConfig{Target: tg, Logger: slog.New(r.logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	o.now = func() time.Time { return r.clock }
	r.o, r.frame = o, make([]byte, o.FrameBytes())
	return r
}

// run sends a frame every 1/60 s for d, each failing as fail says, and calls each (if not nil)
// after every frame.
func (r *refusingRig) run(d time.Duration, fail func(at time.Time) bool, each func()) {
	r.o.send = func([]byte) (int, error) {
		if fail(r.clock) {
			return 0, fmt.Errorf("write udp 10.0.0.1:40000->10.0.0.9:4048: write: %w", syscall.ECONNREFUSED)
		}
		return 1, nil
	}
	for end := r.clock.Add(d); r.clock.Before(end); r.clock = r.clock.Add(time.Second / 60) {
		r.o.Submit(r.frame)
		r.o.sendPending()
		if each != nil {
			each()
		}
	}
}

// every returns a fail function that fails one send each period from the rig's clock on, as a
// refusing host whose kernel rate-limits its ICMP port unreachable makes our connected socket do.
func (r *refusingRig) every(period time.Duration) func(time.Time) bool {
	next := r.clock
	return func(at time.Time) bool {
		if at.Before(next) {
			return false
		}
		next = next.Add(period)
		return true
	}
}

// count is a line's count attribute key, 0 if it has none.
func count(l clockedLine, key string) uint64 {
	if v, ok := l.attrs[key]; ok && v.Kind() == slog.KindUint64 {
		return v.Uint64()
	}
	return 0
}

// wantLinesApart fails unless the lines are at least errorLogInterval apart.
func wantLinesApart(t *testing.T, what string, lines []clockedLine) {
	t.Helper()
	for i := 1; i < len(lines); i++ {
		if gap := lines[i].at.Sub(lines[i-1].at); gap < errorLogInterval {
			t.Errorf("%s lines %d and %d are %v apart, want at most one a minute", what, i, i+1, gap)
			return
		}
	}
}

// TestOutputFlappingAfterALongOutageLogsOncePerMinute: a strip down for over a minute (two
// failure lines, a minute apart), then coming and going. Resetting the failure limiter when an
// outage whose first line was a minute old ended let the next outage's line through seconds
// after the long outage's second line, and its "sending again" with it (review 329).
func TestOutputFlappingAfterALongOutageLogsOncePerMinute(t *testing.T) {
	r := newRefusingRig(t)
	always := func(time.Time) bool { return true }
	never := func(time.Time) bool { return false }
	r.run(61*time.Second, always, nil)
	r.run(RecoveredAfter+time.Second, never, nil)
	for range 3 {
		r.run(time.Second, always, nil)
		r.run(RecoveredAfter+time.Second, never, nil)
	}
	failed, back := r.logs.with("wled send failed"), r.logs.with("wled sending again")
	wantLinesApart(t, "\"send failed\"", failed)
	if len(failed) != 2 || len(back) != 1 {
		t.Errorf("%d \"send failed\" and %d \"sending again\" lines, want 2 (the long outage's, a minute apart) and 1", len(failed), len(back))
	}
}

// TestOutputSpacedRefusalsStayOneOutage: a machine took the WLED's address, and its kernel
// answers our frames with ICMP port unreachable at most once a second (Linux's per-host rate
// limit), further apart when it answers several senders from one budget. Between two refusals
// every send works, but the strip is not back: it must show Failing the whole time, log one line
// when the refusals start and then at most one a minute, never "sending again" while they go on,
// and once, promptly, when the strip really is back.
func TestOutputSpacedRefusalsStayOneOutage(t *testing.T) {
	for _, period := range []time.Duration{time.Second, 1500 * time.Millisecond, 2500 * time.Millisecond, 4 * time.Second} {
		t.Run(period.String(), func(t *testing.T) {
			r := newRefusingRig(t)
			const refusing = 10 * time.Minute
			flapped := 0
			r.run(refusing, r.every(period), func() {
				if st := r.o.Stats(); !st.Failing {
					flapped++
				}
			})
			if flapped > 0 {
				t.Errorf("Failing was false at %d of %d frames of a strip refused every %v", flapped, int(refusing/(time.Second/60)), period)
			}
			failed := r.logs.with("wled send failed")
			if n := len(failed); n == 0 || n > int(refusing/errorLogInterval)+1 {
				t.Errorf("%d \"send failed\" lines in %v of refusals, want one when they start and at most one a minute", n, refusing)
			}
			wantLinesApart(t, "\"send failed\"", failed)
			if back := r.logs.with("wled sending again"); len(back) != 0 {
				t.Errorf("%d \"sending again\" lines while every %v a send was refused, the first after %v",
					len(back), period, back[0].at.Sub(failed[0].at))
			}
			if last := failed[len(failed)-1]; count(last, "failed_sends") < uint64(len(failed)-1)*uint64(errorLogInterval/period) {
				t.Errorf("the last failure line counts %v failed sends, want this outage's", last.attrs["failed_sends"])
			}

			// The strip comes back: one line, within a frame or two of RecoveredAfter.
			backAt := r.clock
			r.run(RecoveredAfter+time.Second, func(time.Time) bool { return false }, nil)
			back := r.logs.with("wled sending again")
			if len(back) != 1 {
				t.Fatalf("%d \"sending again\" lines after the strip came back, want 1", len(back))
			}
			if after := back[0].at.Sub(backAt); after > RecoveredAfter+period {
				t.Errorf("\"sending again\" %v after the last refusal's period, want within RecoveredAfter (%v)", after, RecoveredAfter)
			}
			if st := r.o.Stats(); st.Failing {
				t.Errorf("still Failing after the strip came back: %+v", st)
			}
		})
	}
}

// TestOutputFlappingStripLogsOncePerMinute: a strip whose sends fail now and then, further apart
// than RecoveredAfter (a WLED dropping off its Wi-Fi every few seconds, an address whose refusals
// come rarely), recovers between failures. The journal must still get at most one failure line
// and one recovery line a minute, each recovery line after a failure line, and the failure lines
// must count the outages they held back, so that every failed send is accounted for.
func TestOutputFlappingStripLogsOncePerMinute(t *testing.T) {
	for _, period := range []time.Duration{RecoveredAfter + 500*time.Millisecond, 8 * time.Second, 25 * time.Second} {
		t.Run(period.String(), func(t *testing.T) {
			r := newRefusingRig(t)
			const flapping = 10 * time.Minute
			r.run(flapping, r.every(period), nil)
			r.run(RecoveredAfter+time.Second, func(time.Time) bool { return false }, nil)

			failed, back := r.logs.with("wled send failed"), r.logs.with("wled sending again")
			maxLines := int(flapping/errorLogInterval) + 1
			if len(failed) == 0 || len(failed) > maxLines || len(back) > maxLines {
				t.Errorf("%d \"send failed\" and %d \"sending again\" lines in %v of a strip failing every %v, want at most %d of each",
					len(failed), len(back), flapping, period, maxLines)
			}
			wantLinesApart(t, "\"send failed\"", failed)
			wantLinesApart(t, "\"sending again\"", back)

			// Each "sending again" closes an outage whose failure was logged.
			r.logs.mu.Lock()
			open := false
			for _, l := range r.logs.lines {
				switch l.msg {
				case "wled send failed":
					open = true
				case "wled sending again":
					if !open {
						t.Errorf("\"sending again\" at %v ends an outage that was not logged", l.at)
					}
					open = false
				}
			}
			r.logs.mu.Unlock()
			if open {
				t.Error("the last outage's failure line has no \"sending again\" after the strip came back")
			}

			// Outages since the last failure line are held for the next one.
			counted := r.o.unlogged.failures
			for _, l := range failed {
				counted += count(l, "unlogged_failed_sends")
			}
			for _, l := range back {
				counted += count(l, "failed_sends")
			}
			if total := r.o.Stats().SendErrors; counted != total {
				t.Errorf("the lines account for %d failed sends, the output counted %d", counted, total)
			}
		})
	}
}
