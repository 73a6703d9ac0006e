package session

import (
	"testing"

	"github.com/ledbridge/ledbridge/analysis/color"
)

// A reload that changes an effects key other than the brightness builds new renderers; the strip
// must fade to the new look, not cut: the idle breath at its swell carries on (a new renderer's
// breath started at its floor, red 14 → 3 in one tick) and then eases to the new idle colour.
func TestReloadOfTheEffectsFadesTheStrip(t *testing.T) {
	s, st := newReviewStrip(t, "leds=10", 0)
	tick, before := ticksToTheIdleSwell(s, st)
	old := st.renderer
	cfg := s.effectCfg
	cfg.IdleColor = color.RGB{R: 60, G: 150, B: 255} // a reload to a blue idle
	if err := s.SetEffects(cfg); err != nil {
		t.Fatal(err)
	}
	after := tick()
	if st.renderer == old {
		t.Fatal("the reload kept the old renderer: the test proves nothing")
	}
	t.Logf("LED 0 before the reload %v, the tick after %v", before, after)
	for i := range after {
		if d := int(after[i]) - int(before[i]); d < -2 || d > 2 {
			t.Fatalf("the tick after the reload: LED 0 %v, want about %v (a fade, not a cut)", after, before)
		}
	}
	var last []byte
	for range 40 { // past the 300 ms crossfade
		last = tick()
	}
	if !(last[2] > last[0]) {
		t.Errorf("after the crossfade LED 0 is %v, want the new blue idle", last)
	}
}
