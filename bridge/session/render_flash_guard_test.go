package session

import (
	"bytes"
	"testing"
	"time"
)

// The renderers' flash guard (at most 3 whole-strip flashes a second) judges what a strip shows,
// overlays included, and leaves what is under the limit as it is: the test pattern's moving
// rainbow passes byte for byte (the brightness cap aside), and identify's 2 Hz blink keeps all
// its 4 changes a second.
func TestFlashGuardLeavesTestPatternAndIdentifyAlone(t *testing.T) {
	s, st := newReviewStrip(t, "leds=30", 0)
	start := s.clock.Now()
	if err := s.TestPattern(time.Hour); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 90)
	for k := range 120 {
		now := start.Add(time.Duration(k) * time.Second / 60)
		s.loop.tick(now)
		rainbow(want, 3, now)
		for i, v := range want {
			want[i] = uint8(float32(v)*0.8 + 0.5) // the default brightness cap
		}
		if got := st.frame[:90]; !bytes.Equal(got, want) {
			t.Fatalf("test pattern frame %d: %v…, want %v…", k, got[:6], want[:6])
		}
	}
	if err := s.TestPattern(0); err != nil {
		t.Fatal(err)
	}

	if err := s.Identify(st.key); err != nil {
		t.Fatal(err)
	}
	from := s.clock.Now()
	from = from.Add(-time.Duration(from.UnixNano() % 500e6)) // the blink's "on" quarter second
	changes, lit := 0, false
	for k := range 120 { // two seconds
		s.loop.tick(from.Add(time.Duration(k) * time.Second / 60))
		on := st.frame[0] > 150
		if k > 0 && on != lit {
			changes++
		}
		lit = on
	}
	if changes < 7 {
		t.Errorf("identify changed %d times in two seconds, want its 2 Hz blink (8)", changes)
	}
}
