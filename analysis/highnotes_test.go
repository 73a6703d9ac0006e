package analysis

import "testing"

// noteShare is the share of the frames from skip seconds into pcm on that
// report midi, and the largest share of any other pitch there.
func noteShare(t *testing.T, pcm []float32, skip float64, midi int) (share, other float64) {
	t.Helper()
	frames := settled(analyse(newAnalyzer(t), pcm), skip)
	count := map[int]int{}
	for _, f := range frames {
		for _, n := range f.ActiveNotes() {
			count[n.MIDI]++
		}
	}
	for m, c := range count {
		if m != midi {
			other = max(other, float64(c)/float64(len(frames)))
		}
	}
	return float64(count[midi]) / float64(len(frames)), other
}

// Notes above the mid window's ceiling (C7, 2.1 kHz) up to C8 sound as long
// as they are held: the fast window carries them. (Before, a sine from C#7
// up lit for the two ticks after its onset at most.)
func TestHighNotesAreHeld(t *testing.T) {
	for _, midi := range []int{100, 103, 108} { // E7, G7, C8
		pcm := make([]float32, seconds(1.3))
		copy(pcm[seconds(0.3):], sine(seconds(0.8), MIDIToHz(midi, 440), 0.25))
		// the frames from 100 ms into the tone to its end
		share, other := noteShare(t, pcm[:seconds(1.1)], 0.4, midi)
		if share < 0.9 || other > 0.05 {
			t.Errorf("%s sine: in %.0f%% of its frames, want ≥ 90%%; another pitch in %.0f%%", NoteName(midi), 100*share, 100*other)
		}
	}
	pcm := make([]float32, seconds(0.8))
	addPiano(pcm, seconds(0.2), 100, 0.25) // E7
	if share, other := noteShare(t, pcm[:seconds(0.5)], 0.3, 100); share < 0.9 || other > 0.05 {
		t.Errorf("E7 piano: in %.0f%% of its first 200 ms, want ≥ 90%%; another pitch in %.0f%%", 100*share, 100*other)
	}
}

// The partials of a lower note above C7 stay its partials: a C6 piano note
// (partials at C7, G7, C8, E8, …) and an A5 note with a strong fourth
// partial (A7, as a vibraphone's) report only themselves.
func TestHighPartialsAreNotNotes(t *testing.T) {
	pcm := make([]float32, seconds(1))
	addPiano(pcm, seconds(0.1), 84, 0.3) // C6
	if share, other := noteShare(t, pcm, 0.2, 84); share < 0.9 || other > 0.05 {
		t.Errorf("C6 piano: in %.0f%% of the frames; another pitch in %.0f%%, want ≤ 5%%", 100*share, 100*other)
	}
	a5 := MIDIToHz(81, 440)
	tone := sine(seconds(1), a5, 0.3)
	for i, v := range sine(seconds(1), 4*a5, 0.3) {
		tone[i] += v
	}
	if share, other := noteShare(t, tone, 0.2, 81); share < 0.9 || other > 0.05 {
		t.Errorf("A5 with its fourth partial as strong: A5 in %.0f%% of the frames; another pitch in %.0f%%, want ≤ 5%%", 100*share, 100*other)
	}
}
