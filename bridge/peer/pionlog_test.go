package peer

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

func TestPionWarningsAreRateLimited(t *testing.T) {
	var buf bytes.Buffer
	l := slogFactory{log: slog.New(slog.NewTextHandler(&buf, nil))}.NewLogger("ice")
	for i := 0; i < 1000; i++ {
		l.Warnf("Discarding remote candidate %d", i)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines for 1000 warnings in a burst:\n%s", n, buf.String())
	}
}

// Each way pion v4.2.26 reports a discarded SSRC on a PeerConnection's logger is counted, the
// way pion calls it (peerconnection.go: Errorf for RTP, Warnf for RTCP, and Warn with the
// message itself for ErrSimulcastProbeOverflow), even at a level that logs nothing.
func TestUnhandledSSRCWarningsCounted(t *testing.T) {
	var discarded int
	quiet := slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError + 1}))
	l := slogFactory{log: quiet, onUnhandledSSRC: func() { discarded++ }}.NewLogger("pc")
	l.Errorf("Incoming unhandled RTP ssrc(%d), OnTrack will not be fired. %v", 1234, "mid RTP extension required")
	l.Warnf("Incoming unhandled RTCP ssrc(%d), OnTrack will not be fired", 5678)
	l.Warn(webrtc.ErrSimulcastProbeOverflow.Error())
	l.Warnf("Failed to accept RTP %v", "closed") // not a discarded SSRC
	if discarded != 3 {
		t.Fatalf("%d discarded SSRCs counted, want 3 (RTP, RTCP, probe overflow)", discarded)
	}
}

// pion warns of things a musician leaving, or a connection still gathering candidates, does in
// the ordinary course; they ask nothing of the operator and go to Debug. Other warnings stay.
func TestRoutinePionWarningsAreDebug(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := slogFactory{log: log}
	f.NewLogger("ice").Warn("Failed to ping without candidate pairs. Connection is not possible yet.")
	f.NewLogger("pc").Warnf("Failed to accept RTP %v", errors.New("stream is already closed"))
	f.NewLogger("pc").Warnf("Could not determine PayloadType for SSRC %d (%s)", 1234, io.EOF)
	f.NewLogger("pc").Warnf("Failed to accept RTP %v", errors.New("something else")) // not routine
	f.NewLogger("ice").Warnf("Discarding remote candidate: %s", "bad")
	want := []logLine{
		{"level=DEBUG", "Failed to ping without candidate pairs"},
		{"level=DEBUG", "Failed to accept RTP stream is already closed"},
		{"level=DEBUG", "Could not determine PayloadType"},
		{"level=WARN", "Failed to accept RTP something else"},
		{"level=WARN", "Discarding remote candidate"},
	}
	wantLogLines(t, buf.String(), want)
}

// Two more warnings an ordinary evening produces, as pion logs them: webrtc v4.2.26's
// undeclaredMediaProcessor "Failed to accept RTCP" with srtp's "stream is already closed" when a
// connection closes (the twin of the RTP one), and ice v4.4.8's "Discard request with wrong
// username" for the connectivity checks still in flight for the old ufrag after an ICE restart
// (one just made). A broken message integrity is no such thing and stays a warning.
func TestRestartAndCloseWarningsAreDebug(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := slogFactory{log: log}
	forgetICERestarts(t)
	noteICERestart(time.Now())
	f.NewLogger("pc").Warnf("Failed to accept RTCP %v", errors.New("stream is already closed"))
	f.NewLogger("ice").Warnf("Discard request with wrong username from (%s), %v", "127.0.0.1:47455",
		errors.New("username mismatch expected(7a77) actual(7a773a4b6b)"))
	f.NewLogger("pc").Warnf("Failed to accept RTCP %v", errors.New("something else")) // not routine
	f.NewLogger("ice").Warnf("Discard request with broken integrity from (%s), %v", "127.0.0.1:47455", "integrity check failed")
	want := []logLine{
		{"level=DEBUG", "Failed to accept RTCP stream is already closed"},
		{"level=DEBUG", "Discard request with wrong username from (127.0.0.1:47455), username mismatch"},
		{"level=WARN", "Failed to accept RTCP something else"},
		{"level=WARN", "Discard request with broken integrity"},
	}
	wantLogLines(t, buf.String(), want)
}

// ice v4.4.8 says "Discard request with wrong username" for any binding request whose USERNAME
// is not the current ufrag pair, before checking its integrity: one with none at all, or a
// mismatch with no ICE restart of ours in the last staleCheckWindow, is a stranger probing the
// port and warns. A missing USERNAME warns even right after a restart: no stale check lacks it.
func TestForeignBindingRequestsWarn(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := slogFactory{log: log}
	forgetICERestarts(t)
	const format = "Discard request with wrong username from (%s), %v"
	f.NewLogger("ice").Warnf(format, "192.168.1.9:40000", stun.ErrAttributeNotFound)
	f.NewLogger("ice").Warnf(format, "192.168.1.9:40000", errors.New("username mismatch expected(7a77) actual(7363616e3a6d65)"))
	noteICERestart(time.Now().Add(-staleCheckWindow - time.Second)) // long over
	f.NewLogger("ice").Warnf(format, "192.168.1.9:40000", errors.New("username mismatch expected(7a77) actual(7363616e3a6d65)"))
	noteICERestart(time.Now())
	f.NewLogger("ice").Warnf(format, "192.168.1.9:40000", stun.ErrAttributeNotFound)
	wantLogLines(t, buf.String(), []logLine{
		{"level=WARN", "attribute not found"},
		{"level=WARN", "username mismatch"},
		{"level=WARN", "username mismatch"},
		{"level=WARN", "attribute not found"},
	})
}

// logLine is one line a test expects: its level (as the text handler writes it) and a text in it.
type logLine struct{ level, text string }

// wantLogLines checks that out holds exactly the lines want, in order.
func wantLogLines(t *testing.T, out string, want []logLine) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w.level) || !strings.Contains(lines[i], w.text) {
			t.Errorf("line %d = %q, want %s with %q", i, lines[i], w.level, w.text)
		}
	}
}

// forgetICERestarts makes the test start, and leave, with no ICE restart by this process noted:
// the tests before it may have restarted ICE a moment ago.
func forgetICERestarts(t *testing.T) {
	t.Helper()
	lastICERestart.Store(time.Time{})
	t.Cleanup(func() { lastICERestart.Store(time.Time{}) })
}
