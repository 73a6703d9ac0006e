package session

import (
	"math"
	"testing"
	"time"
)

// The status page's brightness control (and a reload, through the same SetEffects) must not
// restart what the strips show: the idle breath at its peak must carry on at the next tick, at
// the same level when the brightness is unchanged and at half when it is halved. Rebuilding the
// renderers restarted the breath, so the next tick went from its peak to its dimmest point.
func TestRenderReviewBrightnessControlKeepsWhatTheStripShows(t *testing.T) {
	s, st := newReviewStrip(t, "leds=10", 0)
	tick, peak := ticksToTheIdleSwell(s, st)
	if peak[0] == 0 {
		t.Fatalf("idle at the breath's peak: LED 0 %v, want lit", peak)
	}

	if err := s.SetBrightness(0.8); err != nil { // the value it already has
		t.Fatal(err)
	}
	same := tick()
	for i := range same {
		if d := int(same[i]) - int(peak[i]); d < -1 || d > 1 {
			t.Fatalf("the tick after SetBrightness(0.8), unchanged: LED 0 %v, want about %v (the breath carries on)", same, peak)
		}
	}

	if err := s.SetBrightness(0.4); err != nil {
		t.Fatal(err)
	}
	half := tick()
	for i := range half {
		if d := int(half[i]) - int(math.Round(float64(same[i])/2)); d < -1 || d > 1 {
			t.Fatalf("the tick after SetBrightness(0.4) from 0.8: LED 0 %v, want about half of %v", half, same)
		}
	}
}

// ticksToTheIdleSwell ticks the hand-ticked session at 60 fps from its clock's now through one
// second of idle (the breath, 2 s at 120 BPM, at its swell) and returns a tick function that goes
// on from there, each call returning LED 0's bytes, and the swell's.
func ticksToTheIdleSwell(s *Session, st *strip) (tick func() []byte, swell []byte) {
	now := s.clock.Now()
	k := 0
	tick = func() []byte {
		s.loop.tick(now.Add(time.Duration(k) * time.Second / 60))
		k++
		return append([]byte(nil), st.frame[:3]...)
	}
	for k <= 60 {
		swell = tick()
	}
	return tick, swell
}
