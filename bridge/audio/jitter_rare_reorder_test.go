package audio

import (
	"testing"
	"time"
)

// A sender with rare retransmissions (one packet in 250, 70 ms late: once every 5 s) must not
// keep the target up: each reordered packet held the raised target for 5 s at full strength,
// so the next one came in time to renew it, and the stream paid 55 ms on every packet, for as
// long as it went on, to save 1 packet in 250. Reordering that rare costs its one packet each
// time instead, and the target stays at 0 (the stream has no other jitter).
func TestJitterRareReorderingKeepsTargetLow(t *testing.T) {
	for _, every := range []int{250, 225, 150} { // one packet in 5 s, 4.5 s, 3 s
		delay := func(i int) time.Duration {
			if i > 0 && i%every == 0 {
				return 70 * ms
			}
			return 0
		}
		phases := make([]func(int) time.Duration, 6)
		for k := range phases {
			phases[k] = delay
		}
		run := playReordered(t, 10, phases...)
		t.Logf("one packet in %d 70 ms late: late per 10 s %v, target at each 10 s %v", every, run.lateByPhase, run.target)
		for k, target := range run.target {
			if target != 0 {
				t.Errorf("one packet in %d 70 ms late: target %v after %d s, want 0", every, target, (k+1)*10)
			}
		}
		var late uint64
		for _, n := range run.lateByPhase {
			late += n
		}
		if reordered := uint64((len(phases)*500 - 1) / every); late != reordered {
			t.Errorf("one packet in %d 70 ms late: %d dropped late in 60 s, want each of the %d reordered and no other", every, late, reordered)
		}
	}
}
