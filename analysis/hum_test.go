package analysis

import (
	"math"
	"testing"
)

// addHum mixes mains hum into dst: a tone at hz with partials 2–4 at 1/h,
// its fundamental at amp.
func addHum(dst []float32, hz, amp float64) {
	for i := range dst {
		t := float64(i) / sr
		for h := 1.0; h <= 4; h++ {
			dst[i] += float32(amp / h * math.Sin(2*math.Pi*hz*h*t+h))
		}
	}
}

// pitchFrames counts the frames from t0 to t1 seconds that report midi.
func pitchFrames(frames []Features, midi int, t0, t1 float64) (n, of int) {
	for _, f := range frames {
		if f.T >= t0 && f.T < t1 {
			of++
			if hasNote(&f, midi) {
				n++
			}
		}
	}
	return n, of
}

// Mains hum at 50 or 60 Hz, drifting by 0.4 %, is not a note once it has
// been steady for 2.5 s. (Before, G1 or B1 sounded for as long as the hum.)
func TestMainsHumIsNotANote(t *testing.T) {
	for _, c := range []struct {
		hz   float64
		midi int
	}{{50, 31}, {50.2, 31}, {60, 35}, {59.76, 35}} {
		pcm := make([]float32, seconds(6))
		addHum(pcm, c.hz, 0.01) // −40 dBFS
		frames := analyse(newAnalyzer(t), pcm)
		if n, of := pitchFrames(frames, c.midi, 3, 6); n > 0 {
			t.Errorf("%.2f Hz hum: %s in %d of %d frames from 3 s on, want none", c.hz, NoteName(c.midi), n, of)
		}
	}
}

// Tuned notes next to the mains frequencies stay notes however steady:
// G1 (49.0 Hz, 35 cents below 50) and B1 (61.7 Hz) held at a constant level.
func TestSteadyNotesNearMainsAreNotes(t *testing.T) {
	for _, midi := range []int{31, 35} {
		pcm := make([]float32, seconds(6))
		addHum(pcm, MIDIToHz(midi, 440), 0.1)
		frames := analyse(newAnalyzer(t), pcm)
		if n, of := pitchFrames(frames, midi, 3, 6); n < of*9/10 {
			t.Errorf("steady %s: in %d of %d frames from 3 s on, want ≥ 90 %%", NoteName(midi), n, of)
		}
	}
}

// A bass note struck over hum at its pitch (14 dB above it) is reported at
// once, with its onset: it breaks the course of the hum's phasor.
func TestNoteOverHumIsANote(t *testing.T) {
	for _, c := range []struct {
		hz   float64
		midi int
	}{{50, 31}, {60, 35}} {
		pcm := make([]float32, seconds(5))
		addHum(pcm, c.hz, 0.01)
		addBass(pcm, seconds(3.5), seconds(1.5), c.midi, 0.05)
		frames := analyse(newAnalyzer(t), pcm)
		if n, of := pitchFrames(frames, c.midi, 3, 3.5); n > 0 {
			t.Errorf("%s in %d of %d frames of %.0f Hz hum before the note", NoteName(c.midi), n, of, c.hz)
		}
		onset := false
		for _, f := range frames {
			for _, n := range f.ActiveNotes() {
				onset = onset || (n.MIDI == c.midi && n.Onset && f.T >= 3.5 && f.T < 3.7)
			}
		}
		if n, of := pitchFrames(frames, c.midi, 3.7, 4.5); !onset || n < of*9/10 {
			t.Errorf("%s struck at 3.5 s over %.0f Hz hum: onset flagged %v, in %d of %d frames 3.7–4.5 s, want ≥ 90 %%",
				NoteName(c.midi), c.hz, onset, n, of)
		}
	}
}

// A note held at the hum's pitch as steadily as the hum (a sine, as a synth
// bass plays it) is a note when it shows at the pitch's own frequency: B1
// 6 dB over 60 Hz hum.
func TestSteadyNoteOverHumIsANote(t *testing.T) {
	pcm := make([]float32, seconds(6))
	addHum(pcm, 60, 0.01)
	for i, v := range sine(seconds(2.5), MIDIToHz(35, 440), 0.02) {
		pcm[seconds(3.5)+i] += v
	}
	if n, of := pitchFrames(analyse(newAnalyzer(t), pcm), 35, 3.7, 6); n < of*95/100 {
		t.Errorf("B1 held over 60 Hz hum: in %d of %d frames, want ≥ 95 %%", n, of)
	}
}
