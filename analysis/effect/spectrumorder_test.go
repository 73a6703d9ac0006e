package effect

import (
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// Two musicians at about the same loudness fill the same bands, one with a ±10 % tremolo: the
// bars keep one musician in front instead of swapping every lit LED between the two colours each
// time the smoothed levels cross (every 10–20 frames). A musician clearly louder comes to the
// front.
func TestSpectrumBarsKeepTheirOrderAtSimilarLoudness(t *testing.T) {
	cfg := linear()
	cfg.Effect = EffectSpectrum
	cfg.Palette.Mode = color.ModeMusician
	r := newRenderer(t, cfg, Strip{LEDs: 160})
	const led = 75 // band 7's middle LED: every bar covers it
	hue0, _ := color.HueOf(cfg.Palette.Freq(0, r.bandHz[7]))
	hue1, _ := color.HueOf(cfg.Palette.Freq(1, r.bandHz[7]))
	front := func(frame []byte) int {
		h, _ := color.HueOf(pixel(frame, led))
		if hueDistance(h, hue0) < hueDistance(h, hue1) {
			return 0
		}
		return 1
	}
	source := func(level float32) *analysis.Features {
		f := &analysis.Features{Level: level}
		for b := range f.Bands {
			f.Bands[b] = 0.9
		}
		return f
	}
	var fronts []int
	for i := range 240 {
		tremolo := 1 + 0.1*float32(math.Sin(2*math.Pi*2*float64(i)/60))
		frame := render(t, r, local(t0.Add(time.Duration(i)*tick), Source{Musician: 0, Features: source(0.3)}, Source{Musician: 1, Features: source(0.3 * tremolo)}))
		if i >= 30 { // once both are heard
			fronts = append(fronts, front(frame))
		}
	}
	swaps := 0
	for i := 1; i < len(fronts); i++ {
		if fronts[i] != fronts[i-1] {
			swaps++
		}
	}
	if swaps > 0 {
		t.Errorf("the bars swapped musicians %d times in 3.5 s: %v", swaps, fronts)
	}
	// The one behind now plays twice as loud (+6 dB): it comes to the front within the envelope.
	back := 1 - fronts[len(fronts)-1]
	levels := [2]float32{0.3, 0.3}
	levels[back] = 0.6
	var frame []byte
	for i := range 30 {
		frame = render(t, r, local(t0.Add(time.Duration(240+i)*tick), Source{Musician: 0, Features: source(levels[0])}, Source{Musician: 1, Features: source(levels[1])}))
	}
	if got := front(frame); got != back {
		t.Errorf("musician %d played twice as loud for half a second, musician %d stayed in front", back, got)
	}
}
