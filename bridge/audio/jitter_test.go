package audio

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

const ms = time.Millisecond

// popAll drains every release due at now.
func popAll(j *JitterBuffer, now time.Time) []Release {
	var out []Release
	for {
		r, ok := j.Pop(now)
		if !ok {
			return out
		}
		r.Payload = append([]byte(nil), r.Payload...)
		out = append(out, r)
	}
}

func TestJitterInOrderReleasesImmediately(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	for i := range 100 {
		now := t0.Add(time.Duration(i) * 20 * ms)
		seq := uint16(65500 + i) // crosses the 16-bit wrap
		if r := j.Push(seq, uint32(i*960), []byte{byte(i)}, now); r != PushAccepted {
			t.Fatalf("packet %d: %v", i, r)
		}
		rel := popAll(j, now)
		if len(rel) != 1 || rel[0].Seq != seq || rel[0].Lost != 0 || rel[0].Payload[0] != byte(i) {
			t.Fatalf("packet %d: releases %+v", i, rel)
		}
	}
	if st := j.Stats(); st.TargetDelay != 0 || st.Lost != 0 || st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// feedJittery pushes n packets whose arrival alternates between on time and `late` late,
// popping as it goes, and returns the next sequence number and arrival base.
func feedJittery(t *testing.T, j *JitterBuffer, n int, late time.Duration) {
	t.Helper()
	for i := range n {
		now := t0.Add(time.Duration(i)*20*ms + time.Duration(i%2)*late)
		j.Push(uint16(i), uint32(i*960), []byte{byte(i)}, now)
		popAll(j, now)
	}
	popAll(j, t0.Add(time.Hour))
}

func TestJitterTargetAdaptsAndIsCapped(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	feedJittery(t, j, 200, 4*ms)
	st := j.Stats()
	if st.Jitter < 2*ms || st.Jitter > 6*ms {
		t.Fatalf("jitter estimate %v for ±4 ms alternation", st.Jitter)
	}
	if st.TargetDelay < 6*ms || st.TargetDelay > 18*ms {
		t.Fatalf("target %v for jitter %v", st.TargetDelay, st.Jitter)
	}
	j2 := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	feedJittery(t, j2, 200, 200*ms)
	if st := j2.Stats(); st.TargetDelay != DefaultMaxDelay {
		t.Fatalf("target %v with 200 ms jitter, want the 60 ms cap", st.TargetDelay)
	}
}

func TestJitterReordersWithinTarget(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	feedJittery(t, j, 100, 4*ms) // target ≈ 10 ms
	target := j.TargetDelay()
	if target < 5*ms {
		t.Fatalf("target %v too small for the test", target)
	}
	// Packets 100..104 on the same timeline; 102 arrives 5 ms after 103 (3 ms late).
	at := func(seq int, late time.Duration) time.Time { return t0.Add(time.Duration(seq)*20*ms + late) }
	var got []uint16
	push := func(seq int, now time.Time) {
		if r := j.Push(uint16(seq), uint32(seq*960), []byte{byte(seq)}, now); r != PushAccepted {
			t.Fatalf("push %d: %v", seq, r)
		}
		for _, r := range popAll(j, now) {
			if r.Lost != 0 {
				t.Fatalf("seq %d declared %d lost", r.Seq, r.Lost)
			}
			got = append(got, r.Seq)
		}
	}
	push(100, at(100, 0))
	push(101, at(101, 0))
	push(103, at(103, 0))
	push(102, at(103, 3*ms))
	push(104, at(104, 0))
	for _, r := range popAll(j, at(104, time.Second)) {
		got = append(got, r.Seq)
	}
	want := []uint16{100, 101, 102, 103, 104}
	if len(got) != len(want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("released %v, want %v", got, want)
		}
	}
}

func TestJitterGapIsDeclaredLostWhenNextIsDue(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	j.Push(10, 0, []byte{1}, t0)
	popAll(j, t0)
	// 11 and 12 never arrive; 13 arrives on time.
	now := t0.Add(60 * ms)
	j.Push(13, 3*960, []byte{13}, now)
	rel := popAll(j, now)
	if len(rel) != 1 || rel[0].Lost != 2 || rel[0].Seq != 13 {
		t.Fatalf("releases %+v, want seq 13 after 2 lost", rel)
	}
	// 11 arriving now is late.
	if r := j.Push(11, 960, []byte{11}, now); r != PushLate {
		t.Fatalf("straggler: %v", r)
	}
	if st := j.Stats(); st.Lost != 2 || st.Late != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJitterDuplicates(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	j.Push(1, 0, []byte{1}, t0)
	popAll(j, t0)
	// Seq 3 arrives early (held: 2 is missing and 3 not yet due), then again.
	early := t0.Add(20 * ms)
	if r := j.Push(3, 2*960, []byte{3}, early); r != PushAccepted {
		t.Fatal(r)
	}
	if r := j.Push(3, 2*960, []byte{3}, early); r != PushDuplicate {
		t.Fatalf("second copy: %v", r)
	}
	if r := j.Push(1, 0, []byte{1}, early); r != PushLate {
		t.Fatalf("copy of released packet: %v", r)
	}
	if st := j.Stats(); st.Duplicates != 1 || st.Late != 1 || st.Buffered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJitterHugeJumpNeedsConfirmation(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	now := t0
	for i := range 5 {
		j.Push(uint16(i), uint32(i*960), []byte{1}, now)
		popAll(j, now)
		now = now.Add(20 * ms)
	}
	// One stray packet far away is dropped, the stream continues.
	if r := j.Push(40000, 123, []byte{9}, now); r != PushProbation {
		t.Fatalf("stray jump: %v", r)
	}
	if r := j.Push(5, 5*960, []byte{5}, now); r != PushAccepted {
		t.Fatalf("continuation: %v", r)
	}
	if rel := popAll(j, now); len(rel) != 1 || rel[0].Seq != 5 || rel[0].Lost != 0 {
		t.Fatalf("releases %+v", rel)
	}
	// A sender restart: two consecutive packets far away resync the buffer.
	now = now.Add(20 * ms)
	j.Push(30000, 9_000_000, []byte{1}, now)
	if r := j.Push(30001, 9_000_960, []byte{2}, now); r != PushResync {
		t.Fatalf("restart: %v", r)
	}
	if rel := popAll(j, now); len(rel) != 1 || rel[0].Seq != 30001 || rel[0].Lost != 0 {
		t.Fatalf("releases after resync %+v", rel)
	}
	if st := j.Stats(); st.Resyncs != 1 || st.Probation != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJitterOverflowCountsGap(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000, Slots: 16})
	j.Push(0, 0, []byte{0}, t0)
	popAll(j, t0)
	now := t0.Add(2 * time.Second)
	if r := j.Push(100, 100*960, []byte{100}, now); r != PushAccepted {
		t.Fatal(r)
	}
	rel := popAll(j, now)
	if len(rel) != 1 || rel[0].Seq != 100 || rel[0].Lost != 99 {
		t.Fatalf("releases %+v, want seq 100 after 99 lost", rel)
	}
}

// TestJitterGarbageStorm pushes random sequence numbers, timestamps, payload sizes and
// arrival times (including time going backwards): no panic, never more than Slots held,
// nothing held longer than MaxDelay, and no allocation.
func TestJitterGarbageStorm(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000, Slots: 32})
	rng := rand.New(rand.NewPCG(1, 1))
	payload := make([]byte, 2000)
	now := t0
	seq, ts := uint16(0), uint32(0)
	allocs := testing.AllocsPerRun(20000, func() {
		switch rng.IntN(6) {
		case 0:
			seq = uint16(rng.Uint32())
		case 1:
			ts = rng.Uint32()
		case 2:
			seq -= uint16(rng.IntN(50))
		default:
			seq++
			ts += 960
		}
		now = now.Add(time.Duration(rng.IntN(60)-10) * ms)
		j.Push(seq, ts, payload[:rng.IntN(len(payload))], now)
		for {
			r, ok := j.Pop(now)
			if !ok {
				break
			}
			if r.Lost < 0 || len(r.Payload) > MaxPayloadSize {
				t.Fatalf("bad release %+v", r)
			}
		}
		if j.buffered > len(j.slots) || j.buffered < 0 {
			t.Fatalf("%d buffered in %d slots", j.buffered, len(j.slots))
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per push/pop", allocs)
	}
	// Whatever is left is due within MaxDelay of now (arrival times may lie ahead of now
	// when the clock went backwards, so give it one more MaxDelay plus the largest step).
	popAll(j, now.Add(DefaultMaxDelay+time.Hour))
	if st := j.Stats(); st.Buffered != 0 || st.TargetDelay > DefaultMaxDelay {
		t.Fatalf("after storm: %+v", st)
	}
	t.Logf("storm stats: %+v", j.Stats())
}

func TestJitterNeverHoldsBeyondMaxDelay(t *testing.T) {
	// Timestamps far in the future (garbage or a sender clock jump) must not park a packet.
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	j.Push(0, 0, []byte{0}, t0)
	popAll(j, t0)
	now := t0.Add(20 * ms)
	j.Push(1, 48000*3600, []byte{1}, now)
	if rel := popAll(j, now.Add(DefaultMaxDelay)); len(rel) != 1 {
		t.Fatalf("packet with a far-future timestamp still held after MaxDelay: %+v", rel)
	}
}

func TestPushResultString(t *testing.T) {
	for r := PushUnknown; r <= PushResync; r++ {
		if r.String() == "" {
			t.Fatalf("%d has no name", r)
		}
	}
	if PushResult(99).String() != "unknown" {
		t.Fatal("out of range")
	}
}

func TestJitterTargetFallsWhenJitterStops(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	feedJittery(t, j, 100, 10*ms)
	high := j.TargetDelay()
	// Then 200 packets perfectly on time (continuing the same timeline).
	for i := 100; i < 300; i++ {
		now := t0.Add(time.Duration(i) * 20 * ms)
		j.Push(uint16(i), uint32(i*960), []byte{1}, now)
		popAll(j, now)
	}
	if low := j.TargetDelay(); high < 10*ms || low > high/10 {
		t.Fatalf("target %v with jitter, %v after 4 s without: should fall", high, low)
	}
}

// TestJitterTimestampJumpsDoNotAccumulate: a storm of maximal timestamp jumps in one
// direction must neither overflow the media timeline nor inflate the jitter estimate.
func TestJitterTimestampJumpsDoNotAccumulate(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 8000})
	now := t0
	ts := uint32(0)
	for i := range 100000 {
		ts += 1<<31 - 1
		now = now.Add(20 * ms)
		j.Push(uint16(i), ts, []byte{1}, now)
		if rel := popAll(j, now); len(rel) != 1 {
			t.Fatalf("packet %d: %d releases", i, len(rel))
		}
		if j.lastMedia > time.Hour || j.lastMedia < -time.Hour {
			t.Fatalf("media timeline at %v after %d jumps", j.lastMedia, i)
		}
	}
	if st := j.Stats(); st.Jitter > ms || st.Lost != 0 {
		t.Fatalf("stats after jump storm %+v", st)
	}
}

// TestJitterReordersAgainSoonAfterDelayStep: 20 ms packets with ±3 ms alternating jitter,
// every 50th packet swapped with its successor (arriving 4 ms after it); at packet 1000 the
// one-way delay steps up. The buffer must reorder the swaps again within 3 s of the step (it
// used to drop every swapped packet as late for tens of seconds, until base crept up).
func TestJitterReordersAgainSoonAfterDelayStep(t *testing.T) {
	const (
		packets  = 3000
		stepAt   = 1000
		recovery = 150 // packets: 3 s
	)
	for _, step := range []time.Duration{0, 200 * ms, 800 * ms} {
		j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
		type arrival struct {
			seq int
			at  time.Time
		}
		arrivals := make([]arrival, packets)
		for i := range arrivals {
			d := time.Duration(i) * 20 * ms
			if i%2 == 0 {
				d += 3 * ms
			}
			if i >= stepAt {
				d += step
			}
			arrivals[i] = arrival{i, t0.Add(d)}
		}
		swapped := map[int]bool{}
		for i := 200; i+1 < packets; i += 50 {
			arrivals[i].at = arrivals[i+1].at.Add(4 * ms)
			arrivals[i], arrivals[i+1] = arrivals[i+1], arrivals[i]
			swapped[i] = true
		}
		lateBefore, lateDuring, lateAfter := 0, 0, 0
		for _, a := range arrivals {
			popAll(j, a.at)
			r := j.Push(uint16(a.seq), uint32(a.seq*960), []byte{1}, a.at)
			popAll(j, a.at)
			if r == PushAccepted {
				continue
			}
			if r != PushLate || !swapped[a.seq] {
				t.Fatalf("step %v: packet %d: %v", step, a.seq, r)
			}
			switch {
			case a.seq < stepAt:
				lateBefore++
			case a.seq < stepAt+recovery:
				lateDuring++
			default:
				lateAfter++
			}
		}
		t.Logf("step %v: swapped packets dropped as late: %d before the step, %d in the 3 s after it, %d later (of %d)",
			step, lateBefore, lateDuring, lateAfter, len(swapped))
		if lateBefore != 0 || lateAfter != 0 {
			t.Errorf("step %v: %d swapped packets late before the step, %d more than 3 s after it; want 0", step, lateBefore, lateAfter)
		}
		if st := j.Stats(); st.Lost != uint64(lateBefore+lateDuring+lateAfter) {
			t.Errorf("step %v: %d lost, want one per late swap: %+v", step, st.Lost, st)
		}
	}
}

// TestJitterBaseIsWindowedMinimum checks base against a brute-force minimum of the transits
// that arrived in the window's buckets, through random delays, delay steps and silences.
func TestJitterBaseIsWindowedMinimum(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	rng := rand.New(rand.NewPCG(5, 6))
	type sample struct {
		at      time.Time
		transit time.Duration
	}
	var seen []sample
	step, silence := time.Duration(0), time.Duration(0)
	for i := range 5000 {
		switch rng.IntN(400) {
		case 0:
			step = time.Duration(rng.IntN(600)) * ms // a route change
		case 1:
			silence += time.Duration(rng.IntN(4000)) * ms // the sender pauses, its clock runs on
		}
		media := time.Duration(i)*20*ms + silence
		at := t0.Add(media + step + time.Duration(rng.IntN(30))*ms)
		j.Push(uint16(i), uint32(media*48000/time.Second), []byte{1}, at)
		popAll(j, at)
		if i == 0 {
			seen = append(seen, sample{at, 0})
			continue
		}
		seen = append(seen, sample{at, at.Sub(j.epoch) - j.lastMedia})
		oldest := j.epoch.Add(j.bucketStart - (baseBuckets-1)*baseWindow/baseBuckets)
		want := time.Duration(1<<63 - 1)
		for _, s := range seen {
			if !s.at.Before(oldest) {
				want = min(want, s.transit)
			}
		}
		if j.base != want {
			t.Fatalf("packet %d: base %v, want %v (the smallest transit since %v)", i, j.base, want, oldest)
		}
	}
	if st := j.Stats(); st.Resyncs != 0 || st.Late != 0 || !j.epoch.Equal(seen[0].at) {
		t.Fatalf("stats %+v, epoch %v: the timeline was re-anchored, so the brute force is wrong", st, j.epoch)
	}
}

// TestJitterStallBacklogIsNotJitter: a steady stream, then the network stalls and delivers
// the held packets back to back with the next live one. The backlog is not jitter: the live
// packets after it must be released as they arrive, as before the stall, for stalls above
// MaxDelay, below the 1 s re-anchoring threshold and above it. (The estimator counted the
// burst, and live packets were held up to 29 ms for 340 ms after a 100 ms stall, 59 ms
// after stalls of 0.8 s and more.) Holds come from the injected clock: each packet is
// popped at 1 ms steps after its arrival.
func TestJitterStallBacklogIsNotJitter(t *testing.T) {
	for _, jitter := range []time.Duration{0, 2 * ms} {
		for _, stall := range []int{5, 25, 40, 100, 250} { // packets held: 100 ms to 5 s
			j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
			arrivalOf := make(map[uint16]time.Time)
			var maxHold, targetBefore time.Duration
			var lost int
			resume := 200 + stall // the first live packet after the stall
			for i := range 600 {
				at := t0.Add(time.Duration(i)*20*ms + time.Duration(i%2)*jitter)
				if i >= 200 && i < resume {
					at = t0.Add(time.Duration(resume) * 20 * ms) // held, then delivered with packet `resume`
				}
				if i == 200 {
					targetBefore = j.TargetDelay()
				}
				arrivalOf[uint16(i)] = at
				j.Push(uint16(i), uint32(i*960), []byte{1}, at)
				for step := time.Duration(0); step < 20*ms; step += ms {
					for _, r := range popAll(j, at.Add(step)) {
						lost += r.Lost
						if int(r.Seq) >= resume {
							maxHold = max(maxHold, at.Add(step).Sub(arrivalOf[r.Seq]))
						}
					}
				}
			}
			if lost != 0 {
				t.Errorf("jitter ±%v, stall %v: %d lost", jitter, time.Duration(stall)*20*ms, lost)
			}
			if maxHold > targetBefore+ms {
				t.Errorf("jitter ±%v, stall %v: live packets after the backlog held up to %v, %v before the stall",
					jitter, time.Duration(stall)*20*ms, maxHold, targetBefore)
			}
		}
	}
}

// TestJitterTracksJitterAfterStall: the backlog after a stall is skipped, but jitter that
// follows it is still measured.
func TestJitterTracksJitterAfterStall(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	for i := range 300 {
		at := t0.Add(time.Duration(i) * 20 * ms)
		switch {
		case i >= 100 && i < 110:
			at = t0.Add(110 * 20 * ms) // a 200 ms stall
		case i > 110:
			at = at.Add(time.Duration(i%2) * 4 * ms) // then ±4 ms alternation
		}
		j.Push(uint16(i), uint32(i*960), []byte{1}, at)
		popAll(j, at)
	}
	if st := j.Stats(); st.Jitter < 2*ms || st.Jitter > 6*ms || st.TargetDelay < 6*ms {
		t.Fatalf("after a stall, ±4 ms alternation: %+v", st)
	}
}

// TestJitterEmptySequenceNumbersAreNotLost: sequence numbers used by packets without audio
// (padding-only, another payload type) are stepped over, not declared lost, whether they
// arrive in order or before a packet that is really lost; a real loss next to one is still
// counted once.
func TestJitterEmptySequenceNumbersAreNotLost(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000, Slots: 16})
	if j.MarkEmpty(0) {
		t.Fatal("marked a sequence number before the stream's first packet")
	}
	at := func(seq int) time.Time { return t0.Add(time.Duration(seq) * 20 * ms) }
	push := func(seq int) []Release {
		t.Helper()
		if r := j.Push(uint16(seq), uint32(seq*960), []byte{byte(seq)}, at(seq)); r != PushAccepted {
			t.Fatalf("push %d: %v", seq, r)
		}
		return popAll(j, at(seq))
	}
	push(0)
	if !j.MarkEmpty(1) { // in order, right after the last release
		t.Fatal("MarkEmpty(1) refused")
	}
	if rel := push(2); len(rel) != 1 || rel[0].Seq != 2 || rel[0].Lost != 0 {
		t.Fatalf("after an empty 1: %+v", rel)
	}
	if j.MarkEmpty(2) || j.MarkEmpty(1) {
		t.Fatal("marked a released sequence number")
	}
	j.MarkEmpty(4) // 3 never arrives; 4 is a padding probe that overtook it
	if rel := push(5); len(rel) != 1 || rel[0].Seq != 5 || rel[0].Lost != 1 {
		t.Fatalf("3 lost, 4 empty, then 5: %+v", rel)
	}
	if r := j.Push(3, 3*960, []byte{3}, at(6)); r != PushLate {
		t.Fatalf("3 after its turn: %v", r)
	}
	// A window overflow counts the gap as lost, less the empty slots in it.
	j.MarkEmpty(6)
	j.MarkEmpty(7)
	popAll(j, at(40))
	push(6 + 16) // 16 slots: beyond the window; 8..21 lost, 6 and 7 empty
	st := j.Stats()
	if st.Lost != 1+14 || st.Buffered != 0 {
		t.Fatalf("stats %+v, want 15 lost", st)
	}
}

// TestJitterRealPacketTakesASlotMarkedEmpty: a padding-only packet may carry a sequence number
// ahead of the audio (a sender bug, a spoofed probe); the real packet with that number must
// still be taken, released and decoded, not dropped as a duplicate of the mark (30 marks ahead
// dropped 30 real packets: Duplicates=30, Lost=0, 600 ms of silence no loss counter showed).
// The counters stay right: a second copy of the real packet is a duplicate, a mark left alone
// is stepped over, and a window overflow counts as lost only what never came.
func TestJitterRealPacketTakesASlotMarkedEmpty(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000, Slots: 16})
	at := func(seq int) time.Time { return t0.Add(time.Duration(seq) * 20 * ms) }
	push := func(seq int, now time.Time) PushResult {
		return j.Push(uint16(seq), uint32(seq*960), []byte{byte(seq)}, now)
	}
	push(0, at(0))
	popAll(j, at(0))
	for seq := 1; seq <= 5; seq++ {
		if !j.MarkEmpty(uint16(seq)) {
			t.Fatalf("MarkEmpty(%d) refused", seq)
		}
	}
	var got []uint16
	for _, seq := range []int{1, 2, 3, 5} { // 4 was a real padding probe: only the mark comes
		if r := push(seq, at(seq)); r != PushAccepted {
			t.Fatalf("real packet %d on a slot marked empty: %v", seq, r)
		}
		if seq == 3 { // held still: a second copy is a duplicate of the real packet
			if r := push(3, at(3)); r != PushDuplicate {
				t.Fatalf("second copy of 3: %v", r)
			}
		}
		for _, r := range popAll(j, at(seq)) {
			if r.Lost != 0 || r.Payload[0] != byte(r.Seq) {
				t.Fatalf("release %+v", r)
			}
			got = append(got, r.Seq)
		}
	}
	if want := []uint16{1, 2, 3, 5}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if st := j.Stats(); st.Duplicates != 1 || st.Lost != 0 || st.Buffered != 0 {
		t.Fatalf("stats %+v, want one duplicate (the second 3), nothing lost", st)
	}
	// A taken slot still held when the window overflows: it is overflowed, not lost, and
	// only the mark left alone is not counted lost.
	j.MarkEmpty(7)
	j.MarkEmpty(8)
	push(7, at(7)) // held: not popped
	push(6+16, at(22))
	rel := popAll(j, at(22))
	if st := j.Stats(); len(rel) != 1 || rel[0].Lost != 14 || st.Overflowed != 1 || st.Lost != 14 {
		// Of 6..21: 6 and 9..21 never came (14), 7 was held, 8 was empty.
		t.Fatalf("after the overflow: releases %+v, stats %+v; want 14 lost, 1 overflowed", rel, st)
	}
}

// TestJitterDueCountsDownAsPopsRelease: after a stall, the backlog arrives back to back
// (Draining); due counts it whole, and each Pop at the same now leaves one fewer due, the
// count Stream.releaseLocked keeps instead of rescanning the window per packet.
func TestJitterDueCountsDownAsPopsRelease(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	j.Push(0, 0, []byte{0}, t0)
	popAll(j, t0)
	at := t0.Add(400 * ms) // 19 packets held by the network, delivered with packet 20
	for i := 1; i <= 20; i++ {
		j.Push(uint16(i), uint32(i*960), []byte{byte(i)}, at)
		if !j.Draining() {
			t.Fatalf("packet %d of the backlog not seen as draining", i)
		}
	}
	if d := j.due(at); d != 20 {
		t.Fatalf("%d of the backlog due, want all 20", d)
	}
	for k := range 20 {
		r, ok := j.Pop(at)
		if !ok || r.Seq != uint16(k+1) {
			t.Fatalf("pop %d: %+v, %v; want packet %d", k, r, ok, k+1)
		}
		if d := j.due(at); d != 19-k {
			t.Fatalf("after releasing packet %d: %d due, want %d", r.Seq, d, 19-k)
		}
	}
	j.Push(21, 21*960, []byte{21}, t0.Add(21*20*ms)) // at its media pace: the backlog is over
	if j.Draining() {
		t.Fatal("still draining after a packet at its media pace")
	}
}
