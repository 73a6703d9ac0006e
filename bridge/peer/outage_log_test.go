package peer

import (
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// startOutageIvy connects ivy (who offers) over cuttableNetwork, with the bridge's log in buf at
// Debug, and returns once the bridge is connected to her: cut drops every packet between them
// while set. failedAfter is both sides' ICE failed timeout (after 500 ms disconnected); with
// restartUncuts, the bridge's first offer (its ICE restart) ends the cut.
func startOutageIvy(t *testing.T, failedAfter time.Duration, restartUncuts bool) (*lockedBuffer, *atomic.Bool) {
	t.Helper()
	bridgeNet, musicianNet, cut := cuttableNetwork(t)
	r, s := newTestRoom(t), &sinks{}
	buf := &lockedBuffer{}
	cfg := bridgeConfig(t, r, s)
	cfg.Interfaces = nil
	cfg.net = bridgeNet
	cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout = 500*time.Millisecond, failedAfter
	cfg.RestartBackoff = []time.Duration{100 * time.Millisecond}
	cfg.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if restartUncuts {
		r.holdBridge = func(sig room.Signal) bool {
			if sig.Type == room.SignalOffer {
				cut.Store(false)
			}
			return false
		}
	}
	m := startManager(t, cfg, r)
	// Her failed timeout as the bridge's: an outage the bridge sees come back must not have
	// failed on her side meanwhile.
	newTestMusician(t, r, "ivy", musicianOpts{offerFirst: true, net: musicianNet, failedAfter: failedAfter})
	if err := m.MusicianJoined("ivy"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ivy", bridgeConnected(m, "ivy"))
	return buf, cut
}

// ivyInfoLines returns the Info lines of log naming musician ivy that contain msg.
func ivyInfoLines(log, msg string) []string {
	return warningsWith(log, "level=INFO", "musician=ivy", msg)
}

// A musician's connection interrupted (ICE disconnected) is said at Info, naming her, as it
// happens rather than only when it fails; when it comes back on its own, one Info line says how
// long it was down.
func TestOutageThatComesBackIsLoggedOnce(t *testing.T) {
	buf, cut := startOutageIvy(t, time.Minute, false)
	cut.Store(true)
	waitFor(t, "the interruption logged", func() bool { return len(ivyInfoLines(buf.String(), "connection interrupted")) > 0 })
	time.Sleep(time.Second) // her audio stays cut a while: still one interruption
	cut.Store(false)
	waitFor(t, "the connection back logged", func() bool { return len(ivyInfoLines(buf.String(), "down_for=")) > 0 })
	log := buf.String()
	if down, back := ivyInfoLines(log, "connection interrupted"), ivyInfoLines(log, "down_for="); len(down) != 1 || len(back) != 1 {
		t.Errorf("want one interrupted and one back line for one outage, got %q and %q", down, back)
	}
	if strings.Index(log, "connection interrupted") > strings.Index(log, "down_for=") {
		t.Errorf("back before interrupted:\n%s", log)
	}
}

// An outage long enough to fail is said once as it starts, keeps its warning when it fails,
// and once it is back after the ICE restart, one Info line says how long it was down: the
// states it passes through on the way (failed, connecting) are not new interruptions.
func TestOutageThatFailsIsLoggedOnce(t *testing.T) {
	buf, cut := startOutageIvy(t, time.Second, true)
	cut.Store(true)
	waitFor(t, "the connection back logged", func() bool { return len(ivyInfoLines(buf.String(), "down_for=")) > 0 })
	log := buf.String()
	down, back := ivyInfoLines(log, "connection interrupted"), ivyInfoLines(log, "down_for=")
	if len(down) != 1 || len(back) != 1 {
		t.Errorf("want one interrupted and one back line for one outage, got %q and %q", down, back)
	}
	failed := warningsWith(log, "level=WARN", "musician=ivy", "connection failed; ICE restart scheduled")
	if len(failed) != 1 {
		t.Errorf("want the failure's warning once, got %q", failed)
	}
	if i, j, k := strings.Index(log, "connection interrupted"), strings.Index(log, "connection failed"), strings.Index(log, "down_for="); !(i < j && j < k) {
		t.Errorf("want interrupted, failed, back in that order:\n%s", log)
	}
}

// attemptsRE matches a positive attempts count.
var attemptsRE = regexp.MustCompile(`attempts=[1-9]`)

// The end of an outage counts the retries made during it, not since the connection was last
// stable: an interruption that comes back on its own a few seconds after an outage that took an
// ICE restart is "connection back", with no attempts.
func TestOutageAfterARestartCountsItsOwnAttempts(t *testing.T) {
	buf, cut := startOutageIvy(t, 2*time.Second, true)
	cut.Store(true) // fails; the bridge's ICE restart ends the cut
	waitFor(t, "the first outage's end logged", func() bool { return len(ivyInfoLines(buf.String(), "down_for=")) > 0 })
	time.Sleep(2 * time.Second) // up again, but for far less than stableConnection
	cut.Store(true)             // interrupted, and back before it fails
	waitFor(t, "the second interruption logged", func() bool { return len(ivyInfoLines(buf.String(), "connection interrupted")) > 1 })
	time.Sleep(300 * time.Millisecond)
	cut.Store(false)
	waitFor(t, "the second outage's end logged", func() bool { return len(ivyInfoLines(buf.String(), "down_for=")) > 1 })
	back := ivyInfoLines(buf.String(), "down_for=")
	if len(back) != 2 {
		t.Fatalf("want two outage ends, got %q", back)
	}
	if !strings.Contains(back[0], `msg=reconnected`) || !attemptsRE.MatchString(back[0]) {
		t.Errorf("the outage that took a restart ended with %q, want reconnected with its attempts", back[0])
	}
	if !strings.Contains(back[1], `msg="connection back"`) || strings.Contains(back[1], "attempts=") {
		t.Errorf("the outage that came back on its own ended with %q, want connection back without attempts", back[1])
	}
}

// A musician whose first connection needed a retry (the bridge's first offer lost) was never
// connected before: nothing at Info says she reconnected, or is back (the session logs her first
// connection); a Debug line says how many attempts it took.
func TestFirstConnectionAfterRetryIsNoReconnection(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	buf := &lockedBuffer{}
	cfg := bridgeConfig(t, r, s)
	cfg.OfferDelay = 50 * time.Millisecond
	cfg.ConnectTimeout = 500 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var offers atomic.Int32
	r.setHolds(func(sig room.Signal) bool {
		return sig.Type == room.SignalOffer && offers.Add(1) == 1 // the bridge's first offer is lost
	}, nil)
	m := startManager(t, cfg, r)
	newTestMusician(t, r, "ana", musicianOpts{})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	said := func(log string) (debug, info []string) {
		debug = warningsWith(log, "level=DEBUG", "musician=ana", "msg=connected", "attempts=")
		info = append(warningsWith(log, "musician=ana", "msg=reconnected"), warningsWith(log, "musician=ana", `msg="connection back"`)...)
		return debug, info
	}
	waitFor(t, "her connection's coming up logged", func() bool {
		debug, info := said(buf.String())
		return len(debug)+len(info) > 0
	})
	debug, info := said(buf.String())
	if len(info) > 0 {
		t.Errorf("her first connection logged %q", info)
	}
	if !attemptsRE.MatchString(strings.Join(debug, "\n")) {
		t.Errorf("her first connection after a retry logged %q at Debug, want its attempts", debug)
	}
}
