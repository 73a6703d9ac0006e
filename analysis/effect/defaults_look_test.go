package effect

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// With the shipped defaults the idle breath bottoms out at a visible amber, not a muddy 3/1/0
// of 255 reached in 8-bit steps: at least 8 on its red channel, and it still swells well above.
func TestIdleBreathFloorIsVisibleWithDefaults(t *testing.T) {
	r := newRenderer(t, Config{}, Strip{LEDs: 10})
	lo, hi := byte(255), byte(0)
	for k := 0; k <= 4*60; k++ { // one 4-beat breath at 120 BPM, and a frame
		f := render(t, r, Input{Now: t0.Add(time.Duration(k) * tick), Look: LookIdle, Playing: true})
		lo, hi = min(lo, f[0]), max(hi, f[0])
	}
	t.Logf("idle red between %d and %d", lo, hi)
	if lo < breathFloorByte {
		t.Errorf("the breath bottoms out at red %d, want at least %d", lo, breathFloorByte)
	}
	if int(hi) < 2*int(lo) {
		t.Errorf("the breath swells only from %d to %d", lo, hi)
	}
}

// The spectrum's bars are frequency ranges: in the default note colour mode they take colours by
// frequency, low red to high violet along the strip, not their centres' pitch classes (which made
// neighbours alternate blue, orange, blue, red).
func TestSpectrumBarsColouredByFrequencyByDefault(t *testing.T) {
	r := newRenderer(t, Config{Effect: EffectSpectrum, Gamma: 1, BrightnessCap: 1}, Strip{LEDs: 160})
	f := &analysis.Features{Level: 0.5}
	for b := range f.Bands {
		f.Bands[b] = 1
	}
	var frame []byte
	for k := range 30 {
		frame = render(t, r, local(t0.Add(time.Duration(k)*tick), Source{Features: f}))
	}
	prev := float32(-1)
	for b := range analysis.NumBands {
		h, _ := color.HueOf(pixel(frame, b*10+5))
		if h < prev-1 {
			t.Errorf("bar %d has hue %.0f after bar %d's %.0f: not low-to-high frequency colours", b, h, b-1, prev)
		}
		prev = h
	}
	if first, _ := color.HueOf(pixel(frame, 5)); first > 20 {
		t.Errorf("the lowest bar's hue %.0f, want red", first)
	}
	// An explicit musician mode still colours bars by musician.
	m := newRenderer(t, Config{Effect: EffectSpectrum, Palette: color.Palette{Mode: color.ModeMusician}}, Strip{LEDs: 160})
	if m.barPalette.Mode != color.ModeMusician {
		t.Errorf("musician mode's bars use mode %v", m.barPalette.Mode)
	}
}
