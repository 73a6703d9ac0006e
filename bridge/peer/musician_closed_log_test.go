package peer

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// TestClosedByHerSideIsNotAWarning: a musician closing her connection is what leaving the room
// does (her tab closes it a moment before she leaves Presence), so the line that says so asks
// nothing of the operator and is logged at Info, not Warn.
func TestClosedByHerSideIsNotAWarning(t *testing.T) {
	_, _, ana, buf := anaConnectedLogged(t, nil)
	ana.close() // DTLS close_notify, still in Presence
	waitFor(t, "ana's side closed", func() bool { return ana.connState() == webrtc.PeerConnectionStateClosed })
	const msg = "connection closed by the musician's side"
	waitFor(t, "the closed line logged", func() bool { return strings.Contains(buf.String(), msg) })
	for _, line := range warningsWith(buf.String(), msg) {
		if !strings.Contains(line, "level=INFO") {
			t.Errorf("logged as %q, want level=INFO", line)
		}
	}
}

// closedByHerSide connects ana (who offers), closes her side (DTLS close_notify) with her still in
// Presence, and returns once the bridge has logged the close, with the bridge's log.
func closedByHerSide(t *testing.T, backoff time.Duration) (*Manager, *testRoom, *lockedBuffer) {
	t.Helper()
	m, r, ana, buf := anaConnectedLogged(t, func(cfg *Config) { cfg.RestartBackoff = []time.Duration{backoff} })
	ana.close()
	waitFor(t, "the closed line logged", func() bool {
		return strings.Contains(buf.String(), "connection closed by the musician's side")
	})
	return m, r, buf
}

// Her tab closing its connection is also how she leaves, a moment before Presence says so: the
// line that reports the close promises no offer, and a musician who then leaves is offered
// nothing, so no line says she is.
func TestClosedByHerSideThenLeftPromisesNoOffer(t *testing.T) {
	m, _, buf := closedByHerSide(t, time.Hour)
	m.MusicianAway("ana") // her connection is closed: released at once
	waitFor(t, "ana released", func() bool { return strings.Contains(buf.String(), "musician released") })
	if lines := warningsWith(buf.String(), "offering"); len(lines) > 0 {
		t.Errorf("a musician who left was said to be offered to:\n%s", strings.Join(lines, "\n"))
	}
}

// A musician who stays after her side closed the connection is offered a fresh one after the
// backoff, and the line that says so is logged then, as the offer goes.
func TestClosedByHerSideStayingIsOfferedAgain(t *testing.T) {
	_, r, buf := closedByHerSide(t, 10*time.Millisecond)
	waitFor(t, "the bridge offers ana again", func() bool {
		for _, sig := range r.bridgeSignals() {
			if sig.Type == room.SignalOffer && sig.TargetPeerID == "ana" {
				return true
			}
		}
		return false
	})
	log := buf.String()
	closed := strings.Index(log, "connection closed by the musician's side")
	if line := warningsWith(log, "connection closed by the musician's side")[0]; strings.Contains(line, "offering") {
		t.Errorf("the close line promises the offer: %q", line)
	}
	retry := warningsWith(log[closed:], "offering again", "attempt=1")
	if len(retry) != 1 || !strings.Contains(retry[0], "level=INFO") || !strings.Contains(retry[0], "musician=ana") {
		t.Errorf("want one Info line saying ana is offered again, attempt 1, after the close; got %q in:\n%s", retry, log)
	}
}

// anaConnectedLogged starts a bridge logging at Debug into the returned buffer (configured
// further by tweak, if not nil) and connects ana, who offers.
func anaConnectedLogged(t *testing.T, tweak func(*Config)) (*Manager, *testRoom, *testMusician, *lockedBuffer) {
	t.Helper()
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	buf := &lockedBuffer{}
	cfg := bridgeConfig(t, r, s)
	cfg.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if tweak != nil {
		tweak(&cfg)
	}
	m := startManager(t, cfg, r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	return m, r, ana, buf
}
