package analysis

import (
	"math"
	"testing"
)

// addOrgan mixes a held organ note into dst from sample start to stop:
// steady harmonics at 1/h, a 10 ms attack and release.
func addOrgan(dst []float32, start, stop, midi int, amp float64) {
	f0 := MIDIToHz(midi, 440)
	for i := start; i < min(len(dst), stop+seconds(0.01)); i++ {
		t := float64(i-start) / sr
		env := amp * min(1, t/0.01, float64(stop+seconds(0.01)-i)/sr/0.01)
		var v float64
		for h := 1; h <= 8; h++ {
			v += math.Sin(2*math.Pi*f0*float64(h)*t+float64(h)) / float64(h)
		}
		dst[i] += float32(env * v)
	}
}

// organFlags returns the times of C4's onset flags with C4 held on an
// organ from 0.5 s to 4.8 s over a 120 bpm drum loop from 1 s on (kicks on
// the beat, snares between, hi-hat eighths), and, if pianoAt > 0, a piano
// striking C4 too at pianoAt seconds.
func organFlags(t *testing.T, pianoAt float64) []float64 {
	pcm := make([]float32, seconds(5))
	for i, v := range drumLoop(len(pcm) - seconds(1)) {
		pcm[seconds(1)+i] += 0.5 * v
	}
	addOrgan(pcm, seconds(0.5), seconds(4.8), 60, 0.1)
	if pianoAt > 0 {
		addPiano(pcm, seconds(pianoAt), 60, 0.3)
	}
	frames := analyse(newAnalyzer(t), pcm)
	var flags []float64
	for i := range frames {
		for _, n := range frames[i].ActiveNotes() {
			if n.MIDI == 60 && n.Onset {
				flags = append(flags, float64(i+1)/FrameRate)
			}
		}
	}
	return flags
}

// A drum hit raises the level of every bin at once, and the net's onset
// odds for a note held through it with them: the held note must not flash
// the lights as struck again on the kicks and snares. Struck again for real
// (a piano doubling it on a kick), it is flagged.
func TestHeldNoteIsNotReflaggedByDrumHits(t *testing.T) {
	held := organFlags(t, 0)
	t.Logf("C4 held under drums: onset flags at %.3f s", held)
	if len(held) == 0 || held[0] >= 0.65 {
		t.Errorf("C4's onset at 0.5 s was not flagged")
	}
	if len(held) > 1 {
		t.Errorf("C4 held from 0.5 s flagged as struck again at %.3f s", held[1:])
	}

	const restrike = 3.2 // seconds: after the kick at 3 s, before the hi-hat at 3.25 s
	again := organFlags(t, restrike)
	t.Logf("C4 struck again at %.1f s: onset flags at %.3f s", restrike, again)
	struck := false
	for _, at := range again {
		struck = struck || at >= restrike && at < restrike+0.1
	}
	if !struck {
		t.Errorf("C4 struck again at %.1f s under drums but not flagged", restrike)
	}
}
