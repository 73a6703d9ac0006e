package effect

import (
	"math"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
)

// pianoPhrase is a few seconds of piano-like notes (a decaying tone with partials, one every
// 250 ms over two octaves) over faint hiss, scaled so its sample peak is peakDBFS.
func pianoPhrase(seconds, peakDBFS float64) []float32 {
	const sr = analysis.SampleRate
	pcm := make([]float32, int(seconds*sr))
	rng := rand.New(rand.NewSource(1))
	midis := []int{48, 52, 55, 60, 64, 67, 72, 67, 64, 60, 55, 52}
	for k, start := 0, 0; start < len(pcm); k, start = k+1, start+sr/4 {
		hz := 440 * math.Exp2(float64(midis[k%len(midis)]-69)/12)
		amp := 0.5 + 0.5*float64(k%3)/2 // three dynamics
		for i := start; i < len(pcm); i++ {
			t := float64(i-start) / sr
			if t > 1.5 {
				break
			}
			env := amp * math.Exp(-t*3) * math.Min(1, t*500)
			v := math.Sin(2*math.Pi*hz*t) + 0.4*math.Sin(4*math.Pi*hz*t) + 0.2*math.Sin(6*math.Pi*hz*t)
			pcm[i] += float32(env * v)
		}
	}
	var peak float32
	for i := range pcm {
		pcm[i] += float32(rng.NormFloat64() * 1e-3) // hiss 60 dB under the notes
		peak = max(peak, float32(math.Abs(float64(pcm[i]))))
	}
	k := float32(math.Pow(10, peakDBFS/20)) / peak
	for i := range pcm {
		pcm[i] *= k
	}
	return pcm
}

// brightestByte runs pcm through the analyser and a 300-LED renderer of effect at 60 fps and
// returns the brightest byte any LED showed after the first second; for the spectrum, whose bars
// are as long as their bands are loud, the mean over frames of the LEDs the tallest bar lit, in
// tenths.
func brightestByte(t *testing.T, pcm []float32, effect Effect) int {
	t.Helper()
	an, err := analysis.New(analysis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, Config{Effect: effect}, Strip{LEDs: 300})
	frame := make([]byte, 900)
	var f analysis.Features
	const block = analysis.SampleRate / analysis.FrameRate
	brightest, tallest, frames := 0, 0, 0
	for i := 0; (i+1)*block <= len(pcm); i++ {
		an.Write(pcm[i*block : (i+1)*block])
		an.Frame(&f)
		if _, err := r.Render(frame, local(t0.Add(time.Duration(i)*tick), Source{Features: &f})); err != nil {
			t.Fatal(err)
		}
		if i < analysis.FrameRate {
			continue
		}
		if effect == EffectSpectrum {
			top := 0
			for band := range analysis.NumBands {
				lit := 0
				for led := band * 300 / analysis.NumBands; led < (band+1)*300/analysis.NumBands; led++ {
					if frame[led*3] > 0 || frame[led*3+1] > 0 || frame[led*3+2] > 0 {
						lit++
					}
				}
				top = max(top, lit)
			}
			tallest, frames = tallest+top, frames+1
			brightest = 10 * tallest / frames
			continue
		}
		for _, b := range frame {
			brightest = max(brightest, int(b))
		}
	}
	return brightest
}

// The same phrase at sample peaks of -3, -13, -23 and -33 dBFS (two musicians' interfaces set
// 30 dB apart) lights the strip alike: brightness follows the playing, not the input gain.
func TestBrightnessDoesNotFollowTheInputGain(t *testing.T) {
	for _, effect := range []Effect{EffectNotes, EffectPulse, EffectSpectrum} {
		var got []int
		for _, db := range []float64{-3, -13, -23, -33} {
			got = append(got, brightestByte(t, pianoPhrase(4, db), effect))
		}
		t.Logf("%v: brightest byte at -3/-13/-23/-33 dBFS peaks: %v", effect, got)
		lo, hi := slices.Min(got), slices.Max(got)
		if float64(hi) > 1.25*float64(lo) {
			t.Errorf("%v: brightest byte %v at peaks 10 dB apart: follows the input gain", effect, got)
		}
	}
}

// hiss is seconds of white noise at rmsDBFS.
func hiss(seconds, rmsDBFS float64) []float32 {
	rng := rand.New(rand.NewSource(2))
	pcm := make([]float32, int(seconds*analysis.SampleRate))
	k := math.Pow(10, rmsDBFS/20)
	for i := range pcm {
		pcm[i] = float32(rng.NormFloat64() * k)
	}
	return pcm
}

// A feed of hiss alone is as quiet as a feed gets, so it could get the most gain: it must light
// no more than it did without (at -50 dBFS the analyser's attack path lights a dim 8 of 255).
func TestAutomaticGainDoesNotBlowUpHiss(t *testing.T) {
	for _, db := range []float64{-70, -60, -50} {
		pcm := hiss(4, db)
		n, p, s := brightestByte(t, pcm, EffectNotes), brightestByte(t, pcm, EffectPulse), brightestByte(t, pcm, EffectSpectrum)
		t.Logf("hiss at %v dBFS: notes %d, pulse %d, spectrum's tallest bar %.1f LEDs", db, n, p, float64(s)/10)
		if n > 12 || p > 12 {
			t.Errorf("hiss at %v dBFS lit notes (%d) or pulses (%d)", db, n, p)
		}
		if s > 25 {
			t.Errorf("hiss at %v dBFS: the spectrum's tallest bar %.1f of 18 LEDs", db, float64(s)/10)
		}
	}
}
