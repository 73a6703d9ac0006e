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
	hue0, _ := color.HueOf(cfg.Palette.ForGamma(cfg.Gamma).Freq(0, r.bandHz[7]))
	hue1, _ := color.HueOf(cfg.Palette.ForGamma(cfg.Gamma).Freq(1, r.bandHz[7]))
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

// barsFront renders a spectrum strip of musicians playing every band at the levels level(frame)
// gives, frame after frame, and returns which musician's bar is in front on each frame (the
// musician whose hue LED 75, in band 7, shows).
func barsFront(t *testing.T, musicians, frames int, level func(musician, frame int) float32) []int {
	t.Helper()
	cfg := linear()
	cfg.Effect = EffectSpectrum
	cfg.Palette.Mode = color.ModeMusician
	r := newRenderer(t, cfg, Strip{LEDs: 160})
	const led = 75
	hues := make([]float32, musicians)
	for m := range hues {
		hues[m], _ = color.HueOf(cfg.Palette.ForGamma(cfg.Gamma).Freq(m, r.bandHz[7]))
	}
	features := make([]analysis.Features, musicians)
	sources := make([]Source, musicians)
	fronts := make([]int, frames)
	for i := range fronts {
		for m := range sources {
			features[m] = analysis.Features{Level: level(m, i)}
			for b := range features[m].Bands {
				features[m].Bands[b] = 0.9
			}
			sources[m] = Source{Musician: m, Features: &features[m]}
		}
		frame := render(t, r, local(t0.Add(time.Duration(i)*tick), sources...))
		h, _ := color.HueOf(pixel(frame, led))
		for m := range hues {
			if hueDistance(h, hues[m]) < hueDistance(h, hues[fronts[i]]) {
				fronts[i] = m
			}
		}
	}
	return fronts
}

// The margin a source must beat another by to be drawn in front of it holds against every source
// in front, not only its neighbour: of three musicians at 0.2, 0.26 and 0.36, the third is 1.8×
// (5 dB) louder than the first and comes to the front, although it is within the margin of the
// second (which is within the margin of the first). It used to stay behind both for good.
func TestSpectrumBarsBringAClearlyLouderSourcePastOnesItIsNear(t *testing.T) {
	fronts := barsFront(t, 3, 120, func(m, i int) float32 {
		if i < 60 {
			return 0.2 // all alike: the first heard stays in front
		}
		return [3]float32{0.2, 0.26, 0.36}[m]
	})
	if fronts[59] != 0 {
		t.Fatalf("three musicians alike: musician %d in front, want the first, 0", fronts[59])
	}
	if got := fronts[len(fronts)-1]; got != 2 {
		t.Errorf("musicians at 0.2, 0.26, 0.36 for a second: musician %d in front, want 2 (1.8× the front's level)", got)
	}
}

// Three musicians about as loud, two with a ±10 % tremolo out of step: the bars never swap.
func TestSpectrumBarsKeepTheirOrderAmongThreeAtSimilarLoudness(t *testing.T) {
	fronts := barsFront(t, 3, 240, func(m, i int) float32 {
		tremolo := [3]float32{0, 0.1, 0.1}[m] * float32(math.Sin(2*math.Pi*2*float64(i)/60+float64(m)))
		return 0.3 * (1 + tremolo) * [3]float32{1, 1.1, 1.25}[m]
	})
	for i := 31; i < len(fronts); i++ {
		if fronts[i] != fronts[i-1] {
			t.Fatalf("the bars swapped musicians at frame %d: %v", i, fronts[30:])
		}
	}
}
