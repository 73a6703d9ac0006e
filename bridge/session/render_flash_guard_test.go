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
//
// The session's clock is a fake that the test sets to each tick's time: with the real clock,
// identify's ticks began before the test pattern's last ones whenever the 120 hand-made ticks
// took less real time than the 2 s they stand for, so the guard saw time run backwards and the
// count depended on the machine's load.
func TestFlashGuardLeavesTestPatternAndIdentifyAlone(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
	s, strips := handTickedSession(t, Config{Clock: clock}, "leds=30")
	st := strips[0]
	tickAt := func(now time.Time) {
		clock.mu.Lock()
		clock.now = now
		clock.mu.Unlock()
		s.loop.tick(now)
	}
	start := s.clock.Now()
	if err := s.TestPattern(time.Hour); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 90)
	for k := range 120 {
		now := start.Add(time.Duration(k) * time.Second / 60)
		tickAt(now)
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

	from := start.Add(3 * time.Second) // after the test pattern, on the blink's "on" quarter second
	tickAt(from)
	if err := s.Identify(st.key); err != nil {
		t.Fatal(err)
	}
	changes, lit := 0, false
	for k := range 120 { // two seconds
		tickAt(from.Add(time.Duration(k) * time.Second / 60))
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
