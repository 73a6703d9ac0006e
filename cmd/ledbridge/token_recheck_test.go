package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// testClock is a wall clock a test sets, as NTP steps a Pi's.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestAccessTokenExpiryRechecked: a Pi without a real-time clock boots with the time it shut
// down at, weeks behind, and NTP steps it forward later; a daemon runs for weeks. The warning that
// supabase.access_token expires within 7 days comes when it falls, from the periodic re-check,
// at most once a day; a token that expires since is said at once, and so is a replaced token.
func TestAccessTokenExpiryRechecked(t *testing.T) {
	exp := time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)
	token := testJWT("u", exp)
	clock := &testClock{now: exp.Add(-21 * 24 * time.Hour)} // the boot clock, 3 weeks before exp
	var logs testlog.Buffer
	w := &accessTokenWatch{log: slog.New(slog.NewTextHandler(&logs, nil)), now: clock.Now}
	warnings := func() int { return strings.Count(logs.String(), "supabase.access_token exp") }

	w.set(token) // start-up
	if n := warnings(); n != 0 {
		t.Fatalf("%d warnings at boot, 3 weeks before exp:\n%s", n, logs.String())
	}
	clock.set(exp.Add(-72 * time.Hour)) // NTP steps the clock forward
	w.check()
	if n := warnings(); n != 1 || !strings.Contains(logs.String(), "expires at 2026-12-20T12:00:00Z (in 72h0m0s)") {
		t.Fatalf("after the NTP step, 3 days before exp: %d warnings, want 1:\n%s", n, logs.String())
	}
	for _, h := range []time.Duration{1, 2, 23} { // the hourly re-checks of the same day
		clock.set(exp.Add(-72*time.Hour + h*time.Hour))
		w.check()
	}
	if n := warnings(); n != 1 {
		t.Errorf("%d warnings within a day of the first, want 1:\n%s", n, logs.String())
	}
	clock.set(exp.Add(-48 * time.Hour)) // a day later
	w.check()
	if n := warnings(); n != 2 {
		t.Errorf("%d warnings a day after the first, want 2:\n%s", n, logs.String())
	}
	clock.set(exp.Add(-time.Hour))
	w.check()
	clock.set(exp.Add(time.Minute)) // expired: said at once, though the last warning is an hour old
	w.check()
	if n := warnings(); n != 4 || !strings.Contains(logs.String(), "supabase.access_token expired at") {
		t.Errorf("%d warnings once it has expired, want 4 with one saying so:\n%s", n, logs.String())
	}

	// A reload replaces the token: its warning comes at once.
	fresh := testJWT("u2", exp.Add(5*24*time.Hour))
	w.set(fresh)
	if n := warnings(); n != 5 || !strings.Contains(logs.String(), "(in 119h59m0s)") {
		t.Errorf("%d warnings after the token was replaced, want 5:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), fresh) {
		t.Errorf("the log quotes a token:\n%s", logs.String())
	}
}

// TestAccessTokenRecheckLoop: the re-check runs on each tick and stops when its owner's context
// ends (the package's goleak check finds a goroutine left behind).
func TestAccessTokenRecheckLoop(t *testing.T) {
	exp := time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)
	clock := &testClock{now: exp.Add(-30 * 24 * time.Hour)}
	var logs testlog.Buffer
	w := &accessTokenWatch{log: slog.New(slog.NewTextHandler(&logs, nil)), now: clock.Now}
	w.set(testJWT("u", exp))

	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		w.run(ctx, ticks)
	}()
	clock.set(exp.Add(-6 * 24 * time.Hour))
	ticks <- clock.Now() // received: the loop checks before it waits again
	cancel()
	<-stopped
	if !strings.Contains(logs.String(), "supabase.access_token expires at") {
		t.Errorf("no warning from the re-check 6 days before exp:\n%s", logs.String())
	}
}
