package clocktest

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWallSteppedMovesTheWallClockAlone(t *testing.T) {
	now := time.Now()
	for _, step := range []time.Duration{time.Hour, -time.Hour, 3 * time.Second} {
		got := WallStepped(now, step)
		if wall := got.Round(0).Sub(now.Round(0)); wall != step {
			t.Errorf("step %v: wall clock moved %v", step, wall)
		}
		if mono := got.Sub(now); mono != 0 {
			t.Errorf("step %v: monotonic reading moved %v", step, mono)
		}
	}
}

func TestWallSteppedRefusesATimeWithoutMonotonicReading(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a time without a monotonic reading")
		}
	}()
	WallStepped(time.Now().Round(0), time.Hour)
}
