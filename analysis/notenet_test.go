package analysis

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/audiofile"
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

// clip32 must be the max/min expression it replaces, bit for bit, NaN and
// signed zeros included.
func TestClip32IsMaxMin(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	for _, lim := range [][2]float32{{netRelLo, netRelHi}, {-netDeltaMax, netDeltaMax}} {
		for _, v := range []float32{nan, inf, -inf, 0, negZero, -10.5, -10, -9.99, 2.9, 3, 3.01, 5, -5, 1e-30, -1e30} {
			got, want := clip32(v, lim[0], lim[1]), max(lim[0], min(lim[1], v))
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Errorf("clip32(%g, %g, %g) = %g, want %g", v, lim[0], lim[1], got, want)
			}
		}
	}
}

// heads must give each judged pitch the logits its two last layers give it
// one pitch at a time (as stage2.py and notenet.py compute them), for both
// stages, whatever the number of rows.
func TestHeadsMatchTheLayers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h1, h2 int
		w2     func(j, i int) float32
		w2Flat []float32
		b2     []float32
		wa, wo []float32
		b3     [2]float32
	}{
		{"stage 1", netH1, netH2, func(j, i int) float32 { return netW2[j][i] }, netW2Flat, netB2[:], netW3[0][:], netW3[1][:], netB3},
		{"stage 2", s2H1, s2H2, func(j, i int) float32 { return s2W2[j][i] }, s2W2Flat, s2B2[:], s2W3[0][:], s2W3[1][:], s2B3},
	} {
		for _, rows := range []int{1, 3, 17, netPitches} {
			passed := make([]int, rows)
			h1 := make([]float32, rows*tc.h1)
			for k := range passed {
				passed[k] = (k * 7) % netPitches
				for i := range tc.h1 {
					h1[k*tc.h1+i] = max(0, float32(math.Sin(float64(k*tc.h1+i)))*float32(k%5+1))
				}
			}
			var pa, po [netPitches]float32
			heads(passed, h1, make([]float32, rows*tc.h2), tc.w2Flat, tc.b2, tc.wa, tc.wo, tc.b3, &pa, &po)
			for k, p := range passed {
				za, zo := float64(tc.b3[0]), float64(tc.b3[1])
				for j := range tc.h2 {
					v := float64(tc.b2[j])
					for i := range tc.h1 {
						v += float64(h1[k*tc.h1+i]) * float64(tc.w2(j, i))
					}
					v = max(0, v)
					za += v * float64(tc.wa[j])
					zo += v * float64(tc.wo[j])
				}
				if math.Abs(float64(pa[p])-za) > 1e-4*(1+math.Abs(za)) || math.Abs(float64(po[p])-zo) > 1e-4*(1+math.Abs(zo)) {
					t.Fatalf("%s, %d rows: row %d = %g, %g, want %g, %g", tc.name, rows, k, pa[p], po[p], za, zo)
				}
			}
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

// The Go inference computes, from the same audio, the logits the trainer's
// numpy network gives (testdata/notenet): the features, gate, screen and
// network are the same on both sides.
func TestNetMatchesTrainer(t *testing.T) {
	var golden struct{ Frames [][][3]float64 }
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "notenet", "parity_logits.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	// The fixture's logits were computed from a dump made before the
	// analyser had a DC blocker; the blocker's inverse restores the audio
	// the windows saw then (to float32 rounding). Drop undoDCBlocker when
	// the fixture is regenerated.
	stream := undoDCBlocker(readParityFixture(t))
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var f Features
	frame, compared, worst, firstJudged := 0, 0, 0.0, -1
	for off := 0; off < len(stream); off += SampleRate / FrameRate {
		a.Write(stream[off:min(len(stream), off+SampleRate/FrameRate)])
		a.Frame(&f)
		if frame >= len(golden.Frames) {
			t.Fatalf("more frames than the trainer's %d", len(golden.Frames))
		}
		want := golden.Frames[frame]
		var got [][3]float64
		for p := range netPitches {
			if a.net.pa[p] != netLogitOff {
				got = append(got, [3]float64{float64(p), float64(a.net.pa[p]), float64(a.net.po[p])})
			}
		}
		if len(got) > 0 && firstJudged < 0 {
			firstJudged = frame
		}
		if len(got) != len(want) {
			t.Fatalf("frame %d: Go judged %d pitches, the trainer %d", frame, len(got), len(want))
		}
		for i := range got {
			if got[i][0] != want[i][0] {
				t.Fatalf("frame %d: Go judged pitch %v, the trainer %v", frame, got[i][0], want[i][0])
			}
			for j := 1; j < 3; j++ {
				worst = max(worst, math.Abs(got[i][j]-want[i][j]))
			}
			compared++
		}
		frame++
	}
	if frame != len(golden.Frames) {
		t.Fatalf("%d frames, the trainer %d", frame, len(golden.Frames))
	}
	if compared < 100 {
		t.Fatalf("only %d pitch-frames judged: the fixture no longer exercises the net", compared)
	}
	// The second stage reads s2Ago ticks of history, which starts at s2Low:
	// the fixture must judge pitches before that history fills.
	if firstJudged < 0 || firstJudged >= s2Ago {
		t.Fatalf("first pitch judged at frame %d: the fixture no longer checks the net's start of stream", firstJudged)
	}
	if worst > 1e-4 {
		t.Errorf("largest logit difference %.2g over %d pitch-frames, want ≤ 1e-4", worst, compared)
	}
}

// After Reset an analyser judges a stream exactly as a new one does, the
// note net's history (both stages) included: the stream is judged from its
// first tick, while the history of the stream before it would still count.
func TestResetLeavesTheNetAsNew(t *testing.T) {
	src := openParityFixture(t) // sounds from its first sample
	stream := make([]float32, seconds(1.5))
	for n := 0; n < len(stream); {
		m, err := src.Read(stream[n:])
		n += m
		if err != nil {
			t.Fatalf("reading the fixture: %d samples, %v", n, err)
		}
	}
	before := make([]float32, seconds(1))
	for m := 40; m <= 90; m += 5 {
		addPiano(before, 0, m, 0.1)
	}
	type tick struct{ pa, po [netPitches]float32 }
	run := func(a *Analyzer) (ticks []tick) {
		var f Features
		const block = SampleRate / FrameRate
		for i := 0; i+block <= len(stream); i += block {
			a.Write(stream[i : i+block])
			a.Frame(&f)
			ticks = append(ticks, tick{a.net.pa, a.net.po})
		}
		return ticks
	}
	fresh := run(newAnalyzer(t))
	judged := 0
	for _, v := range fresh[0].pa {
		if v != netLogitOff {
			judged++
		}
	}
	if judged == 0 {
		t.Fatal("nothing judged on the first tick: the stream does not test the start of the history")
	}
	reused := newAnalyzer(t)
	analyse(reused, before)
	reused.Reset()
	for k, got := range run(reused) {
		if got != fresh[k] {
			t.Fatalf("tick %d after Reset differs from a new analyser's", k)
		}
	}
}

// readParityFixture returns all of testdata/notenet/parity.wav.
func readParityFixture(t *testing.T) []float32 {
	t.Helper()
	src := openParityFixture(t)
	var pcm []float32
	block := make([]float32, 4096)
	for {
		n, err := src.Read(block)
		pcm = append(pcm, block[:n]...)
		if err == io.EOF {
			return pcm
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// undoDCBlocker returns the audio that the analyser's DC blocker turns into
// pcm (to float32 rounding): its inverse, x[n] = x[n−1] + y[n] − dcPole·y[n−1].
func undoDCBlocker(pcm []float32) []float32 {
	out := make([]float32, len(pcm))
	x, prevY := 0.0, 0.0
	for i, v := range pcm {
		y := float64(v)
		x += y - dcPole*prevY
		prevY = y
		out[i] = float32(x)
	}
	return out
}

// openParityFixture opens testdata/notenet/parity.wav, closed when t ends.
func openParityFixture(t *testing.T) *audiofile.Reader {
	t.Helper()
	in, err := os.Open(filepath.Join("..", "testdata", "notenet", "parity.wav"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	src, err := audiofile.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// A note that stops dead (a muted string, a microphone cut) ends in digital
// silence; the net's onset odds rise with that change, and a re-attack flag
// there would flash the pulse effect on the silence. Neither an abrupt end nor
// a 50 ms fade may re-flag the note.
func TestNoReattackWhenANoteStopsDead(t *testing.T) {
	for _, c := range []struct {
		name string
		midi int
		fade float64 // seconds
	}{{"A3 abrupt", 57, 0.001}, {"A3 50 ms fade", 57, 0.05}, {"A2 50 ms fade", 45, 0.05}} {
		const hold = 0.6
		pcm := make([]float32, seconds(2))
		f0 := MIDIToHz(c.midi, 440)
		for k := range seconds(hold + c.fade) {
			tt := float64(k) / sr
			env := math.Exp(-tt)
			if tt > hold {
				env *= (hold + c.fade - tt) / c.fade
			}
			var v float64
			for h := 1; h <= 8; h++ {
				v += math.Sin(2*math.Pi*f0*float64(h)*tt) / float64(h)
			}
			pcm[k] = float32(0.2 * env * v)
		}
		a, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		frames := analyse(a, pcm)
		started := false
		for i := range frames {
			for _, n := range frames[i].ActiveNotes() {
				if n.MIDI != c.midi || !n.Onset {
					continue
				}
				tickEnd := float64(i+1) / FrameRate
				if !started && tickEnd < hold {
					started = true
					continue
				}
				t.Errorf("%s: %s flagged as struck again in the tick ending %.0f ms (the sound stops at %.0f ms; level %.4f)",
					c.name, NoteName(n.MIDI), tickEnd*1000, (hold+c.fade)*1000, frames[i].Level)
			}
		}
		if !started {
			t.Errorf("%s: the note's onset was never reported", c.name)
		}
	}
}
