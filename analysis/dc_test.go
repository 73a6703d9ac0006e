package analysis

import (
	"math"
	"testing"
)

// TestDCOffsetReadsAsSilence: a source with a DC offset and no sound (a
// miscalibrated converter, a cheap interface) has no level, attack, onset
// or note once the offset's start has passed.
func TestDCOffsetReadsAsSilence(t *testing.T) {
	pcm := make([]float32, seconds(1.5))
	for i := seconds(0.1); i < len(pcm); i++ {
		pcm[i] = 0.2
	}
	for _, f := range analyse(newAnalyzer(t), pcm)[int(0.6*FrameRate):] {
		if f.Level > 1e-3 || f.Attack || f.Onset || f.NumNotes > 0 {
			t.Fatalf("t=%.3f on a steady offset of 0.2: level %.4f, attack %v, onset %v, notes %+v",
				f.T, f.Level, f.Attack, f.Onset, f.ActiveNotes())
		}
	}
}

// TestDCOffsetLeavesTheNotes: a piano melody with an offset of ±0.2 gives
// the notes it gives without one. (Without the DC blocker the offset counted
// in the loudness every note is measured against: a third of the frames
// lost their note.)
func TestDCOffsetLeavesTheNotes(t *testing.T) {
	melody := []int{60, 64, 67, 62, 65, 57, 69, 72}
	const noteLen = 0.4
	clean := make([]float32, seconds(noteLen*float64(len(melody))+0.3))
	for i, m := range melody {
		addPiano(clean, seconds(noteLen*float64(i)), m, 0.03)
	}
	// noteFrames counts the frames from 100 ms into each note to its end
	// that report it.
	noteFrames := func(pcm []float32) int {
		frames := analyse(newAnalyzer(t), pcm)
		hits := 0
		for _, f := range frames {
			i := int(f.T / noteLen)
			if i < len(melody) && f.T-float64(i)*noteLen >= 0.1 && hasNote(&f, melody[i]) {
				hits++
			}
		}
		return hits
	}
	want := noteFrames(clean)
	if want < len(melody)*int(0.3*FrameRate)*9/10 {
		t.Fatalf("without an offset the melody's notes are in only %d frames", want)
	}
	for _, offset := range []float32{0.2, -0.2} {
		shifted := make([]float32, len(clean))
		for i, v := range clean {
			shifted[i] = v + offset
		}
		got := noteFrames(shifted)
		if got < want*97/100 {
			t.Errorf("offset %+.1f: the melody's notes in %d frames, %d without the offset", offset, got, want)
		}
	}
}

// TestDCBlockerPassesE1: at E1, the lowest note reported, the blocker
// changes a sine's amplitude by less than 0.1 dB.
func TestDCBlockerPassesE1(t *testing.T) {
	x := make([]float64, seconds(2))
	for i := range x {
		x[i] = math.Sin(2 * math.Pi * MIDIToHz(28, 440) * float64(i) / sr)
	}
	var d dcBlocker
	d.filter(x)
	peak := 0.0
	for _, v := range x[seconds(1):] {
		peak = max(peak, math.Abs(v))
	}
	if db := 20 * math.Log10(peak); math.Abs(db) > 0.1 {
		t.Errorf("E1 through the DC blocker: %+.3f dB", db)
	}
}
