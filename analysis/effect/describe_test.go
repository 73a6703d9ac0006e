package effect

import (
	"testing"

	"github.com/ledbridge/ledbridge/analysis/color"
)

// DescribeLook names what an entry sets, in the words of the configuration, and nothing else.
func TestDescribeLook(t *testing.T) {
	for _, tc := range []struct {
		entry int
		look  Strip
		own   bool
		want  string
	}{
		{1, Strip{Effect: EffectPulse, Brightness: 0.5, Reverse: true}, false, "strips[1]: pulse, brightness 0.5, reverse"},
		{0, Strip{Effect: EffectSpectrum, ColorMode: color.ModeMusician, Brightness: 0.33, MaxMilliamps: 900, Reverse: true, Mirror: true}, true,
			"strips[0]: spectrum, musician, brightness 0.33, 900 mA, reverse, mirror"},
		{2, Strip{Brightness: Dark, MaxMilliamps: 0}, true, "strips[2]: brightness 0, 0 mA"},
		{3, Strip{MaxMilliamps: 2500}, false, "strips[3]: as global"}, // the global limit: not the entry's
		{4, Strip{LEDs: 30, RGBW: true}, false, "strips[4]: as global"},
	} {
		if got := DescribeLook(tc.entry, tc.look, tc.own); got != tc.want {
			t.Errorf("DescribeLook(%d, %+v, %v) = %q, want %q", tc.entry, tc.look, tc.own, got, tc.want)
		}
	}
}
