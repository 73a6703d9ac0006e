package session

import (
	"bytes"
	"testing"
	"time"
)

// A musician whose packets carry less audio than their timestamps pass (10 ms of PCMU, or one
// byte, every 20 ms) held the room's mix at her pace: the others' audio was cut by mixSkew at
// every few ticks, and WLED's sound sync got 5 s of mix, or 0.08 s, for 10 s of two musicians
// playing (review 312). After a time.Second the mix no longer waits for her. End to end through
// audio.Stream and the frame loop.
func TestMixDoesNotWaitForAMusicianWhoDeliversTooLittle(t *testing.T) {
	for _, slowBytes := range []int{160, 80, 1} {
		r := newMixRig(t, 3)
		start := r.now
		mixed, cuts := 0, 0
		prev := make([]int, 3)
		next := 0
		for tick := 1; tick <= 600; tick++ {
			at := start.Add(time.Duration(tick) * time.Second / 60)
			for ; !start.Add(time.Duration(next) * 20 * time.Millisecond).After(at); next++ {
				pat := start.Add(time.Duration(next) * 20 * time.Millisecond)
				r.send(0, pat, bytes.Repeat([]byte{0x90}, 160))
				r.send(1, pat, bytes.Repeat([]byte{0xa0}, 160))
				r.send(2, pat, bytes.Repeat([]byte{0xb0}, slowBytes))
			}
			r.now = at
			r.s.loop.tick(at)
			mixed += len(r.s.loop.mixed)
			cuts += cutsOfTheOthers(r, prev)
		}
		t.Logf("third musician sends %d-byte packets: 10 s of the room -> %.2f s of mix, the others' lanes cut %d times",
			slowBytes, float64(mixed)/48000, cuts)
		if secs := float64(mixed) / 48000; secs < 9.5 {
			t.Errorf("%d-byte packets: %.2f s of mix for 10 s of the room", slowBytes, secs)
		}
		// Until she owes lagShortfall the mix still waits for her: each of the two others' lanes
		// is cut once at most.
		if cuts > 2 {
			t.Errorf("%d-byte packets: the others' lanes cut %d times, want at most once each", slowBytes, cuts)
		}
	}
}

// cutsOfTheOthers counts the first two lanes that lost more audio in this tick's mix than it
// took from them (and a realignment's speed-up): cut down to the others. prev holds each lane's
// queue before the tick, and is updated.
func cutsOfTheOthers(r *mixRig, prev []int) (cuts int) {
	mixed := len(r.s.loop.mixed)
	for k, l := range r.s.loop.aligned.lanes[:2] {
		if prev[k]-l.n > mixed+int(maxRealignRate*float64(mixed))+1 {
			cuts++
		}
		prev[k] = l.n
	}
	return cuts
}
