package analysis

import "testing"

func TestBandsFollowWLEDLayout(t *testing.T) {
	for _, tc := range []struct {
		hz   float64
		band int
	}{{65, 0}, {110, 1}, {250, 3}, {1000, 7}, {2000, 10}, {4000, 13}, {8000, 15}} {
		frames := analyse(newAnalyzer(t), sine(seconds(0.3), tc.hz, 0.5))
		f := frames[len(frames)-1]
		best := 0
		for i, v := range f.Bands {
			if v > f.Bands[best] {
				best = i
			}
			if v < 0 || v > 1 {
				t.Fatalf("band %d = %v, want 0–1", i, v)
			}
		}
		if best != tc.band {
			t.Errorf("%.0f Hz lights band %d most (%v), want band %d", tc.hz, best, f.Bands, tc.band)
		}
	}
}
