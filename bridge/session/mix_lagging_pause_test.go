package session

import (
	"bytes"
	"testing"
	"time"
)

// runLagRig: musicians 0,1 send 160-byte PCMU every 20 ms; musician 2 sends whatever third(next)
// says (nil: no packet that slot). Returns mixed seconds, cuts, and how many ticks lane 2 was lagging.
func runLagRig(t *testing.T, secs int, third func(i int) []byte) (float64, int, int) {
	r := newMixRig(t, 3)
	start := r.now
	mixed, cuts, lagTicks := 0, 0, 0
	prev := make([]int, 3)
	next := 0
	for tick := 1; tick <= secs*60; tick++ {
		at := start.Add(time.Duration(tick) * time.Second / 60)
		for ; !start.Add(time.Duration(next) * 20 * time.Millisecond).After(at); next++ {
			pat := start.Add(time.Duration(next) * 20 * time.Millisecond)
			r.send(0, pat, bytes.Repeat([]byte{0x90}, 160))
			r.send(1, pat, bytes.Repeat([]byte{0xa0}, 160))
			if p := third(next); p != nil {
				r.send(2, pat, p)
			} else {
				r.seq[2]++ // the slot's packet is not sent, its seq and timestamp pass
			}
		}
		r.now = at
		r.s.loop.tick(at)
		mixed += len(r.s.loop.mixed)
		cuts += cutsOfTheOthers(r, prev)
		if r.s.loop.aligned.lanes[2].lagging {
			lagTicks++
		}
	}
	return float64(mixed) / 48000, cuts, lagTicks
}

// A sender who delivers too little escaped the judgement by pausing 120 ms now and then, which
// started her window afresh (review 318: 0.61 s of mix for 10 s); and one at 76 % of real time
// was never judged lagging, and the others' audio was cut 30 times.
func TestMixJudgesALaggingMusicianAcrossHerPauses(t *testing.T) {
	// 1-byte packets for 900 ms, then 6 slots (120 ms) sent with nothing at all.
	for _, period := range []int{51, 30, 20} {
		secs, cuts, lag := runLagRig(t, 10, func(i int) []byte {
			if i%period >= period-6 {
				return nil
			}
			return []byte{0xb0}
		})
		t.Logf("1-byte packets, a 120 ms pause every %d ms: 10 s -> %.2f s of mix, %d cuts, lagging %d of 600 ticks", period*20, secs, cuts, lag)
		if secs < 8.5 || lag == 0 {
			t.Errorf("a pause every %d ms: %.2f s of mix, lagging %d ticks", period*20, secs, lag)
		}
	}
	secs, cuts, lag := runLagRig(t, 10, func(i int) []byte { return []byte{0xb0} })
	t.Logf("1-byte packets, no pause: 10 s -> %.2f s of mix, %d cuts, lagging %d of 600 ticks", secs, cuts, lag)
	for _, b := range []int{157, 155, 153, 150, 145, 137, 128, 122, 119} {
		secs, cuts, lag := runLagRig(t, 10, func(i int) []byte { return bytes.Repeat([]byte{0xb0}, b) })
		t.Logf("%d-byte packets (%.0f%%): 10 s -> %.2f s of mix, %d cuts, lagging %d ticks", b, float64(b)/1.6, secs, cuts, lag)
		// Below 95 % of real time she owes lagShortfall within seconds. Above it she may not: at
		// 96–99 % the others are cut every few seconds (review 321), a known limit.
		if float64(b)/160 < 0.95 && (lag == 0 || cuts > 4) {
			t.Errorf("%d-byte packets: lagging %d ticks, %d cuts", b, lag, cuts)
		}
	}
}

// A musician judged lagging is waited for again once she keeps up for a time.Second.
func TestMixWaitsAgainForAMusicianWhoKeepsUp(t *testing.T) {
	secs, cuts, lag := runLagRig(t, 10, func(i int) []byte {
		if i < 150 {
			return bytes.Repeat([]byte{0xb0}, 80)
		}
		return bytes.Repeat([]byte{0xb0}, 160)
	})
	t.Logf("80-byte packets for 3 s, then 160: %.2f s of mix, %d cuts, lagging %d ticks (%.2f s)", secs, cuts, lag, float64(lag)/60)
	if lag == 0 || lag > 7*60 {
		t.Errorf("lagging %d ticks for 3 s of half real time, want some, and none from 4 s after", lag)
	}
}
