package realtime_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// flapConfig is steppingConfig with DEBUG lines logged too, so that a test sees the connect and
// join lines of a flapping link demoted rather than lost.
func flapConfig(logs *testlog.Buffer, clk *steppingClock) realtime.Config {
	cfg := steppingConfig(logs, clk)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return cfg
}

// countLines counts the log lines with the given level and message.
func countLines(log, level, msg string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, " level="+level+" ") && strings.Contains(line, ` msg="`+msg+`"`) {
			n++
		}
	}
	return n
}

// TestFlappingLinkConnectAndJoinLinesAreBounded: a server that accepts every socket, lets the
// join's reply through and cuts the socket right after (a project over its limits, a proxy that
// drops WebSockets) got "socket connected" and "joined" at INFO on every cycle, an unbounded
// stream into journald beside the rate-limited reconnect warnings. They follow the same rule as
// those: the first few cycles of the outage in full, then nothing at INFO (DEBUG only) while the
// summaries every reconnectSummaryEvery go on, until a join lasts and "connected again" ends it.
func TestFlappingLinkConnectAndJoinLinesAreBounded(t *testing.T) {
	const cycles = 200 // 200 min of a 1-min reconnect schedule
	srv := newFakeServer(t)
	srv.dropAfterJoin = cycles
	var logs testlog.Buffer
	clk := &steppingClock{now: time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)}
	h := startClient(t, srv, flapConfig(&logs, clk))
	srv.waitFor("a join on the last socket", 30*time.Second, func() bool {
		return len(srv.conns) == cycles+1 && len(framesOnConn(srv, cycles, "phx_join")) == 1
	})
	h.waitState(realtime.StateJoined, 30*time.Second)
	joinLasts(t, clk, &logs)
	h.stop()
	log := logs.String()

	for _, msg := range []string{"realtime: socket connected", "realtime: joined"} {
		info, debug := countLines(log, "INFO", msg), countLines(log, "DEBUG", msg)
		// The first socket's (no outage yet) and the outage's first few (reconnectWarnInFull).
		if info < 2 || info > 6 {
			t.Errorf("%q logged %d times at INFO over %d cycles of a flapping link, want the first few (2 to 6)", msg, info, cycles)
		}
		// Every socket connects; a join whose socket is cut as its reply arrives may go unseen.
		if info+debug > cycles+1 || info+debug < cycles/2 {
			t.Errorf("%q logged %d times at INFO + %d at DEBUG, want about one for each of the %d sockets", msg, info, debug, cycles+1)
		}
	}
	if n := strings.Count(log, "level=INFO"); n > 20 {
		t.Errorf("%d INFO lines over %d cycles of a flapping link, want a bounded few:\n%s", n, cycles, log)
	}
	checkOutageLog(t, log, cycles)
}

// TestConnectAndJoinAfterOutageLoggedOnce: after a real outage (the server unreachable, no socket
// in between) the socket that comes back and its join are logged at INFO, once each, however long
// the outage was; so are they after a flapping spell has ended with a lasting join and a new
// outage begins.
func TestConnectAndJoinAfterOutageLoggedOnce(t *testing.T) {
	const failures = 40
	srv := newFakeServer(t)
	srv.rejectUpgrades = failures
	var logs testlog.Buffer
	clk := &steppingClock{now: time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)}
	h := startClient(t, srv, flapConfig(&logs, clk))
	h.waitState(realtime.StateJoined, 30*time.Second)
	joinLasts(t, clk, &logs)
	for _, msg := range []string{"realtime: socket connected", "realtime: joined"} {
		if info, debug := countLines(logs.String(), "INFO", msg), countLines(logs.String(), "DEBUG", msg); info != 1 || debug != 0 {
			t.Errorf("after an outage of %d failed sockets, %q logged %d times at INFO and %d at DEBUG, want once at INFO", failures, msg, info, debug)
		}
	}

	// A flapping spell, ended by a lasting join, then an outage of refused upgrades: its end is
	// logged in full again.
	srv.mu.Lock()
	srv.dropAfterJoin = 30
	srv.mu.Unlock()
	srv.kill()
	srv.restart()
	srv.waitFor("the flapping spell's sockets", 30*time.Second, func() bool { return len(srv.conns) == 1+31 })
	h.waitState(realtime.StateJoined, 30*time.Second)
	before := logs.String()
	pollUntil(t, "the heartbeat and lasting-join timers", func() bool { return clk.pendingLong(24*time.Hour) >= 2 })
	clk.fireLong(24 * time.Hour)
	pollUntil(t, "the flapping spell's recovery line", func() bool {
		return strings.Count(logs.String(), `msg="realtime: connected again"`) == 2
	})
	srv.mu.Lock()
	srv.rejectUpgrades = failures
	srv.mu.Unlock()
	srv.kill()
	srv.restart()
	srv.waitFor("the socket after the second outage", 30*time.Second, func() bool { return len(srv.conns) == 1+31+1 })
	h.waitState(realtime.StateJoined, 30*time.Second)
	pollUntil(t, "the join after the second outage", func() bool {
		after := logs.String()[len(before):]
		return countLines(after, "INFO", "realtime: joined") == 1
	})
	after := logs.String()[len(before):]
	if info := countLines(after, "INFO", "realtime: socket connected"); info != 1 {
		t.Errorf("after the outage that followed a flapping spell, %q logged %d times at INFO, want once:\n%s", "realtime: socket connected", info, after)
	}
	h.stop()
}
