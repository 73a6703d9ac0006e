package session

import (
	"testing"
	"time"
)

// A musician who stopped for seconds (a frozen tab, a track stopped) and comes back has not
// changed her packets' rhythm: the gap of her stop must not become the wait before her next stop
// counts (taken as a second, her next stop kept her last note lit about twice as long).
func TestMusicianStopIsNotTakenAsHerPacketRhythm(t *testing.T) {
	m := &musician{}
	at := time.Unix(1e9, 0)
	steady := func(n int) {
		for range n {
			at = at.Add(20 * time.Millisecond)
			m.noteArrival(at)
		}
	}
	steady(100)
	before := m.silenceWait()
	if before >= silenceAfter+100*time.Millisecond {
		t.Fatalf("with steady 20 ms packets she waits %v before counting as stopped, want about %v", before, silenceAfter+20*time.Millisecond)
	}
	at = at.Add(5 * time.Second) // she stopped for 5 s, then plays again
	m.noteArrival(at)
	steady(5)
	if got := m.silenceWait(); got != before {
		t.Errorf("100 ms after coming back from a 5 s stop she waits %v before counting as stopped, want %v as before the stop", got, before)
	}
	// A DTX pause's gaps (≈ 400 ms) are her rhythm: taken at once.
	at = at.Add(400 * time.Millisecond)
	m.noteArrival(at)
	if got := m.silenceWait(); got < silenceAfter+400*time.Millisecond {
		t.Errorf("after a 400 ms gap (DTX) she waits %v, want at least %v", got, silenceAfter+400*time.Millisecond)
	}
}
