package analysis

import (
	"errors"
	"math"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newAnalyzer(t testing.TB) *Analyzer {
	t.Helper()
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// settled returns the frames after the first skip seconds.
func settled(frames []Features, skip float64) []Features {
	return frames[int(skip*FrameRate):]
}

func TestSineIsA4(t *testing.T) {
	frames := settled(analyse(newAnalyzer(t), sine(seconds(1), 440, 0.5)), 0.2)
	for _, f := range frames {
		if f.NumNotes != 1 || f.Notes[0].MIDI != 69 {
			t.Fatalf("t=%.3f: notes %+v, want only A4", f.T, f.ActiveNotes())
		}
		if hz := f.Notes[0].Hz; math.Abs(float64(hz)-440) > 2 {
			t.Fatalf("t=%.3f: A4 measured at %.2f Hz", f.T, hz)
		}
		if NoteName(f.Notes[0].MIDI) != "A4" {
			t.Fatalf("name %q", NoteName(f.Notes[0].MIDI))
		}
	}
	last := frames[len(frames)-1]
	if math.Abs(float64(last.Level)-0.5/math.Sqrt2) > 0.01 {
		t.Errorf("level %.3f, want %.3f (RMS of a 0.5 sine)", last.Level, 0.5/math.Sqrt2)
	}
	if last.PeakHz < 430 || last.PeakHz > 450 {
		t.Errorf("PeakHz %.1f, want about 440", last.PeakHz)
	}
}

func TestTuningMovesNames(t *testing.T) {
	// At A4 = 432 Hz a 432 Hz sine is A4 and a 440 Hz sine is still A4
	// (31 cents sharp), while 457.7 Hz (A#4 at 432) is A#4.
	a, err := New(Config{TuningHz: 432})
	if err != nil {
		t.Fatal(err)
	}
	frames := settled(analyse(a, sine(seconds(0.6), 457.7, 0.5)), 0.3)
	if !hasNote(&frames[len(frames)-1], 70) {
		t.Fatalf("notes %+v, want A#4 at A4=432", frames[len(frames)-1].ActiveNotes())
	}
}

func TestPianoTriadIsCEG(t *testing.T) {
	pcm := make([]float32, seconds(1.2))
	for _, m := range []int{60, 64, 67} {
		addPiano(pcm, 0, m, 0.25)
	}
	frames := settled(analyse(newAnalyzer(t), pcm), 0.15)
	count := map[int]int{}
	for _, f := range frames {
		for _, n := range f.ActiveNotes() {
			count[n.MIDI]++
		}
	}
	for _, m := range []int{60, 64, 67} {
		if count[m] < len(frames)*9/10 {
			t.Errorf("%s in %d of %d frames, want ≥ 90%%", NoteName(m), count[m], len(frames))
		}
	}
	for m, c := range count {
		if m != 60 && m != 64 && m != 67 && c > len(frames)/20 {
			t.Errorf("extra note %s in %d of %d frames (an overtone taken for a note?)", NoteName(m), c, len(frames))
		}
	}
}

func TestBassE1IsNotE2(t *testing.T) {
	pcm := make([]float32, seconds(1.2))
	addBass(pcm, 0, len(pcm), 28, 0.4)
	frames := settled(analyse(newAnalyzer(t), pcm), 0.3)
	e1, e2 := 0, 0
	for _, f := range frames {
		if hasNote(&f, 28) {
			e1++
		}
		if hasNote(&f, 40) {
			e2++
		}
	}
	if e1 < len(frames)*9/10 || e2 > 0 {
		t.Fatalf("E1 in %d, E2 in %d of %d frames; want E1 throughout and never E2", e1, e2, len(frames))
	}
	if hz := frames[len(frames)-1].Notes[0].Hz; math.Abs(float64(hz)-41.2) > 1 {
		t.Errorf("E1 measured at %.2f Hz, want 41.2", hz)
	}
}

func TestDrumLoopLightsAlmostNothing(t *testing.T) {
	frames := analyse(newAnalyzer(t), drumLoop(seconds(4)))
	withNotes, onsets := 0, 0
	for _, f := range frames {
		if f.NumNotes > 0 {
			withNotes++
		}
		if f.Onset {
			onsets++
		}
	}
	if withNotes > len(frames)*5/100 {
		t.Errorf("notes in %d of %d drum frames, want ≤ 5%%", withNotes, len(frames))
	}
	// 16 eighths in 4 s: the beat flag must see every hit, within 3 frames of the first frame
	// that holds it, and flash little else. Each onset matches at most one hit.
	const maxLate = 3
	block := SampleRate / FrameRate
	var onsetFrames []int
	for i, f := range frames {
		if f.Onset {
			onsetFrames = append(onsetFrames, i)
		}
	}
	matched := make(map[int]bool)
	hits := 0
	for at := 0; at < seconds(4); at += seconds(0.25) { // drumLoop's eighths
		hits++
		struck := at / block
		found := false
		for _, i := range onsetFrames {
			if i >= struck && i <= struck+maxLate && !matched[i] {
				matched[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("no onset within %d frames of the hit at frame %d (onsets at frames %v)", maxLate, struck, onsetFrames)
		}
	}
	// When this bound was set, the analyser flagged all 16 hits on their first frame, and 4
	// frames more, each 3 frames (onsetMinGap) after a hit: frames 18, 33, 93 and 153, a second
	// onset of a hat or a snare. The bound is that behaviour, not a target: it is there to catch
	// a detector that fires more often, which the old lower bound alone (onsets ≥ 8) let through.
	const maxUnmatched = 4
	if extra := onsets - len(matched); extra > maxUnmatched {
		t.Errorf("%d onsets match none of the %d hits, want ≤ %d (onsets at frames %v)", extra, hits, maxUnmatched, onsetFrames)
	}
}

func TestSilenceIsNothing(t *testing.T) {
	for _, f := range analyse(newAnalyzer(t), make([]float32, seconds(1))) {
		if f.NumNotes != 0 || f.Onset || f.Level != 0 || f.PeakHz != 0 {
			t.Fatalf("silence gave %+v", f)
		}
		for _, b := range f.Bands {
			if b != 0 {
				t.Fatalf("silence gave bands %v", f.Bands)
			}
		}
	}
}

func TestOnsetWithinThreeFrames(t *testing.T) {
	for _, tc := range []struct {
		midi  int
		start int
	}{
		{45, seconds(0.5) + 317}, {57, seconds(0.5) + 317}, {64, seconds(0.5) + 317}, // not on a tick
		{72, seconds(0.5) + 317}, {81, seconds(0.5) + 317},
		{64, 0}, {57, 131}, // the source starts with the note: its onset counts too
	} {
		midi, start := tc.midi, tc.start
		pcm := make([]float32, seconds(1.5))
		addPiano(pcm, start, midi, 0.4)
		frames := analyse(newAnalyzer(t), pcm)
		struck := float64(start) / sr
		// A frame is stamped with the time of its newest sample; the first
		// frame that holds the strike is the one at firstTick.
		firstTick := math.Ceil(struck*FrameRate) / FrameRate
		got := -1.0
		for _, f := range frames {
			for _, n := range f.ActiveNotes() {
				if n.MIDI == midi && n.Onset {
					got = f.T
					break
				}
			}
			if got >= 0 {
				break
			}
		}
		if got < 0 || got-firstTick > 3.0/FrameRate+1e-9 {
			t.Errorf("%s struck at %.4f s: onset reported at %.4f s, want within 3 ticks of %.4f s", NoteName(midi), struck, got, firstTick)
		}
		if got >= 0 && got < struck {
			t.Errorf("%s reported at %.4f s, before it was struck at %.4f s: causality broken", NoteName(midi), got, struck)
		}
	}
}

func TestReattackIsFlagged(t *testing.T) {
	pcm := make([]float32, seconds(2))
	addPiano(pcm, seconds(0.2), 64, 0.3)
	second := seconds(1.0)
	addPiano(pcm, second, 64, 0.3)
	for _, mode := range noteModes {
		t.Run(mode.name, func(t *testing.T) {
			frames := analyse(newAnalyzerWith(t, mode.cfg), pcm)
			k0 := second / (SampleRate / FrameRate)
			for k := k0; k <= k0+3 && k < len(frames); k++ {
				for _, n := range frames[k].ActiveNotes() {
					if n.MIDI == 64 && n.Onset {
						return
					}
				}
			}
			t.Fatal("re-struck E4 was not flagged as an onset within 3 frames")
		})
	}
}

// noteModes are the two ways the analyser reports notes: through the note
// net (the default) and as the pitch finders and tracker find them
// (Config.RuleNotes, a documented option with its own re-attack rule).
var noteModes = []struct {
	name string
	cfg  Config
}{{"net", Config{}}, {"rules", Config{RuleNotes: true}}}

func newAnalyzerWith(t testing.TB, cfg Config) *Analyzer {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A struck note is one onset: neither its own attack (which often trips the
// onset detector twice) nor its decay may flag it again, while striking it
// again must.
func TestOneOnsetPerStrike(t *testing.T) {
	pcm := make([]float32, seconds(2))
	strikes := []int{seconds(0.2) + 123, seconds(1.0) + 517}
	for _, at := range strikes {
		addPiano(pcm, at, 64, 0.3)
	}
	for _, mode := range noteModes {
		t.Run(mode.name, func(t *testing.T) {
			var onsets []float64
			wasOn := false
			for _, f := range analyse(newAnalyzerWith(t, mode.cfg), pcm) {
				isOn := false
				for _, n := range f.ActiveNotes() {
					if n.MIDI == 64 {
						isOn = true
						if n.Onset || !wasOn {
							onsets = append(onsets, f.T)
						}
					}
				}
				wasOn = isOn
			}
			if len(onsets) != len(strikes) {
				t.Fatalf("E4 struck %d times: onsets (flags or reappearances) at %v s", len(strikes), onsets)
			}
			for i, at := range strikes {
				struck := float64(at) / sr
				if d := onsets[i] - struck; d < 0 || d > 4.0/FrameRate {
					t.Errorf("strike %d at %.3f s: onset at %.3f s", i+1, struck, onsets[i])
				}
			}
		})
	}
}

func TestBlockSizeDoesNotMatter(t *testing.T) {
	pcm := make([]float32, seconds(0.5))
	addPiano(pcm, 1000, 62, 0.3)
	addBass(pcm, 0, len(pcm), 38, 0.3)
	a, b := newAnalyzer(t), newAnalyzer(t)
	want := analyse(a, pcm)
	block := SampleRate / FrameRate
	for k := range want {
		chunk := pcm[k*block : (k+1)*block]
		for len(chunk) > 0 { // odd pieces: 1, 7, 113 samples …
			n := min(len(chunk), 1+(k*37+len(chunk))%113)
			b.Write(chunk[:n])
			chunk = chunk[n:]
		}
		var got Features
		b.Frame(&got)
		if got != want[k] {
			t.Fatalf("frame %d differs with other block sizes:\n got %+v\nwant %+v", k, got, want[k])
		}
	}
}

func TestResetForgets(t *testing.T) {
	a := newAnalyzer(t)
	analyse(a, sine(seconds(0.5), 440, 0.5))
	a.Reset()
	var f Features
	a.Write(make([]float32, 800))
	a.Frame(&f)
	if f.NumNotes != 0 || f.T != 800.0/SampleRate {
		t.Fatalf("after Reset: %+v", f)
	}
}

func TestGarbageSamplesDoNotPanic(t *testing.T) {
	a := newAnalyzer(t)
	pcm := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30}
	for range 200 {
		a.Write(pcm)
	}
	var f Features
	a.Frame(&f)
	if math.IsNaN(float64(f.Level)) || f.Level > 1 {
		t.Fatalf("garbage produced level %v", f.Level)
	}
	a.Write(nil)
	a.Frame(&f)
}

func TestWriteAndFrameAllocateNothing(t *testing.T) {
	a := newAnalyzer(t)
	// A note struck every 8 ticks, so frames after onsets (the fast
	// window, re-attack flags) are measured too.
	const block = SampleRate / FrameRate
	pcm := make([]float32, 8*block)
	addPiano(pcm, 0, 60, 0.3)
	var f Features
	k, onsets := 0, 0
	allocs := testing.AllocsPerRun(100, func() {
		a.Write(pcm[k*block : (k+1)*block])
		a.Frame(&f)
		k = (k + 1) % 8
		if f.Onset {
			onsets++
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Write+Frame, want 0", allocs)
	}
	if onsets == 0 {
		t.Fatal("no onset in the measured frames: the onset path was not measured")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{
		{TuningHz: 100},
		{MinHz: 500, MaxHz: 400},
		{MidFFT: 3000},
		{LongFFT: 64},
		{MaxPolyphony: 99},
		{RelThreshold: 2},
		{Harmonics: 100},
		{PeakProminence: math.NaN()},
	} {
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
}

func TestNoteName(t *testing.T) {
	for m, want := range map[int]string{60: "C4", 69: "A4", 75: "D#5", 28: "E1", 0: "C-1", 127: "G9", -1: "MIDI-1"} {
		if got := NoteName(m); got != want {
			t.Errorf("NoteName(%d) = %q, want %q", m, got, want)
		}
	}
}

func BenchmarkWriteFrame(b *testing.B) {
	a := newAnalyzer(b)
	pcm := make([]float32, seconds(2))
	for i, m := range []int{40, 60, 64, 67, 72} {
		addPiano(pcm, i*1000, m, 0.2)
	}
	pcm = append(pcm, drumLoop(seconds(2))...)
	block := SampleRate / FrameRate
	var f Features
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off := (i * block) % (len(pcm) - block)
		a.Write(pcm[off : off+block])
		a.Frame(&f)
	}
}

func TestExtremeConfigsRun(t *testing.T) {
	pcm := drumLoop(seconds(0.5))
	addPiano(pcm, 0, 60, 0.3)
	for _, c := range []Config{
		{ShortFFT: 128, MidFFT: 512, LongFFT: 1024},
		{ShortFFT: 1 << 14, MidFFT: 1 << 16, LongFFT: 1 << 17},
		{MinHz: 20, MaxHz: 12000, Harmonics: maxHarmonics, MaxPolyphony: MaxNotes, HoldFrames: 60, ConfirmFrames: 30},
		{PeakProminence: 1, RelThreshold: 1e-9, MinNoteDB: -120, MinNoteRelDB: -120},
		{TuningHz: 400, WindowTail: 0.02},
		{TuningHz: 480, WindowTail: 0.5, OnsetSensitivity: 20, ReattackRatio: 100},
	} {
		a, err := New(c)
		if err != nil {
			t.Fatalf("New(%+v): %v", c, err)
		}
		for _, f := range analyse(a, pcm) {
			if f.NumNotes < 0 || f.NumNotes > MaxNotes || f.Level < 0 || f.Level > 1 {
				t.Fatalf("config %+v gave %+v", c, f)
			}
		}
	}
}

func TestSpectrumOnlyMatchesTheFullAnalysisWithoutNotes(t *testing.T) {
	pcm := make([]float32, seconds(1))
	addPiano(pcm, 2000, 60, 0.3)
	addPiano(pcm, 20000, 67, 0.3)
	addBass(pcm, 0, len(pcm), 40, 0.3)
	light, err := New(Config{SpectrumOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	full := analyse(newAnalyzer(t), pcm)
	got := analyse(light, pcm)
	onsets := 0
	for k := range full {
		g, w := got[k], full[k]
		if g.NumNotes != 0 {
			t.Fatalf("frame %d: SpectrumOnly reported notes %+v", k, g.ActiveNotes())
		}
		if g.T != w.T || g.Level != w.Level || g.Bands != w.Bands || g.PeakHz != w.PeakHz || g.Onset != w.Onset || g.Attack != w.Attack {
			t.Fatalf("frame %d: SpectrumOnly %+v\nfull analysis %+v", k, g, w)
		}
		onsets += btoi(g.Onset)
	}
	if onsets == 0 {
		t.Fatal("no onset in two piano notes: the comparison proved nothing")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A note that begins in the last millisecond of the audio a frame sees must already give the
// first light its cues: an Attack with its level, and a PeakHz for a place and a colour.
func TestAttackInTheLastMillisecond(t *testing.T) {
	for _, lastMs := range []float64{1, 2, 4} {
		pcm := make([]float32, seconds(1))
		start := len(pcm) - seconds(lastMs/1000)
		addPiano(pcm, start, 64, 0.3)
		frames := analyse(newAnalyzer(t), pcm[:len(pcm)-len(pcm)%(SampleRate/FrameRate)])
		// The last frame ends exactly at len(pcm) only if len(pcm) is a whole number of ticks.
		if len(pcm)%(SampleRate/FrameRate) != 0 {
			t.Fatal("the test's length must be whole ticks")
		}
		last := frames[len(frames)-1]
		if !last.Attack || last.AttackLevel <= 0 || !(last.PeakHz > 0) {
			t.Errorf("note %g ms before the frame's end: Attack %v, AttackLevel %g, PeakHz %g; want all set",
				lastMs, last.Attack, last.AttackLevel, last.PeakHz)
		}
		for _, f := range frames[:len(frames)-1] {
			if f.Attack {
				t.Fatalf("attack at t=%.3f in the silence before the note", f.T)
			}
		}
	}
}
