package config

import (
	"testing"

	"github.com/ledbridge/ledbridge/analysis/effect"
)

// A strips: entry's brightness that float32 rounds to zero (1e-50) keeps the strip dark, as 0
// does: the renderer reads a zero strip brightness as 1 (full).
func TestStripBrightnessBelowFloat32IsDark(t *testing.T) {
	for _, v := range []float64{0, 1e-50} {
		b := v
		look, _, err := Strip{Device: "a", Brightness: &b}.Look()
		if err != nil {
			t.Fatal(err)
		}
		if look.Brightness != effect.Dark {
			t.Errorf("brightness %g: look brightness %g, want effect.Dark", v, look.Brightness)
		}
	}
}
