package analysis

import (
	"math"
	"testing"
)

func TestLnTable(t *testing.T) {
	for _, x := range []float64{1e-6, 1.5e-6, 1e-3, 0.0123, 0.5, 0.999, 1, 1.0009, 1.5, 2, 3.7, 30} {
		if got, want := float64(lnTable(x)), math.Log(x); math.Abs(got-want) > 1e-5 {
			t.Errorf("lnTable(%g) = %.7f, want %.7f", x, got, want)
		}
	}
}

func TestGatherMatchesShifts(t *testing.T) {
	var around [shiftBelow + shiftAbove + 1]float32
	for i := range around {
		around[i] = float32(i - shiftBelow)
	}
	var got [len(netShift)]float32
	gatherShifts(got[:], around[:])
	for k, s := range netShift {
		if got[k] != float32(s) {
			t.Errorf("gatherShifts slot %d = shift %g, want %d", k, got[k], s)
		}
	}
	var gotD [len(netDeltaShift)]float32
	gatherDeltaShifts(gotD[:], around[:])
	for k, s := range netDeltaShift {
		if gotD[k] != float32(s) {
			t.Errorf("gatherDeltaShifts slot %d = shift %g, want %d", k, gotD[k], s)
		}
	}
}

// The tracker's notes, without the net, still pass the basic checks.
func TestRuleNotesFindTheTriad(t *testing.T) {
	pcm := make([]float32, seconds(1.2))
	for _, m := range []int{60, 64, 67} {
		addPiano(pcm, 0, m, 0.25)
	}
	a, err := New(Config{RuleNotes: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.net != nil {
		t.Fatal("RuleNotes analyser has a note net")
	}
	frames := settled(analyse(a, pcm), 0.15)
	for _, m := range []int{60, 64, 67} {
		n := 0
		for _, f := range frames {
			if hasNote(&f, m) {
				n++
			}
		}
		if n < len(frames)*9/10 {
			t.Errorf("%s in %d of %d frames, want ≥ 90%%", NoteName(m), n, len(frames))
		}
	}
}

// MinHz and MaxHz bound what the net reports, as they bound the tracker's notes.
func TestNetKeepsToMinAndMaxHz(t *testing.T) {
	pcm := make([]float32, seconds(1.2))
	for _, m := range []int{33, 60, 84} { // A1, C4, C6
		addPiano(pcm, 0, m, 0.25)
	}
	for _, tc := range []struct {
		cfg      Config
		lo, hi   int // MIDI range allowed
		wantSome int
	}{
		{Config{MinHz: 1000}, 83, 127, 84},
		{Config{MaxHz: 300}, 0, 62, 60},
	} {
		a, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for _, f := range analyse(a, pcm) {
			for _, n := range f.ActiveNotes() {
				seen[n.MIDI] = true
				if n.MIDI < tc.lo || n.MIDI > tc.hi {
					t.Errorf("%+v: reported %s", tc.cfg, NoteName(n.MIDI))
				}
			}
		}
		if !seen[tc.wantSome] {
			t.Errorf("%+v: %s never reported (saw %v)", tc.cfg, NoteName(tc.wantSome), seen)
		}
	}
}

// In digital silence the net judges no pitch (the absolute floor of the gate).
func TestNetIdleInSilence(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, seconds(0.5))
	addPiano(pcm, 0, 60, 0.3)
	pcm = append(pcm, make([]float32, seconds(30))...) // the loudness reference falls 6 dB/s: after ~25 s it is below the silence
	frames := analyse(a, pcm)
	if last := frames[len(frames)-1]; last.NumNotes != 0 {
		t.Fatalf("notes in silence: %v", last.ActiveNotes())
	}
	judged := 0
	for p := range a.net.pa {
		if a.net.pa[p] != netLogitOff {
			judged++
		}
	}
	if judged != 0 {
		t.Errorf("%d pitches judged in silence", judged)
	}
}
