// Package sdnotify tells systemd how ledbridge is doing: READY once the room is joined or hosted
// (join sends it after 45 s anyway, saying the room is not joined yet, so that a venue whose
// Supabase is unreachable at boot still gets its idle look and its watchdog),
// a readable STATUS line, RELOADING/STOPPING, and watchdog pings that stop when the frame loop
// stops ticking, so that a stuck loop gets restarted.
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

// Watchdog pings systemd's watchdog every half WatchdogSec for as long as alive() says the frame
// loop is ticking; it returns when ctx is done. Without a watchdog configured it returns at once.
func (n *Notifier) Watchdog(ctx context.Context, alive func() bool) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	n.watchdog(ctx, interval/2, alive)
}

func (n *Notifier) watchdog(ctx context.Context, every time.Duration, alive func() bool) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if alive() {
				n.send(daemon.SdNotifyWatchdog)
			}
		}
	}
}
