package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// addUnison mixes a struck note into dst from sample start: two strings a
// few tenths of a hertz to a couple of hertz apart (a piano's unison), each
// with harmonics at 1/h, decaying with time constant tau seconds. The
// strings beat, so the note's level swells and sinks as it fades.
func addUnison(dst []float32, start, midi int, amp, tau, beatHz float64) {
	for _, detune := range []float64{0, beatHz} {
		f0 := MIDIToHz(midi, 440) + detune
		for i := start; i < len(dst); i++ {
			t := float64(i-start) / sr
			var v float64
			for h := 1; h <= 8; h++ {
				v += math.Sin(2*math.Pi*f0*float64(h)*t+float64(h)*(1+detune)) / float64(h)
			}
			dst[i] += float32(amp / 2 * math.Exp(-t/tau) * min(1, t/0.005) * v)
		}
	}
}

// A chord's quieter notes fade through the net's threshold as their strings
// beat: a note that drops out for a moment and comes back no louder is the
// same note, not one struck again, and must not flash the lights as an
// onset. Struck again for real, it is flagged.
func TestFadingChordNoteIsNotReflagged(t *testing.T) {
	const restrike = 4.2 // seconds
	pcm := make([]float32, seconds(5))
	addUnison(pcm, 0, 57, 0.2, 6, 0)
	addUnison(pcm, 0, 60, 0.1, 1.5, 1.2)
	addUnison(pcm, 0, 64, 0.1, 1.5, 1.7)
	addUnison(pcm, seconds(restrike), 60, 0.1, 1.5, 1.2)
	frames := analyse(newAnalyzer(t), pcm)
	for _, m := range []int{60, 64} {
		var flags []float64
		drops := 0
		for i := range frames {
			if i > 0 && hasNote(&frames[i-1], m) && !hasNote(&frames[i], m) {
				drops++
			}
			for _, n := range frames[i].ActiveNotes() {
				if n.MIDI == m && n.Onset {
					flags = append(flags, float64(i+1)/FrameRate)
				}
			}
		}
		var wrong []float64
		struck := false
		for k, at := range flags {
			switch {
			case k == 0 && at < 0.3:
			case m == 60 && at >= restrike && at < restrike+0.1:
				struck = true
			default:
				wrong = append(wrong, at)
			}
		}
		t.Logf("%s: onset flags at %.3f s, %d drop-outs", NoteName(m), flags, drops)
		if len(flags) == 0 || flags[0] >= 0.3 {
			t.Errorf("%s: the chord's onset was not flagged", NoteName(m))
		}
		if len(wrong) > 0 {
			t.Errorf("%s: flagged as struck again at %.3f s while it faded", NoteName(m), wrong)
		}
		if m == 60 && !struck {
			t.Errorf("%s: struck again at %.1f s but not flagged", NoteName(m), restrike)
		}
	}
}

// addStrings mixes a bowed section playing midi into dst from the start:
// four players a few cents apart, each with vibrato of ±vibCents and a slow
// swell of ±swell in amplitude, harmonics at 1/h.
func addStrings(dst []float32, midi int, amp, vibCents, swell float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	const players = 4
	for k := range players {
		f0 := MIDIToHz(midi, 440) * math.Pow(2, (rng.Float64()*2-1)*8/1200)
		rate, vibPhase := 5+rng.Float64()*1.5, rng.Float64()*2*math.Pi
		swellPhase, swellRate := rng.Float64()*2*math.Pi, 0.5+rng.Float64()
		phase := 0.0
		for i := range dst {
			t := float64(i) / sr
			phase += 2 * math.Pi * f0 * math.Pow(2, vibCents/1200*math.Sin(2*math.Pi*rate*t+vibPhase)) / sr
			var v float64
			for h := 1; h <= 10; h++ {
				v += math.Sin(float64(h)*phase+float64(h*k)) / float64(h)
			}
			env := min(1, t/0.15) * (1 + swell*math.Sin(2*math.Pi*swellRate*t+swellPhase))
			dst[i] += float32(amp / players * env * v)
		}
	}
}

// A held string chord swells and sinks, and the net's onset odds for its
// notes wander through the re-onset threshold: a held note must not flash
// the lights as struck again every second or so. Struck again for real (a
// piano doubling A3 at 6 s), it is flagged. (FluidR3's strings held 10 s
// were re-flagged 34 times.)
func TestHeldStringChordIsNotReflagged(t *testing.T) {
	const restrike = 6.0 // seconds
	pcm := make([]float32, seconds(8))
	chord := []int{57, 60, 64}
	for i, m := range chord {
		addStrings(pcm, m, 0.08, 20, 0.2, uint64(31+i))
	}
	addStrings(pcm, 69, 0.08, 20, 0.2, 34)
	addPiano(pcm, seconds(restrike), 57, 0.3)
	frames := analyse(newAnalyzer(t), pcm)
	for _, m := range chord {
		var flags, wrong []float64
		struck := false
		for i := range frames {
			for _, n := range frames[i].ActiveNotes() {
				if n.MIDI != m || !n.Onset {
					continue
				}
				at := float64(i+1) / FrameRate
				flags = append(flags, at)
				switch {
				case len(flags) == 1 && at < 0.3:
				case at >= restrike: // the piano's attack lifts the whole chord's odds
					struck = struck || m == 57 && at < restrike+0.1
				default:
					wrong = append(wrong, at)
				}
			}
		}
		t.Logf("%s: onset flags at %.3f s", NoteName(m), flags)
		if len(flags) == 0 || flags[0] >= 0.3 {
			t.Errorf("%s: the chord's onset was not flagged", NoteName(m))
		}
		if len(wrong) > 0 {
			t.Errorf("%s: flagged as struck again at %.3f s while held", NoteName(m), wrong)
		}
		if m == 57 && !struck {
			t.Errorf("%s: struck again at %.1f s but not flagged", NoteName(m), restrike)
		}
	}
}
