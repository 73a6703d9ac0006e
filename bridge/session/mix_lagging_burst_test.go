package session

import (
	"bytes"
	"sort"
	"testing"
	"time"
)

// runBurst plays three musicians through the frame loop: musician 0 stalls for stallMs every
// periodMs, starting phaseMs into the period (its packets then arrive in one burst), musician 1
// is clean, musician 2 plays pkts. It returns how many ticks each lane was judged lagging, and the
// most lane 2 owed when first judged so.
func runBurst(t *testing.T, secs int, pkts []lagPacket, stallMs, periodMs, phaseMs int) (lag [3]int, owedAtLag float64) {
	r := newMixRig(t, 3)
	start := r.now
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].at < pkts[j].at })
	arr0 := func(i int) time.Duration {
		at := i * 20
		if stallMs > 0 {
			p := (at + phaseMs) % periodMs
			if p < stallMs {
				at += stallMs - p
			}
		}
		return time.Duration(at) * time.Millisecond
	}
	n0, n1, pi := 0, 0, 0
	for tick := 1; tick <= secs*60; tick++ {
		at := start.Add(time.Duration(tick) * time.Second / 60)
		for ; !start.Add(arr0(n0)).After(at); n0++ {
			r.send(0, start.Add(arr0(n0)), bytes.Repeat([]byte{0x90}, 160))
		}
		for ; !start.Add(time.Duration(n1) * 20 * time.Millisecond).After(at); n1++ {
			r.send(1, start.Add(time.Duration(n1)*20*time.Millisecond), bytes.Repeat([]byte{0xa0}, 160))
		}
		pi = playThird(t, r, start, at, pkts, pi)
		r.now = at
		before := r.s.loop.aligned != nil && len(r.s.loop.aligned.lanes) > 2 && r.s.loop.aligned.lanes[2].lagging
		r.s.loop.tick(at)
		for k, l := range r.s.loop.aligned.lanes {
			if l.lagging {
				lag[k]++
			}
		}
		if l := r.s.loop.aligned.lanes[2]; l.lagging && !before {
			owedAtLag = max(owedAtLag, l.owed)
		}
	}
	return
}

// A musician whose audio comes in a burst after a stall has far more queued than the others for a
// tick: no normal musician beside her may be judged lagging for it (review 322: a rule that judged
// the short lane at once when the others would be cut caught a musician switching codecs).
func TestMixJudgesNoOneLaggingForAnothersBurst(t *testing.T) {
	codecSwitches := func() []lagPacket {
		return lagPackets(20, 20, func(i int, p *lagPacket) bool {
			if (i/100)%2 == 1 {
				p.pt = 8
			}
			if i%100 == 3 && i >= 100 {
				p.switchTo = map[uint8]string{0: "audio/PCMU", 8: "audio/PCMA"}[p.pt]
			}
			return true
		})
	}
	for _, stall := range []int{300, 500} {
		for phase := 0; phase < 2000; phase += 300 {
			lag, _ := runBurst(t, 20, codecSwitches(), stall, 2000, phase)
			if lag[1] != 0 || lag[2] != 0 {
				t.Errorf("musician 0 stalling %d ms every 2 s (phase %d ms): lanes judged lagging for %v ticks", stall, phase, lag)
			}
		}
	}
}
