package testlog

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Lines finds a message as slog's text handler writes it, quoted or bare, and only as the
// message: not a longer message it starts, nor an attribute that quotes it.
func TestLinesMatchTheWholeMessage(t *testing.T) {
	var logs Buffer
	log := NewLogger(&logs, slog.LevelInfo)
	log.Info("musician left", "musician", "ana")
	log.Info("musician left early", "musician", "bo")
	log.Warn("ready")
	log.Info("ready", "err", `msg="musician left"`)
	log.Info("musician left")
	log.Debug("musician left", "level", "below the logger's")

	left := logs.Lines("musician left")
	if len(left) != 2 || !strings.Contains(left[0], "musician=ana") || !strings.HasSuffix(left[1], `msg="musician left"`) {
		t.Errorf("Lines(%q) = %q; log:\n%s", "musician left", left, logs.String())
	}
	ready := logs.Lines("ready")
	if len(ready) != 2 || !strings.Contains(ready[0], "level=WARN") || !strings.Contains(ready[1], "err=") {
		t.Errorf("Lines(%q) = %q; log:\n%s", "ready", ready, logs.String())
	}
	if got := logs.Lines("musician"); len(got) != 0 {
		t.Errorf("Lines(%q) = %q, want none", "musician", got)
	}
}

// A component's goroutines write while the test reads.
func TestBufferIsSafeForConcurrentUse(t *testing.T) {
	var logs Buffer
	log := NewLogger(&logs, slog.LevelInfo)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				log.Info("tick")
			}
		}()
	}
	for range 100 {
		_ = logs.Lines("tick")
	}
	wg.Wait()
	if n := len(logs.Lines("tick")); n != 400 {
		t.Errorf("%d tick lines, want 400", n)
	}
}
