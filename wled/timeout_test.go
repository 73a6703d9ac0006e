package wled

import (
	"testing"
	"time"
)

// WLED waits timeout byte × 1000 + 1 ms after a UDP realtime packet: the shortest timeout must
// outlast two frame intervals at every fps, and the one-second timeout is the shortest above 1 fps.
func TestShortestRealtimeTimeoutOutlastsTwoFrames(t *testing.T) {
	for fps := 1; fps <= 60; fps++ {
		d := ShortestRealtimeTimeout(fps)
		b, err := TimeoutByte(d)
		if err != nil {
			t.Fatal(err)
		}
		wledWaits := time.Duration(b)*time.Second + time.Millisecond
		if interval := time.Second / time.Duration(fps); wledWaits < 2*interval {
			t.Errorf("fps %d: %v (byte %d) waits %v, under two frames (%v)", fps, d, b, wledWaits, 2*interval)
		}
		if want := map[bool]time.Duration{true: 2 * time.Second, false: time.Second}[fps == 1]; d != want {
			t.Errorf("fps %d: ShortestRealtimeTimeout = %v, want %v", fps, d, want)
		}
	}
}
