package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/ledbridge/ledbridge/bridge/sdnotify"
)

// portWait is how long start-up waits for a listening port that is in use, or an address that is
// not on this machine yet, before it gives up (exit status 1, which ledbridge.service restarts).
// Failing at once made a port held by another program a restart loop of one start a second, each
// writing the error and systemd's four lines to the journal, for as long as the port stayed
// taken (review 324); waiting also outlasts what frees itself: a technician's `ledbridge join`
// in a terminal, or a Wi-Fi address that arrives after network-online.target. It leaves
// readyGrace within systemd's default start timeout (90 s).
const portWait = 30 * time.Second

// portRetryEvery is how often a port that is in use is tried again while start-up waits for it.
const portRetryEvery = time.Second

// errStoppedWaiting is listenTCP's error when its context ends (SIGTERM, Ctrl-C) while it waits
// for a port: main exits 0 for it, as for a stop of a running join or hub. With status 130
// systemd's `systemctl stop` during the wait left the unit failed (review 329).
var errStoppedWaiting = errors.New("stopped while waiting for a port")

// listenTCP binds addr for what ("status page", "room server") and returns the listener. A port
// in use or an address not (yet) on this machine is tried again every portRetryEvery until
// giveUpAt (one deadline for all of start-up's ports, so that together they keep within
// portWait), with one line saying so, systemd's status line naming it and its watchdog fed
// meanwhile (n may be nil); a signal ends the wait with errStoppedWaiting. A port the daemon may
// not bind (below 1024 without CAP_NET_BIND_SERVICE, which ledbridge.service does not grant) is a
// configError: no restart can fix it.
func listenTCP(ctx context.Context, addr, what string, giveUpAt time.Time, log *slog.Logger, n *sdnotify.Notifier) (net.Listener, error) {
	var lc net.ListenConfig
	var start time.Time
	var retry *time.Ticker // set once waiting
	for {
		ln, err := lc.Listen(ctx, "tcp", addr)
		switch {
		case err == nil:
			if retry != nil {
				log.Info(what+": listening after waiting", "addr", addr, "waited", time.Since(start).Round(time.Second))
			}
			return ln, nil
		case errors.Is(err, syscall.EACCES):
			return nil, configError{fmt.Errorf("%s: %w (ports below 1024 need CAP_NET_BIND_SERVICE, which ledbridge.service does not grant: choose a port of 1024 or above)", what, err)}
		case !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EADDRNOTAVAIL):
			return nil, fmt.Errorf("%s: %w", what, err)
		case retry != nil && !time.Now().Before(giveUpAt):
			return nil, fmt.Errorf("%s: %w (waited %v)", what, err, time.Since(start).Round(time.Second))
		case retry == nil: // the first refusal starts the wait (so these defers run once)
			start, retry = time.Now(), time.NewTicker(portRetryEvery)
			defer retry.Stop()
			log.Warn(what+": cannot listen yet; trying again every second", "addr", addr, "err", err, "gives_up_in", time.Until(giveUpAt).Round(time.Second))
			if n != nil {
				n.Status(fmt.Sprintf("Starting; waiting to listen on %s for the %s: %v", addr, what, unwrapSyscall(err)))
				watchCtx, stopWatch := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() {
					defer close(done)
					n.Watchdog(watchCtx, func() time.Duration { return 0 }) // start-up is waiting, not hung
				}()
				defer func() { stopWatch(); <-done }()
			}
		}
		select {
		case <-ctx.Done():
			log.Info(what+": stopped while waiting to listen", "addr", addr)
			return nil, errStoppedWaiting
		case <-retry.C:
		}
	}
}

// unwrapSyscall is err's innermost error ("address already in use"), for a status line.
func unwrapSyscall(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
