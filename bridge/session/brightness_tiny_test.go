package session

import (
	"testing"

	"github.com/ledbridge/ledbridge/analysis/effect"
)

// A brightness that float32 rounds to zero (1e-50 from the status page's control) is dark, as 0
// is: the renderer reads a zero cap as its default (0.8), so the cap must be Dark, not 0.
func TestSetBrightnessBelowFloat32IsDark(t *testing.T) {
	s, _ := newReviewStrip(t, "leds=30", 0)
	for _, v := range []float64{0, 1e-50} {
		if err := s.SetBrightness(v); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		got := s.effectCfg.BrightnessCap
		s.mu.Unlock()
		if got != effect.Dark {
			t.Errorf("SetBrightness(%g): cap %g, want effect.Dark (%g)", v, got, effect.Dark)
		}
	}
}
