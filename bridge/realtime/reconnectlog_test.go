package realtime_test

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// steppingClock moves Now forward by each timer's duration as the timer is made and fires it at
// once, so a test goes through an hour of reconnect schedule in milliseconds and every time the
// client reads is the sum of the delays it chose. Timers longer than an hour fire only when the
// test calls fireLong: the test sets the heartbeat and push timeouts beyond that, so they cannot
// step the clock or cut a session on their own.
type steppingClock struct {
	mu   sync.Mutex
	now  time.Time
	long map[*steppedTimer]time.Duration // pending timers longer than an hour
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppingClock) NewTimer(d time.Duration) realtime.Timer {
	t := &steppedTimer{clock: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > time.Hour {
		if c.long == nil {
			c.long = map[*steppedTimer]time.Duration{}
		}
		c.long[t] = d
		return t
	}
	c.now = c.now.Add(d)
	t.ch <- c.now
	return t
}

// pendingLong counts the pending (made, not stopped, not fired) timers of duration d.
func (c *steppingClock) pendingLong(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, td := range c.long {
		if td == d {
			n++
		}
	}
	return n
}

// fireLong moves Now forward by d and fires the pending timers of at most d.
func (c *steppingClock) fireLong(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for t, td := range c.long {
		if td <= d {
			delete(c.long, t)
			t.ch <- c.now
		}
	}
}

type steppedTimer struct {
	clock *steppingClock
	ch    chan time.Time
}

func (t *steppedTimer) C() <-chan time.Time { return t.ch }
func (t *steppedTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	_, pending := t.clock.long[t]
	delete(t.clock.long, t)
	return pending
}

// TestReconnectWarningsAreRateLimited: while the server is unreachable (the venue's internet down
// overnight) the socket is retried every minute here (~10 s by default); the first failures are
// logged in full, then one summary per interval counts the ones held back, and the join that ends
// the outage is logged once with the number of failed attempts. No failure goes uncounted.
func TestReconnectWarningsAreRateLimited(t *testing.T) {
	const failures = 40
	srv := newFakeServer(t)
	srv.rejectUpgrades = failures
	var logs testlog.Buffer
	clk := &steppingClock{now: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)}
	h := startClient(t, srv, steppingConfig(&logs, clk))
	h.waitState(realtime.StateJoined, 30*time.Second)
	joinLasts(t, clk, &logs)
	h.stop()
	checkOutageLog(t, logs.String(), failures)
}

// TestReconnectWarningsAreRateLimitedWhenJoinsDoNotLast: a server that accepts each join and cuts
// the socket right after is not reachable either: a join that does not last (the test of the
// reconnect backoff, stableJoin) does not end the outage, so those failures are summarised like
// refused upgrades, and only the join that lasts logs "connected again", once.
func TestReconnectWarningsAreRateLimitedWhenJoinsDoNotLast(t *testing.T) {
	const failures = 40
	srv := newFakeServer(t)
	srv.dropAfterJoin = failures
	var logs testlog.Buffer
	clk := &steppingClock{now: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)}
	h := startClient(t, srv, steppingConfig(&logs, clk))
	srv.waitFor("a join on the last socket", 30*time.Second, func() bool {
		return len(srv.conns) == failures+1 && len(framesOnConn(srv, failures, "phx_join")) == 1
	})
	h.waitState(realtime.StateJoined, 30*time.Second)
	if n := strings.Count(logs.String(), `msg="realtime: connected again"`); n != 0 {
		t.Errorf("%d recovery lines while no join lasted, want none:\n%s", n, logs.String())
	}
	joinLasts(t, clk, &logs)
	h.stop()
	checkOutageLog(t, logs.String(), failures)
}

// steppingConfig runs a client on clk: 1 min between sockets, no jitter, and heartbeat and push
// timeouts that only fireLong fires.
func steppingConfig(logs *testlog.Buffer, clk *steppingClock) realtime.Config {
	return realtime.Config{
		Logger:            slog.New(slog.NewTextHandler(logs, nil)),
		Clock:             clk,
		Rand:              noJitter,
		ReconnectBackoff:  []time.Duration{time.Minute},
		HeartbeatInterval: 24 * time.Hour,
		PushTimeout:       24 * time.Hour,
	}
}

// joinLasts lets the current join last a heartbeat interval: it waits for the client's two
// timers of that length (the heartbeat's and the one that finds the join lasting), fires them and
// waits for the recovery line.
func joinLasts(t *testing.T, clk *steppingClock, logs *testlog.Buffer) {
	t.Helper()
	pollUntil(t, "the heartbeat and lasting-join timers", func() bool { return clk.pendingLong(24*time.Hour) >= 2 })
	clk.fireLong(24 * time.Hour)
	pollUntil(t, "the recovery line", func() bool {
		return strings.Contains(logs.String(), `msg="realtime: connected again"`)
	})
}

// pollUntil checks cond every few milliseconds until it holds; after 30 s the test fails.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkOutageLog checks the log of an outage of failures lost sockets: the first few in full,
// then summaries counting the ones held back, every failure counted, and one recovery line.
func checkOutageLog(t *testing.T, log string, failures int) {
	t.Helper()
	checkFailureLog(t, log, failures, "realtime: socket lost; reconnecting", "realtime: still reconnecting")
}

// checkFailureLog checks the log of an outage of failures of one kind, logged in full as inFull
// and summarised as summary.
func checkFailureLog(t *testing.T, log string, failures int, inFull, summary string) {
	t.Helper()
	var full, summaries, heldBack, recovered int
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		switch {
		case strings.Contains(line, `msg="`+inFull+`"`):
			if summaries > 0 {
				t.Errorf("a failure logged in full after the summaries began: %s", line)
			}
			full++
		case strings.Contains(line, `msg="`+summary+`"`):
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
		t.Errorf("the reconnect logged %d recovery lines, want 1:\n%s", recovered, log)
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
