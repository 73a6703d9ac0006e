package peer

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestClosedByHerSideIsNotAWarning: a musician closing her connection is what leaving the room
// does (her tab closes it a moment before she leaves Presence), so the line that says so asks
// nothing of the operator and is logged at Info, not Warn.
func TestClosedByHerSideIsNotAWarning(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	buf := &lockedBuffer{}
	cfg := bridgeConfig(t, r, s)
	cfg.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := startManager(t, cfg, r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
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
