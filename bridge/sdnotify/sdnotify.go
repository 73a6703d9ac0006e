// Package sdnotify tells systemd how ledbridge is doing: READY once the room is joined or hosted
// (join sends it after 45 s anyway, saying the room is not joined yet, so that a venue whose
// Supabase is unreachable at boot still gets its idle look and its watchdog),
// a readable STATUS line, RELOADING/STOPPING, and watchdog pings that stop when the frame loop
// has not ticked for half WatchdogSec, so that a stuck loop (not a slow one) gets restarted.
//
// Outside systemd (no NOTIFY_SOCKET) every call is a silent no-op.
package sdnotify

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/ledbridge/ledbridge/bridge/lograte"
)

// Notifier sends sd_notify messages.
type Notifier struct {
	log    *slog.Logger
	notify func(state string) (bool, error)

	mu       sync.Mutex
	warned   bool
	lastStat string
}

// New returns a Notifier that logs its first failure to log (nil: slog.Default()).
func New(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.Default()
	}
	return &Notifier{log: log, notify: func(s string) (bool, error) { return daemon.SdNotify(false, s) }}
}

func (n *Notifier) send(state string) {
	sent, err := n.notify(state)
	if err != nil {
		n.mu.Lock()
		defer n.mu.Unlock()
		if !n.warned {
			n.warned = true
			n.log.Warn("sd_notify failed; systemd will not hear from ledbridge", "err", err)
		}
	}
	_ = sent // false with no error: not running under systemd, nothing to say
}

// Ready reports start-up (or a reload) complete with a status line, which Status then counts as
// the one shown: the next different Status line replaces it.
func (n *Notifier) Ready(status string) {
	n.mu.Lock()
	n.lastStat = status
	n.mu.Unlock()
	n.send(daemon.SdNotifyReady + "\nSTATUS=" + status)
}

// Status updates the one-line status `systemctl status` shows, when it changed.
func (n *Notifier) Status(status string) {
	n.mu.Lock()
	same := status == n.lastStat
	n.lastStat = status
	n.mu.Unlock()
	if !same {
		n.send("STATUS=" + status)
	}
}

// Reloading reports a configuration reload in progress; call Ready when done.
func (n *Notifier) Reloading() {
	// SdNotifyMonotonicUsec is the whole "MONOTONIC_USEC=…\n" line (or "" without a monotonic
	// clock); systemd wants it beside RELOADING=1 (and requires it for Type=notify-reload).
	n.send(strings.TrimSuffix(daemon.SdNotifyReloading+"\n"+daemon.SdNotifyMonotonicUsec(), "\n"))
}

// Stopping reports shutdown.
func (n *Notifier) Stopping() { n.send(daemon.SdNotifyStopping) }

// Watchdog pings systemd's watchdog every pingEvery(WatchdogSec) for as long as the frame loop
// is alive: sinceTick (how long ago its last tick started, or, before its first tick, how long
// ago the session was made: NewTicker's base) is under hangAfter(WatchdogSec). It returns when ctx is done. Without a watchdog configured it
// returns at once.
func (n *Notifier) Watchdog(ctx context.Context, sinceTick func() time.Duration) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	t := time.NewTicker(pingEvery(interval))
	defer t.Stop()
	w := &watchdog{hangAfter: hangAfter(interval), warn: lograte.Limiter{Every: withheldWarnEvery}}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n.check(w, now, sinceTick())
		}
	}
}

// pingEvery is how often the watchdog is pinged: a quarter of WatchdogSec, at most a second.
// Pinging at half WatchdogSec left no margin: one check that found the loop not alive made the
// gap between two pings WatchdogSec itself, and systemd killed the daemon on the scheduling
// jitter. At a quarter, a withheld check leaves half WatchdogSec to spare; the second's cap keeps
// a ping's own lateness on a starved Pi (review 280 saw the status page answer 0.7 s late) small
// beside it, for one datagram a second.
func pingEvery(timeout time.Duration) time.Duration { return min(timeout/4, time.Second) }

// hangAfter is how long without a tick the frame loop counts as hung: half WatchdogSec. The
// watchdog is for a loop that has stopped, not a slow one: a Pi that cannot keep up still ticks a
// few times a second and still drives its strips, and restarting it makes nothing faster (review
// 280: 9 s to reconnect its musicians at 2 % of a core). A hung loop is killed within 1.5
// WatchdogSec of its last tick.
func hangAfter(timeout time.Duration) time.Duration { return timeout / 2 }

// HangAfter is the bound Watchdog holds the frame loop to, for /healthz to call it hung at the
// same moment: half WatchdogSec when systemd's watchdog is on for this process, else half
// unitWatchdog. /healthz had its own 5 s: with a drop-in's WatchdogSec=30s it said the loop
// was not ticking while the watchdog kept pinging for 10 s more.
func HangAfter() time.Duration {
	if interval, err := daemon.SdWatchdogEnabled(false); err == nil && interval > 0 {
		return hangAfter(interval)
	}
	return hangAfter(unitWatchdog)
}

// unitWatchdog is systemd/ledbridge.service's WatchdogSec.
const unitWatchdog = 10 * time.Second

// withheldWarnEvery is the least time between two "ping withheld" WARN lines.
const withheldWarnEvery = time.Minute

// watchdog is the state of Watchdog's checks.
type watchdog struct {
	hangAfter   time.Duration
	withholding bool
	warn        lograte.Limiter
}

// check pings the watchdog at now if the loop's last tick (since ago) is within w.hangAfter;
// else it withholds the ping and logs one WARN per run of withheld pings, at most one a
// withheldWarnEvery.
func (n *Notifier) check(w *watchdog, now time.Time, since time.Duration) {
	if since < w.hangAfter {
		w.withholding = false
		n.send(daemon.SdNotifyWatchdog)
		return
	}
	if w.withholding {
		return
	}
	w.withholding = true
	if _, ok := w.warn.Allow(now); ok {
		n.log.Warn("withholding the systemd watchdog ping: the frame loop has not ticked for "+since.Round(100*time.Millisecond).String()+
			"; systemd restarts ledbridge if it stays stuck", "hang_after", w.hangAfter)
	}
}
