package peer

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

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
