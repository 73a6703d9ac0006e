package session_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// A musician's lines in the journal all name her under one key, musician=, the peer manager's:
// `journalctl -u ledbridge | grep musician=ana` finds her join, connection, audio and leave with
// the peer manager's lines about her. The session's used peer_id= for the same musician. Her leave
// says her name too, and a Presence line says how many were held back only when some were.
func TestMusicianLinesNameHerUnderOneKey(t *testing.T) {
	logs := &testlog.Buffer{} // a text handler's lines, as journald shows the daemon's
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Logger = testlog.NewLogger(logs, slog.LevelInfo)
	})
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	waitFor(t, 20*time.Second, "ana's audio reached the bridge", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC == "connected" && s.Packets > 0
	})
	ana.leave()
	waitFor(t, 10*time.Second, "ana's leave logged", func() bool { return len(logs.Lines("musician left")) > 0 })

	for _, msg := range []string{"musician joined", "musician connection", "receiving audio", "musician left"} {
		lines := logs.Lines(msg)
		if len(lines) != 1 {
			t.Errorf("%d %q lines, want 1:\n%s", len(lines), msg, strings.Join(lines, "\n"))
			continue
		}
		line := lines[0]
		if !strings.Contains(line, " musician=ana") || strings.Contains(line, "peer_id=") {
			t.Errorf("%q does not name ana as musician=ana alone: %s", msg, line)
		}
		if strings.Contains(line, "presence_lines_suppressed=") {
			t.Errorf("%q says that no Presence line was held back: %s", msg, line)
		}
	}
	if left := logs.Lines("musician left"); len(left) == 1 && !strings.Contains(left[0], " name=Ana") {
		t.Errorf("ana's leave does not say her name: %s", left[0])
	}
}

// A participant whose Presence meta the session cannot read in full is followed as a musician, so
// the warning about her meta names her as the lines that follow do; a name it could not read is
// left off her join line rather than shown as name="".
func TestUnreadableMetaWarningNamesTheMusician(t *testing.T) {
	logs := &testlog.Buffer{}
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Logger = testlog.NewLogger(logs, slog.LevelInfo)
	})
	roguePresence(t, r, "rogue-1") // name: 7, role: musician
	warned := logs.Lines("Presence meta with unreadable fields; they are left unset")
	joined := logs.Lines("musician joined")
	if len(warned) != 1 || len(joined) != 1 {
		t.Fatalf("%d warnings and %d join lines, want 1 each:\n%s\n%s", len(warned), len(joined),
			strings.Join(warned, "\n"), strings.Join(joined, "\n"))
	}
	if !strings.Contains(warned[0], " musician=rogue-1 ") || strings.Contains(warned[0], "peer_id=") {
		t.Errorf("the warning does not name her as musician=rogue-1: %s", warned[0])
	}
	if strings.Contains(warned[0], "warnings_suppressed=") {
		t.Errorf("the warning says that no warning was held back: %s", warned[0])
	}
	if strings.Contains(joined[0], "name=") {
		t.Errorf("her join line shows the name it could not read: %s", joined[0])
	}
}
