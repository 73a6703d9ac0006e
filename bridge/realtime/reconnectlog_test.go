package realtime_test

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// steppingClock moves Now forward by each timer's duration as the timer is made and fires it at
// once, so a test goes through an hour of reconnect schedule in milliseconds and every time the
// client reads is the sum of the delays it chose. Timers longer than an hour never fire: the test
// sets the heartbeat and push timeouts beyond that, so they cannot step the clock or cut a session.
type steppingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppingClock) NewTimer(d time.Duration) realtime.Timer {
	t := &steppedTimer{ch: make(chan time.Time, 1)}
	if d > time.Hour {
		return t
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	t.ch <- c.now
	c.mu.Unlock()
	return t
}

type steppedTimer struct{ ch chan time.Time }

func (t *steppedTimer) C() <-chan time.Time { return t.ch }
func (t *steppedTimer) Stop() bool          { return len(t.ch) > 0 }

// TestReconnectWarningsAreRateLimited: while the server is unreachable (the venue's internet down
// overnight) the socket is retried every minute here (~10 s by default); the first failures are
// logged in full, then one summary per interval counts the ones held back, and the join that ends
// the outage is logged once with the number of failed attempts. No failure goes uncounted.
func TestReconnectWarningsAreRateLimited(t *testing.T) {
	const failures = 40
	srv := newFakeServer(t)
	srv.rejectUpgrades = failures
	var logs syncBuffer
	h := startClient(t, srv, realtime.Config{
		Logger:            slog.New(slog.NewTextHandler(&logs, nil)),
		Clock:             &steppingClock{now: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)},
		Rand:              noJitter,
		ReconnectBackoff:  []time.Duration{time.Minute},
		HeartbeatInterval: 24 * time.Hour,
		PushTimeout:       24 * time.Hour,
	})
	h.waitState(realtime.StateJoined, 30*time.Second)
	h.stop()

	var full, summaries, heldBack, recovered int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		switch {
		case strings.Contains(line, `msg="realtime: socket lost; reconnecting"`):
			if summaries > 0 {
				t.Errorf("a failure logged in full after the summaries began: %s", line)
			}
			full++
		case strings.Contains(line, `msg="realtime: still reconnecting"`):
			n, err := strconv.Atoi(attr(line, "held_back"))
			if err != nil || n <= 0 {
				t.Errorf("summary without a count of the failures held back: %s", line)
			}
			summaries++
			heldBack += n
		case strings.Contains(line, `msg="realtime: connected again"`):
			if attr(line, "failed_attempts") != strconv.Itoa(failures) || attr(line, "down_for") == "" {
				t.Errorf("the recovery line does not say how long the outage lasted and how many attempts failed: %s", line)
			}
			recovered++
		}
	}
	if full == 0 || full > 5 {
		t.Errorf("%d failures logged in full, want the first few (1 to 5)", full)
	}
	if summaries == 0 || summaries > failures/4 {
		t.Errorf("%d summary lines for %d failures", summaries, failures)
	}
	if got := full + summaries + heldBack; got != failures {
		t.Errorf("%d in full + %d summaries + %d held back = %d, want all %d failures counted", full, summaries, heldBack, got, failures)
	}
	if recovered != 1 {
		t.Errorf("the reconnect logged %d recovery lines, want 1:\n%s", recovered, logs.String())
	}
}

// attr returns the value of key=value in a text-handler line ("" if absent).
func attr(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+2:]
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return v
}
