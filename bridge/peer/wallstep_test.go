package peer

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clock/clocktest"
)

// A Raspberry Pi boots with an old clock and NTP steps it, back or forward, while the bridge
// runs: the windows of the ICE-restart check and of the flood notices are measured on the
// monotonic clock, not the wall clock.
func TestWallClockStepsMoveNoWindow(t *testing.T) {
	t.Run("the ICE-restart window", func(t *testing.T) {
		t.Cleanup(func() { lastICERestart.Store(time.Time{}) })
		t0 := time.Now()
		noteICERestart(t0)
		if back := clocktest.WallStepped(t0.Add(30*time.Minute), -time.Hour); staleCheckExpected(back) {
			t.Error("30 min after a restart, with the clock stepped back 1 h: still within the 10 s window")
		}
		if fwd := clocktest.WallStepped(t0.Add(2*time.Second), time.Hour); !staleCheckExpected(fwd) {
			t.Error("2 s after a restart, with the clock stepped forward 1 h: out of the 10 s window")
		}
	})
	t.Run("the flood notices", func(t *testing.T) {
		posts := 0
		empty := newPacketBudget(1)
		t0 := time.Now()
		for range floodSeconds { // spent, all at once
			empty.spend(t0)
		}
		c := &packetCounter{budget: empty, flooding: func() { posts++ }}
		c.countAt(t0) // the first notice, which a full event queue may have dropped
		c.countAt(clocktest.WallStepped(t0.Add(floodRepost+time.Millisecond), -time.Hour))
		if posts != 2 {
			t.Errorf("%d flood notices, want 2: a clock stepped back 1 h held the second back", posts)
		}
		c.countAt(clocktest.WallStepped(t0.Add(floodRepost+2*time.Millisecond), time.Hour))
		if posts != 2 {
			t.Errorf("%d flood notices, want 2: a clock stepped forward 1 h let a third through 1 ms after the second", posts)
		}
	})
}
