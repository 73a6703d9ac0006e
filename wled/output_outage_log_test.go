package wled_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// loggedLine is one log record: its level, message and attributes by key.
type loggedLine struct {
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

// lineRecorder keeps every record logged through it, with the attributes of the loggers
// derived from it (slog.Logger.With).
type lineRecorder struct {
	mu    sync.Mutex
	lines []loggedLine
}

func (h *lineRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *lineRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &derivedRecorder{root: h, attrs: as}
}
func (h *lineRecorder) WithGroup(string) slog.Handler { return h }
func (h *lineRecorder) Handle(_ context.Context, r slog.Record) error {
	h.record(r, nil)
	return nil
}

func (h *lineRecorder) record(r slog.Record, preset []slog.Attr) {
	l := loggedLine{level: r.Level, msg: r.Message, attrs: map[string]slog.Value{}}
	for _, a := range preset {
		l.attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.Resolve()
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, l)
	h.mu.Unlock()
}

// derivedRecorder is a lineRecorder's handler for a logger with attributes of its own.
type derivedRecorder struct {
	root  *lineRecorder
	attrs []slog.Attr
}

func (h *derivedRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *derivedRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &derivedRecorder{root: h.root, attrs: append(slices.Clip(h.attrs), as...)}
}
func (h *derivedRecorder) WithGroup(string) slog.Handler { return h }
func (h *derivedRecorder) Handle(_ context.Context, r slog.Record) error {
	h.root.record(r, h.attrs)
	return nil
}

// with returns the lines logged with message msg.
func (h *lineRecorder) with(msg string) []loggedLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []loggedLine
	for _, l := range h.lines {
		if l.msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// refusingStrip is a strip's UDP port on loopback that can be taken away (datagrams to it are
// refused: its WLED reboots) and given back.
type refusingStrip struct {
	t    *testing.T
	addr *net.UDPAddr
	conn *net.UDPConn
}

// newRefusingStrip picks a free port and leaves it unbound: the strip starts away.
func newRefusingStrip(t *testing.T) *refusingStrip {
	t.Helper()
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &refusingStrip{t: t, addr: probe.LocalAddr().(*net.UDPAddr)}
	probe.Close()
	t.Cleanup(func() {
		if s.conn != nil {
			s.conn.Close()
		}
	})
	return s
}

func (s *refusingStrip) back() {
	s.t.Helper()
	c, err := net.ListenUDP("udp", s.addr)
	if err != nil {
		s.t.Fatalf("cannot bind the strip's port %d again: %v", s.addr.Port, err)
	}
	s.conn = c
}

func (s *refusingStrip) away() {
	s.conn.Close()
	s.conn = nil
}

// laterClock is the time, moved on by a test when its strip's next outage comes an evening later.
type laterClock struct{ skipped atomic.Int64 }

func (c *laterClock) now() time.Time       { return time.Now().Add(time.Duration(c.skipped.Load())) }
func (c *laterClock) pass(d time.Duration) { c.skipped.Add(int64(d)) }

// startOutputOnClock is wledtest.StartOutput for an output on clock.
func startOutputOnClock(t *testing.T, cfg wled.OutputConfig, clock *laterClock) *wled.Output {
	t.Helper()
	o, err := wled.NewOutputWithClock(cfg, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- o.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return o
}

// submitUntilLogged submits frames to o, as the frame loop does, until msg has been logged n times.
func submitUntilLogged(t *testing.T, o *wled.Output, logs *lineRecorder, msg string, n int) {
	t.Helper()
	frame := make([]byte, o.FrameBytes())
	for deadline := time.Now().Add(20 * time.Second); len(logs.with(msg)) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%q logged %d times, want %d", msg, len(logs.with(msg)), n)
		}
		o.Submit(frame)
	}
}

// submitFor submits frames to o, as the frame loop does, for d.
func submitFor(o *wled.Output, d time.Duration) {
	frame := make([]byte, o.FrameBytes())
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		o.Submit(frame)
	}
}

// TestOutputRecoveryLineCountsThisOutage: a strip that reboots twice in an evening. The line
// that says it is sending again must say how many sends failed in this outage and for how long,
// not the output's lifetime count: a second reboot's "errors=301" reads as a far worse outage
// than the first's, when it was the same. The lifetime count is the metrics'.
func TestOutputRecoveryLineCountsThisOutage(t *testing.T) {
	strip := newRefusingStrip(t)
	tg, _ := wled.ParseTarget("ddp://" + strip.addr.String() + "?leds=50")
	logs := &lineRecorder{}
	clock := &laterClock{}
	awaySince := time.Now()
	o := startOutputOnClock(t, wled.OutputConfig{Target: tg, Name: "WLED", Logger: slog.New(logs)}, clock)

	var outageSpans []time.Duration // from the strip going away to its recovery being logged
	for outage := 1; outage <= 2; outage++ {
		if outage == 2 {
			clock.pass(wled.ErrorLogInterval) // the second reboot comes later in the evening
			awaySince = time.Now()
			strip.away()
		}
		submitUntilLogged(t, o, logs, "wled send failed", outage)
		submitFor(o, 300*time.Millisecond) // a reboot takes a while: more sends fail
		strip.back()
		submitUntilLogged(t, o, logs, "wled sending again", outage)
		outageSpans = append(outageSpans, time.Since(awaySince))
	}

	total := o.Stats().SendErrors
	var sum uint64
	for i, l := range logs.with("wled sending again") {
		if v, ok := l.attrs["errors"]; ok {
			t.Errorf("recovery %d still gives the lifetime count errors=%v", i+1, v)
		}
		failed, ok := l.attrs["failed_sends"]
		if !ok || failed.Kind() != slog.KindUint64 || failed.Uint64() == 0 {
			t.Errorf("recovery %d: failed_sends = %v, want this outage's failed sends", i+1, failed)
			continue
		}
		sum += failed.Uint64()
		down, ok := l.attrs["down_for"]
		if !ok || down.Kind() != slog.KindDuration || down.Duration() <= 0 || down.Duration() > outageSpans[i] {
			t.Errorf("recovery %d: down_for = %v, want a duration in (0, %v]", i+1, down, outageSpans[i])
		}
	}
	if sum != total {
		t.Errorf("the two recoveries count %d failed sends, the output %d: each line must count its own outage's", sum, total)
	}
	for i, l := range logs.with("wled send failed") {
		if v, ok := l.attrs["errors"]; ok {
			t.Errorf("failure line %d gives the lifetime count errors=%v", i+1, v)
		}
	}
}
