package analysis

import (
	"math"
	"testing"
)

// addLowPianoNote mixes a struck low piano string into dst from sample
// start until sample stop: stretched partials (inharmonicity b), the second
// partial louder than the fundamental, as a low piano note's is, each
// decaying with time constant tau seconds, and a 30 ms release at stop.
func addLowPianoNote(dst []float32, start, stop, midi int, amp, b, tau float64) {
	f0 := MIDIToHz(midi, 440)
	partials := [...]float64{1, 1.3, 0.6, 0.45, 0.3, 0.2, 0.15, 0.1}
	for i := start; i < len(dst); i++ {
		t := float64(i-start) / sr
		env := amp * math.Exp(-t/tau) * min(1, t/0.004)
		if i > stop {
			env *= math.Exp(-float64(i-stop) / sr / 0.03)
		}
		if i > stop && env < 1e-6 {
			break
		}
		var v float64
		for k, a := range partials {
			h := float64(k + 1)
			v += a * math.Sin(2*math.Pi*f0*h*math.Sqrt(1+b*h*h)*t+h)
		}
		dst[i] += float32(env * v)
	}
}

// A low piano note's second partial, stretched and as loud as its
// fundamental, must not light the octave above as a note struck with it:
// every strike of C3 is flagged, C4 never.
func TestLowNoteSecondPartialIsNotFlaggedAsOctave(t *testing.T) {
	const strikes, every, held = 8, 0.6, 0.5 // count, seconds apart, seconds held
	pcm := make([]float32, seconds(0.5+strikes*every+0.5))
	for k := range strikes {
		at := 0.5 + float64(k)*every
		addLowPianoNote(pcm, seconds(at), seconds(at+held), 48, 0.12, 0.0004, 1.2)
	}
	frames := analyse(newAnalyzer(t), pcm)
	var c3, c4 []float64
	for i := range frames {
		for _, n := range frames[i].ActiveNotes() {
			if n.Onset && n.MIDI == 48 {
				c3 = append(c3, float64(i+1)/FrameRate)
			}
			if n.Onset && n.MIDI == 60 {
				c4 = append(c4, float64(i+1)/FrameRate)
			}
		}
	}
	t.Logf("C3 flagged at %.3f s; C4 at %.3f s", c3, c4)
	hit := 0
	for k := range strikes {
		at := 0.5 + float64(k)*every
		for _, f := range c3 {
			if f >= at && f < at+0.1 {
				hit++
				break
			}
		}
	}
	if hit != strikes {
		t.Errorf("C3 struck %d times, flagged on %d strikes", strikes, hit)
	}
	if len(c4) > 0 {
		t.Errorf("C4, C3's second partial, flagged as struck at %.3f s", c4)
	}
}
