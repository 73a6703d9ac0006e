package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// Presence keys cost a client nothing: one client joining and leaving under a new key each time,
// with a meta the session cannot read, must not write three log lines per round. The first lines
// are logged; the rest are held back and counted, and the next line let through says how many.
func TestPresenceFloodIsSummarisedInTheLog(t *testing.T) {
	logs := &logCounter{}
	clock := newManualClock()
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Logger = slog.New(logs)
		c.Clock = clock // stands still during the flood: nothing is let through for time passing
	})
	const rounds = 60
	for i := range rounds {
		roguePresence(t, r, fmt.Sprintf("rogue-%d", i))
	}
	// The flood's first lines are logged (the session logs a join or a leave after it let go of
	// its lock, so the lines are waited for, not counted at once).
	waitFor(t, 10*time.Second, "the flood's first join and meta warning logged", func() bool {
		return logs.count(msgJoined) > 0 && logs.count(msgBadMeta) > 0
	})

	// Later, the next join is logged, with everything held back meanwhile.
	clock.advance(10 * time.Minute)
	roguePresence(t, r, "rogue-last")
	wantPresence, wantMeta := 2*(rounds+1), rounds+1
	presenceLines := func() int { return logs.count(msgJoined) + logs.count(msgLeft) + logs.sum(attrPresenceSuppressed) }
	metaLines := func() int { return logs.count(msgBadMeta) + logs.sum(attrWarningsSuppressed) }
	waitFor(t, 10*time.Second, fmt.Sprintf("%d join and leave lines and %d meta warnings logged or reported held back", wantPresence, wantMeta), func() bool {
		return presenceLines() >= wantPresence && metaLines() >= wantMeta
	})
	joined, left, badMeta := logs.count(msgJoined), logs.count(msgLeft), logs.count(msgBadMeta)
	if got := presenceLines(); got != wantPresence {
		t.Errorf("join and leave lines logged plus those reported held back = %d, want %d (joined %d, left %d)", got, wantPresence, joined, left)
	}
	if got := metaLines(); got != wantMeta {
		t.Errorf("meta warnings logged plus those reported held back = %d, want %d (logged %d)", got, wantMeta, badMeta)
	}
	if joined+left >= rounds || badMeta >= rounds/2 {
		t.Fatalf("%d joins and leaves under new keys with unreadable metas logged %d joins, %d leaves and %d meta warnings; want the flood summarised",
			rounds+1, joined, left, badMeta)
	}
}

// A band's comings and goings, a few a minute, are all logged, and none is reported held back.
func TestPresenceAtABandsPaceIsLoggedInFull(t *testing.T) {
	logs := &logCounter{}
	clock := newManualClock()
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Logger = slog.New(logs)
		c.Clock = clock
	})
	members := presenceMembers{r: r}
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	const band = 14 // 28 lines over 9 minutes, more than a flood is let write at once
	var keys []string
	for i := range band {
		key := fmt.Sprintf("m%02d", i)
		keys = append(keys, key)
		members.join(t, key, t0.Add(time.Duration(i)*time.Second), false)
		waitFor(t, 10*time.Second, key+" followed", func() bool { return slices.Contains(r.followed(), key) })
		clock.advance(20 * time.Second)
	}
	for _, key := range keys {
		members.leave(key)
		waitFor(t, 10*time.Second, key+" released", func() bool { return !slices.Contains(r.followed(), key) })
		clock.advance(20 * time.Second)
	}
	// A leave is logged after the session let go of its lock: wait for the lines.
	waitFor(t, 10*time.Second, fmt.Sprintf("%d joins and %d leaves logged", band, band), func() bool {
		return logs.count(msgJoined) >= band && logs.count(msgLeft) >= band
	})
	if joined, left := logs.count(msgJoined), logs.count(msgLeft); joined != band || left != band {
		t.Fatalf("a band of %d joining and leaving at a few a minute logged %d joins and %d leaves", band, joined, left)
	}
	if held := logs.sum(attrPresenceSuppressed); held != 0 {
		t.Fatalf("%d Presence lines reported held back at a band's pace", held)
	}
}

const (
	msgJoined              = "musician joined"
	msgLeft                = "musician left"
	msgBadMeta             = "Presence meta with unreadable fields; they are left unset"
	attrPresenceSuppressed = "presence_lines_suppressed"
	attrWarningsSuppressed = "warnings_suppressed"
)

// roguePresence joins the rig's room under key with a meta whose name is a number, waits until
// the session follows key, leaves, and waits until the session let it go.
func roguePresence(t *testing.T, r *rig, key string) {
	t.Helper()
	c, err := realtime.New(realtime.Config{URL: r.hubURL, APIKey: "anon", Channel: testCode, PresenceKey: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 10*time.Second, key+" joined", func() bool { return c.State() == realtime.StateJoined })
	if err := c.Track(ctx, map[string]any{"name": 7, "role": "musician"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, key+" followed", func() bool { return slices.Contains(r.followed(), key) })
	cancel()
	<-done
	waitFor(t, 10*time.Second, key+" released", func() bool { return !slices.Contains(r.followed(), key) })
}

// logCounter is a slog.Handler that counts the records at Info and above by message and sums
// their integer attributes by key.
type logCounter struct {
	mu   sync.Mutex
	msgs map[string]int
	sums map[string]int64
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }

func (l *logCounter) Handle(_ context.Context, rec slog.Record) error {
	if rec.Level < slog.LevelInfo {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.msgs == nil {
		l.msgs, l.sums = map[string]int{}, map[string]int64{}
	}
	l.msgs[rec.Message]++
	rec.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindInt64 {
			l.sums[a.Key] += a.Value.Int64()
		}
		return true
	})
	return nil
}

// The session's parts log through With: their records count in the same tallies.
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func (l *logCounter) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msgs[msg]
}

func (l *logCounter) sum(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.sums[key])
}

// manualClock is a session clock that moves only when the test advances it; the frame loop's
// sleeps end when it passes their deadline.
type manualClock struct {
	mu   sync.Mutex
	now  time.Time
	wake chan struct{}
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC), wake: make(chan struct{})}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) SleepUntil(ctx context.Context, due time.Time) error {
	for {
		c.mu.Lock()
		passed, wake := !c.now.Before(due), c.wake
		c.mu.Unlock()
		if passed {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	close(c.wake)
	c.wake = make(chan struct{})
}
