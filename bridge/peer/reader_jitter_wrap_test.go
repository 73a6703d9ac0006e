package peer

import (
	"testing"
	"time"
)

// Transit time (arrival minus RTP timestamp, in clock units) starts wherever the sender's random
// first timestamp puts it and drifts with the sender's clock. When it drifts across ±2³¹ the
// jitter must take the step as the few samples it is (RFC 3550's wrap-safe difference), not as
// ≈ 2³² samples: the status page showed 1.5 hours of jitter for a perfectly paced stream.
func TestTrackReaderJitterWhenTransitCrossesTheInt32Limit(t *testing.T) {
	for _, c := range []struct {
		name string
		ts0  uint32
		ppm  float64 // how much slower the sender's clock runs than ours
	}{
		{"sender 50 ppm slow, transit rises past 2^31-1", 1<<31 + 5, 50},
		{"sender 50 ppm fast, transit falls past -2^31", 1<<31 - 5, -50},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rx rxCounters
			r := newTrackReader(&rx, opusParams, &countSink{})
			now := time.Unix(1000, 0)
			var worst time.Duration
			var s MusicianStats
			for i := range 3000 {
				if i%50 == 7 {
					continue // 2 % loss
				}
				ts := c.ts0 + uint32(float64(i*960)*(1-c.ppm*1e-6))
				r.handle(marshal(t, opusPacket(100+uint16(i), ts, []byte{0xfc, 1})), now.Add(time.Duration(i)*20*time.Millisecond))
				rx.snapshot(&s)
				worst = max(worst, s.Jitter)
			}
			if s.PacketsReceived != 2940 || s.PacketsLost != 60 {
				t.Fatalf("received %d, lost %d; want 2940 and 60", s.PacketsReceived, s.PacketsLost)
			}
			// Arrivals are exact and the drift is 1 µs a packet: the jitter is at most a
			// sample or two of timestamp rounding.
			if worst > time.Millisecond {
				t.Errorf("jitter reached %v (now %v) for a paced stream whose transit crossed the int32 limit", worst, s.Jitter)
			}
		})
	}
}
