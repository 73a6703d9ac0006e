package analysis

import (
	"math"
	"math/rand/v2"
)

// Test signals are synthesised here, deterministically, so the fixtures are
// the code: no audio files are checked in.

const sr = float64(SampleRate)

func seconds(s float64) int { return int(s * sr) }

// sine returns n samples of a sine at hz with amplitude amp.
func sine(n int, hz, amp float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/sr))
	}
	return out
}

// addPiano mixes a piano-like note into dst from sample start: inharmonic
// partials (stiff-string stretch B), 1/h amplitudes with a soft top, a fast
// attack and a decay that is quicker for higher partials.
func addPiano(dst []float32, start int, midi int, amp float64) {
	f0 := MIDIToHz(midi, 440)
	const b = 0.0004
	for h := 1; h <= 14; h++ {
		fh := float64(h) * f0 * math.Sqrt(1+b*float64(h*h))
		if fh > 9000 {
			break
		}
		ah := amp / float64(h) * (1 + 0.3*math.Sin(float64(h)))
		decay := 1.2 + 0.4*float64(h) // 1/s
		phase := float64(h) * 0.7
		for i := start; i < len(dst); i++ {
			t := float64(i-start) / sr
			env := math.Exp(-decay*t) * min(1, t/0.003)
			dst[i] += float32(ah * env * math.Sin(2*math.Pi*fh*t+phase))
		}
	}
}

// addBass mixes a plucked bass note: harmonic partials with 1/h amplitudes.
func addBass(dst []float32, start, n int, midi int, amp float64) {
	f0 := MIDIToHz(midi, 440)
	for h := 1; h <= 10; h++ {
		ah := amp / float64(h)
		for i := start; i < min(len(dst), start+n); i++ {
			t := float64(i-start) / sr
			env := math.Exp(-1.5*t) * min(1, t/0.005)
			dst[i] += float32(ah * env * math.Sin(2*math.Pi*float64(h)*f0*t))
		}
	}
}

// drumLoop returns a 120 bpm loop of kick (a pitch-dropping sine thump),
// snare (noise burst with a body tone) and closed hi-hat (bright noise).
func drumLoop(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]float32, n)
	eighth := seconds(0.25)
	for step := 0; step*eighth < n; step++ {
		at := step * eighth
		switch step % 4 {
		case 0: // kick
			phase := 0.0
			for i := at; i < min(n, at+seconds(0.3)); i++ {
				t := float64(i-at) / sr
				f := 50 + 100*math.Exp(-t*30)
				phase += 2 * math.Pi * f / sr
				out[i] += float32(0.8 * math.Exp(-t*12) * math.Sin(phase))
			}
		case 2: // snare
			for i := at; i < min(n, at+seconds(0.2)); i++ {
				t := float64(i-at) / sr
				out[i] += float32(math.Exp(-t*25) * (0.5*(rng.Float64()*2-1) + 0.2*math.Sin(2*math.Pi*190*t)))
			}
		}
		// hi-hat on every eighth: differentiated noise, very short
		prev := 0.0
		for i := at; i < min(n, at+seconds(0.05)); i++ {
			t := float64(i-at) / sr
			x := rng.Float64()*2 - 1
			out[i] += float32(0.25 * math.Exp(-t*80) * (x - prev))
			prev = x
		}
	}
	return out
}

// analyse feeds pcm in blocks of one tick and returns every frame.
func analyse(a *Analyzer, pcm []float32) []Features {
	var frames []Features
	block := SampleRate / FrameRate
	for i := 0; i+block <= len(pcm); i += block {
		a.Write(pcm[i : i+block])
		var f Features
		a.Frame(&f)
		frames = append(frames, f)
	}
	return frames
}

func hasNote(f *Features, midi int) bool {
	for _, n := range f.ActiveNotes() {
		if n.MIDI == midi {
			return true
		}
	}
	return false
}
