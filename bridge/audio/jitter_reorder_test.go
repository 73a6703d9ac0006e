package audio

import (
	"math/rand/v2"
	"testing"
	"time"
)

// reorderRun is what a jitter buffer did with a 20 ms stream whose packets arrive at
// delay(i) after their send time, sorted by arrival, popped every millisecond.
type reorderRun struct {
	lateByPhase []uint64      // late drops in each phase
	maxHold     time.Duration // longest a packet was held
	target      []time.Duration
}

// playReordered runs phases of seconds each, the k-th with delay k, and reports late drops and
// the target at the end of each.
func playReordered(t *testing.T, seconds int, delays ...func(i int) time.Duration) reorderRun {
	t.Helper()
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	perPhase := seconds * 50
	type arrival struct {
		seq int
		at  time.Duration
	}
	var pkts []arrival
	for k, delay := range delays {
		for i := k * perPhase; i < (k+1)*perPhase; i++ {
			pkts = append(pkts, arrival{i, time.Duration(i)*20*ms + delay(i)})
		}
	}
	for i := 1; i < len(pkts); i++ { // insertion sort by arrival: stable, nearly sorted
		for k := i; k > 0 && pkts[k].at < pkts[k-1].at; k-- {
			pkts[k], pkts[k-1] = pkts[k-1], pkts[k]
		}
	}
	var run reorderRun
	next := 0
	var late uint64
	phaseEnd := time.Duration(perPhase) * 20 * ms
	for now := time.Duration(0); now < time.Duration(len(delays))*phaseEnd+100*ms; now += ms {
		for ; next < len(pkts) && pkts[next].at <= now; next++ {
			p := pkts[next]
			j.Push(uint16(p.seq), uint32(p.seq*960), []byte{1}, t0.Add(p.at))
		}
		for _, r := range popAll(j, t0.Add(now)) {
			run.maxHold = max(run.maxHold, now-r.Arrival.Sub(t0))
		}
		if now%phaseEnd == phaseEnd-ms {
			st := j.Stats()
			run.lateByPhase = append(run.lateByPhase, st.Late-late)
			run.target = append(run.target, st.TargetDelay)
			late = st.Late
		}
	}
	return run
}

// A steady reordering (a packet overtaken by its successor on a multipath route, a Wi-Fi
// retransmission) drops the overtaken packet as late whenever the target delay is below its
// lateness: the target must rise to catch it, up to MaxDelay, and fall back once it stops. Late
// packets were left out of the delay estimate, so on-time packets kept the target at 0 and
// every 10th packet, 30 ms late, was dropped and concealed for the whole run (50 a 10 s phase;
// 2 % of packets 40 ms late: 10 a phase).
func TestJitterTargetRisesToCatchSteadyReordering(t *testing.T) {
	clean := func(int) time.Duration { return 0 }
	rng := rand.New(rand.NewPCG(3, 0))
	cases := []struct {
		name    string
		delay   func(i int) time.Duration
		maxLate uint64 // late drops allowed in the pattern's second 10 s
	}{
		{"every 10th packet 30 ms late", func(i int) time.Duration { return time.Duration(i%10/9) * 30 * ms }, 0},
		{"2 % of packets 40 ms late", func(int) time.Duration {
			if rng.Float64() < 0.02 {
				return 40 * ms
			}
			return 0
		}, 1},
		{"5 % of packets 50 to 70 ms late", func(int) time.Duration {
			if rng.Float64() < 0.05 {
				return 50*ms + time.Duration(rng.IntN(21))*ms
			}
			return 0
		}, 3},
	}
	for _, c := range cases {
		run := playReordered(t, 10, clean, c.delay, c.delay, clean, clean)
		t.Logf("%s: late per 10 s phase (clean, pattern, pattern, clean, clean) %v, target at each phase's end %v, longest hold %v",
			c.name, run.lateByPhase, run.target, run.maxHold)
		if run.lateByPhase[0] != 0 || run.target[0] != 0 {
			t.Errorf("%s: a clean stream: %d late, target %v", c.name, run.lateByPhase[0], run.target[0])
		}
		if run.lateByPhase[1] == 0 {
			t.Fatalf("%s: no packet was late at first: the pattern tests nothing", c.name)
		}
		if run.lateByPhase[2] > c.maxLate {
			t.Errorf("%s: %d packets still dropped late after 10 s of it (at most %d), target %v",
				c.name, run.lateByPhase[2], c.maxLate, run.target[2])
		}
		if run.maxHold > DefaultMaxDelay {
			t.Errorf("%s: a packet held %v, over MaxDelay", c.name, run.maxHold)
		}
		if run.target[4] != 0 {
			t.Errorf("%s: target %v 10 s after the reordering stopped: it must fall back", c.name, run.target[4])
		}
	}
}

// Duplicates of packets already played (a retransmission that raced the original, a network
// duplicating packets) are late too, but no delay would make them useful: they must not raise
// the target.
func TestJitterDuplicatesOfPlayedPacketsDoNotRaiseTarget(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	for i := range 500 {
		now := t0.Add(time.Duration(i) * 20 * ms)
		j.Push(uint16(i), uint32(i*960), []byte{1}, now)
		popAll(j, now)
		if i > 0 && i%5 == 0 { // a copy of the previous packet, 30 ms after it was played
			j.Push(uint16(i-1), uint32((i-1)*960), []byte{1}, now.Add(10*ms))
		}
	}
	if st := j.Stats(); st.Late == 0 || st.TargetDelay != 0 {
		t.Fatalf("%d late copies of played packets, target %v: want some, and 0", st.Late, st.TargetDelay)
	}
}
