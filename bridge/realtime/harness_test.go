package realtime_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness runs a Client and records its statuses and events.
type harness struct {
	t      *testing.T
	c      *realtime.Client
	cancel context.CancelFunc
	done   chan error
	evDone chan struct{}

	mu       sync.Mutex
	statuses []realtime.Status
	events   []realtime.Event
	changed  chan struct{}
	stopped  bool
}

// startClient creates a client for srv (fields of cfg that are zero get test defaults) and runs it.
func startClient(t *testing.T, srv *fakeServer, cfg realtime.Config) *harness {
	t.Helper()
	h := newHarness(t, srv, cfg)
	h.run()
	return h
}

func newHarness(t *testing.T, srv *fakeServer, cfg realtime.Config) *harness {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = srv.url()
	}
	if cfg.APIKey == "" {
		cfg.APIKey = anonKey
	}
	if cfg.Channel == "" {
		cfg.Channel = "ABC123"
	}
	if cfg.PresenceKey == "" {
		cfg.PresenceKey = "led-bridge-1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &harness{t: t, done: make(chan error, 1), evDone: make(chan struct{}), changed: make(chan struct{})}
	cfg.OnStatus = func(s realtime.Status) {
		h.mu.Lock()
		h.statuses = append(h.statuses, s)
		h.notifyLocked()
		h.mu.Unlock()
	}
	c, err := realtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	t.Cleanup(h.stop)
	return h
}

func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.c.Run(ctx) }()
	go func() {
		defer close(h.evDone)
		for ev := range h.c.Events() {
			h.mu.Lock()
			h.events = append(h.events, ev)
			h.notifyLocked()
			h.mu.Unlock()
		}
	}()
}

func (h *harness) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// stop cancels Run and waits for it and the event reader to finish.
func (h *harness) stop() {
	h.mu.Lock()
	if h.stopped || h.cancel == nil {
		h.mu.Unlock()
		return
	}
	h.stopped = true
	h.mu.Unlock()
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatal("Run did not return after cancel")
	}
	<-h.evDone
}

func (h *harness) waitFor(what string, timeout time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		ok := cond()
		ch := h.changed
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			h.mu.Lock()
			defer h.mu.Unlock()
			h.t.Fatalf("timed out after %v waiting for %s; statuses %v; %d events", timeout, what, h.statuses, len(h.events))
		}
	}
}

func (h *harness) waitState(state realtime.State, timeout time.Duration) {
	h.t.Helper()
	h.waitFor("state "+state.String(), timeout, func() bool {
		return len(h.statuses) > 0 && h.statuses[len(h.statuses)-1].State == state
	})
}

// retries returns the RetryIn of every reconnecting status so far.
func (h *harness) retries() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []time.Duration
	for _, s := range h.statuses {
		if s.State == realtime.StateReconnecting {
			out = append(out, s.RetryIn)
		}
	}
	return out
}

func (h *harness) eventsOf(kind realtime.EventKind) []realtime.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []realtime.Event
	for _, e := range h.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// scaledClock runs every timer factor times faster, so default schedules (1, 2, 5, 10 s) pass in
// milliseconds while the client still chooses, and reports, the real values.
// Now runs factor times faster too, so durations measured with it match the timers; advance moves
// Now forward at once (timers keep their pace), for a test that needs time to have passed.
type scaledClock struct {
	factor time.Duration
	base   time.Time
	ahead  atomic.Int64 // nanoseconds added by advance
}

func newScaledClock(factor time.Duration) *scaledClock {
	return &scaledClock{factor: factor, base: time.Now()}
}

func (c *scaledClock) Now() time.Time {
	return c.base.Add(time.Since(c.base)*c.factor + time.Duration(c.ahead.Load()))
}

func (c *scaledClock) advance(d time.Duration) { c.ahead.Add(int64(d)) }
func (c *scaledClock) NewTimer(d time.Duration) realtime.Timer {
	return sysTimer{time.NewTimer(d / c.factor)}
}

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time { return t.t.C }
func (t sysTimer) Stop() bool          { return t.t.Stop() }

func noJitter() float64 { return 0 }

// Demo tokens from the recordings (fake signatures).
const (
	anonKey   = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE3OTU2MzMxMjF9.sig"
	userToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoiYXV0aGVudGljYXRlZCIsInN1YiI6InUtMSIsImV4cCI6MTc5NTYzNjcyMX0.sig2"
)
