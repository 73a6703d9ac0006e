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

// gainTrace runs seconds of pcm(i) (sample i) through the analyser and a 300-LED linear notes
// renderer and returns, per frame, the brightest byte of the LEDs in [from, to) and the velocity
// of the analyser's note midi (0 while it is not heard).
func gainTrace(t *testing.T, seconds float64, pcm func(i int) float64, from, to, midi int) (bright []int, vel []float32) {
	t.Helper()
	an, err := analysis.New(analysis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, linear(), Strip{LEDs: 300})
	const block = analysis.SampleRate / analysis.FrameRate
	blk := make([]float32, block)
	var f analysis.Features
	for i := 0; i < int(seconds*analysis.FrameRate); i++ {
		for k := range blk {
			blk[k] = float32(pcm(i*block + k))
		}
		an.Write(blk)
		an.Frame(&f)
		frame := render(t, r, local(t0.Add(time.Duration(i)*tick), Source{Features: &f}))
		b := 0
		for _, v := range frame[from*3 : to*3] {
			b = max(b, int(v))
		}
		v := float32(0)
		for _, n := range f.ActiveNotes() {
			if n.MIDI == midi {
				v = n.Velocity
			}
		}
		bright, vel = append(bright, b), append(vel, v)
	}
	return bright, vel
}

// noteLED is the LED the notes effect centres MIDI note m on, on a 300-LED strip.
func noteLED(t *testing.T, m int) int {
	t.Helper()
	r := newRenderer(t, Config{Effect: EffectNotes, Attack: Instant, Decay: Instant, NoteWidth: 1}, Strip{LEDs: 300})
	frame := render(t, r, local(t0, Source{Features: notes(note(m, 1, true))}))
	best := 0
	for i := range 300 {
		if max(frame[i*3], frame[i*3+1], frame[i*3+2]) > max(frame[best*3], frame[best*3+1], frame[best*3+2]) {
			best = i
		}
	}
	return best
}

// A held A4 fading 3 dB a second (velocity 0.88 → 0.58 over 7 s) fades on the strip too: the
// gain follows the source's loudness over many seconds, not the note's own decay.
func TestHeldNoteDimsWithItsVelocity(t *testing.T) {
	led := noteLED(t, 69)
	bright, vel := gainTrace(t, 7, func(i int) float64 {
		s := float64(i) / analysis.SampleRate
		return math.Pow(10, (-6-3*s)/20) * math.Sin(2*math.Pi*440*s)
	}, led-2, led+3, 69)
	early, late := 90, 390 // 1.5 s and 6.5 s
	t.Logf("A4: velocity %.2f → %.2f, brightest byte %d → %d", vel[early], vel[late], bright[early], bright[late])
	if vel[early] == 0 || vel[late] == 0 {
		t.Fatalf("the analyser lost the A4: velocity %v → %v", vel[early], vel[late])
	}
	dv := float64(vel[early] - vel[late])
	db := float64(bright[early]-bright[late]) / 255
	if db < 0.7*dv {
		t.Errorf("velocity fell %.2f, brightness %.2f (bytes %d → %d): the gain flattens the decay", dv, db, bright[early], bright[late])
	}
}

// A quiet pad (A3 at -30 dBFS) under a loud short hit on another note (E5 at -3 dBFS, 0.3 s, 1 s
// in) keeps its brightness after the hit: the gain does not pump down and climb back over
// seconds. (During the hit the analyser's own velocity for the pad moves, and the light with it.)
func TestPadKeepsItsBrightnessThroughALoudHit(t *testing.T) {
	led := noteLED(t, 57)
	const hitAt = 1.0
	bright, vel := gainTrace(t, 7, func(i int) float64 {
		s := float64(i) / analysis.SampleRate
		v := math.Pow(10, -30.0/20) * math.Sin(2*math.Pi*220*s)
		if s >= hitAt && s < hitAt+0.3 {
			v += math.Pow(10, -3.0/20) * math.Sin(2*math.Pi*659.26*s) * math.Exp(-(s-hitAt)*5)
		}
		return v
	}, led-2, led+3, 57)
	before := bright[int((hitAt-0.2)*analysis.FrameRate)]
	lo, hi := before, before
	for i := int((hitAt + 0.5) * analysis.FrameRate); i < len(bright); i++ {
		lo, hi = min(lo, bright[i]), max(hi, bright[i])
	}
	t.Logf("pad: byte %d before the hit, %d..%d from 0.5 s after it (velocity %.2f, %.2f)", before, lo, hi, vel[int((hitAt-0.2)*analysis.FrameRate)], vel[len(vel)-1])
	if before == 0 || float64(lo) < 0.95*float64(before) || float64(hi) > 1.05*float64(before) {
		t.Errorf("the pad went from byte %d to %d..%d after a hit on another note", before, lo, hi)
	}
}
