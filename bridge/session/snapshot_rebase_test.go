package session

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clock/clocktest"
)

// A device's next attempt reaches the page as the same distance from the snapshot's time, even
// when NTP stepped the wall clock between the two (a Pi that booted with an old clock).
func TestNextAttemptKeepsItsDistanceAcrossAClockStep(t *testing.T) {
	next := time.Now().Add(30 * time.Second) // a retry scheduled before the step
	for _, step := range []time.Duration{-3 * time.Hour, 0, 3 * time.Hour} {
		now := clocktest.WallStepped(time.Now(), step)
		if d := rebase(now, next).Round(0).Sub(now.Round(0)); d < 29*time.Second || d > 30*time.Second {
			t.Errorf("clock stepped %v: the page would show the next attempt %v after the snapshot, want 30 s", step, d)
		}
	}
	if !rebase(time.Now(), time.Time{}).IsZero() {
		t.Error("no next attempt became one")
	}
}
