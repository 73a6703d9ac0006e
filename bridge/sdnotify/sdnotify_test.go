package sdnotify

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/bridge/lograte"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// listen makes a unix datagram socket like systemd's notify socket and points NOTIFY_SOCKET at it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func read(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestMessagesReachTheNotifySocket(t *testing.T) {
	conn := listen(t)
	n := New(nil)
	n.Ready("Joined ABC123; 2 musicians; 3 strips")
	if got := read(t, conn); got != "READY=1\nSTATUS=Joined ABC123; 2 musicians; 3 strips" {
		t.Fatalf("ready = %q", got)
	}
	n.Status("Reconnecting")
	n.Status("Reconnecting") // unchanged: not sent again
	n.Status("Joined")
	if got := read(t, conn); got != "STATUS=Reconnecting" {
		t.Fatalf("status = %q", got)
	}
	if got := read(t, conn); got != "STATUS=Joined" {
		t.Fatalf("status = %q", got)
	}
	n.Reloading()
	if got := read(t, conn); !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*$`).MatchString(got) {
		t.Fatalf("reloading = %q", got)
	}
	// READY's own status line replaces the last one: the periodic line must be sent again (it was
	// not, and `systemctl status` said "Reloaded" until something changed).
	n.Ready("Reloaded")
	if got := read(t, conn); got != "READY=1\nSTATUS=Reloaded" {
		t.Fatalf("ready after reload = %q", got)
	}
	n.Status("Joined")
	if got := read(t, conn); got != "STATUS=Joined" {
		t.Fatalf("status after reload = %q", got)
	}
	n.Stopping()
	if got := read(t, conn); got != "STOPPING=1" {
		t.Fatalf("stopping = %q", got)
	}
}

func TestWatchdogPingsOnlyWhileAlive(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "40000") // pinged every 10 ms, hung after 20 ms without a tick
	t.Setenv("WATCHDOG_PID", "")
	n := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var stuck atomic.Bool
	var stuckChecks atomic.Int32 // the watchdog's checks that found the loop stuck
	sinceTick := func() time.Duration {
		if stuck.Load() {
			stuckChecks.Add(1)
			return time.Hour
		}
		return 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Watchdog(ctx, sinceTick) }()
	if got := read(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("ping = %q", got)
	}
	stuck.Store(true)
	// Let an in-flight ping land: the checks run one after another, so once one has found the
	// loop stuck, a check that read it alive before has sent its ping.
	for deadline := time.Now().Add(10 * time.Second); stuckChecks.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watchdog did not check the stuck loop")
		}
	}
	drain := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	for {
		if _, err := conn.Read(drain); err != nil {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if _, err := conn.Read(drain); err == nil {
		t.Fatal("watchdog pinged while the loop was stuck")
	}
	cancel()
	<-done
}

// The watchdog pings more often than half WatchdogSec, and a loop that ticked within half
// WatchdogSec counts as alive: review 280's starved daemon ticked one to three times a second,
// yet a check that found its last tick 1.x s old withheld a ping, the next came WatchdogSec
// later, and systemd killed a working daemon (restarting a slow Pi makes it no faster).
func TestWatchdogPingsASlowLoopAndWithholdsOnlyForAHungOne(t *testing.T) {
	const timeout = 10 * time.Second // WatchdogSec
	if got := pingEvery(timeout); got != time.Second {
		t.Errorf("pings every %v at WatchdogSec=10s, want 1s", got)
	}
	if got := pingEvery(2 * time.Second); got != 500*time.Millisecond {
		t.Errorf("pings every %v at WatchdogSec=2s, want a quarter of it", got)
	}
	var sent []string
	var logs bytes.Buffer
	n := &Notifier{log: slog.New(slog.NewTextHandler(&logs, nil)), notify: func(s string) (bool, error) {
		sent = append(sent, s)
		return true, nil
	}}
	w := &watchdog{hangAfter: hangAfter(timeout), warn: lograte.Limiter{Every: withheldWarnEvery}}
	start := time.Unix(1e9, 0)
	// One check a second; the loop's last tick at each, then whether the check pings.
	for i, c := range []struct {
		at    time.Duration // after start
		since time.Duration
		ping  bool
	}{
		{1 * time.Second, 20 * time.Millisecond, true},
		{2 * time.Second, 1500 * time.Millisecond, true}, // a slow loop: alive
		{3 * time.Second, 4900 * time.Millisecond, true},
		{4 * time.Second, 5 * time.Second, false}, // half WatchdogSec without a tick: hung
		{5 * time.Second, 6 * time.Second, false},
		{6 * time.Second, 300 * time.Millisecond, true},
		{7 * time.Second, 5100 * time.Millisecond, false}, // a new run, within the minute: no WARN
		{8 * time.Second, 100 * time.Millisecond, true},
		{90 * time.Second, 7 * time.Second, false}, // a new run a minute later: WARN
	} {
		before := len(sent)
		n.check(w, start.Add(c.at), c.since)
		if pinged := len(sent) > before; pinged != c.ping {
			t.Errorf("check %d (last tick %v ago): pinged %v, want %v", i, c.since, pinged, c.ping)
		}
	}
	for _, s := range sent {
		if s != "WATCHDOG=1" {
			t.Errorf("sent %q", s)
		}
	}
	out := logs.String()
	if warns := strings.Count(out, "level=WARN"); warns != 2 ||
		!strings.Contains(out, "the frame loop has not ticked for 5s") || !strings.Contains(out, "not ticked for 7s") {
		t.Errorf("%d WARN lines, want 2 (one per run of withheld pings, at most one a minute) saying how long:\n%s", warns, out)
	}
}

func TestNoSocketIsSilent(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n := New(nil)
	n.Ready("x")
	n.Watchdog(context.Background(), func() time.Duration { return 0 }) // returns at once: no watchdog
}

// HangAfter is the watchdog's bound, which /healthz uses too: half WatchdogSec, and 5 s (half the
// shipped unit's 10 s) without a watchdog.
func TestHangAfterFollowsWatchdogSec(t *testing.T) {
	t.Setenv("WATCHDOG_PID", "")
	t.Setenv("WATCHDOG_USEC", "30000000") // a drop-in's WatchdogSec=30s
	if got := HangAfter(); got != 15*time.Second {
		t.Errorf("WatchdogSec=30s: HangAfter() = %v, want 15s", got)
	}
	t.Setenv("WATCHDOG_USEC", "")
	if got := HangAfter(); got != 5*time.Second {
		t.Errorf("no watchdog: HangAfter() = %v, want 5s", got)
	}
}
