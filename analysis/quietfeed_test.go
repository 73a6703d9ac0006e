package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// scaleToPeak scales pcm in place so its peak is peakDB dBFS.
func scaleToPeak(pcm []float32, peakDB float64) {
	peak := float32(0)
	for _, v := range pcm {
		peak = max(peak, float32(math.Abs(float64(v))))
	}
	g := float32(math.Pow(10, peakDB/20)) / peak
	for i := range pcm {
		pcm[i] *= g
	}
}

// addHiss mixes white noise of peak amplitude amp (uniform) into dst.
func addHiss(dst []float32, amp float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range dst {
		dst[i] += float32(amp * (2*rng.Float64() - 1))
	}
}

// TestQuietFeedKeepsItsNotes: a remote musician's low-gain feed keeps its
// notes: the bar follows the feed's noise floor down
// (to Config.QuietMinNoteDB). With the fixed -60 dBFS bar a melody of
// piano-like notes peaking at -52 dBFS was in none of the frames, and the
// top note of three-note chords peaking at -45 dBFS in 15 of 190, and of
// chords peaking at -42 dBFS over hiss at -66 dBFS peak in 53 of 190 (60 with
// a bar held 6 dB over the floor whatever the feed's range).
func TestQuietFeedKeepsItsNotes(t *testing.T) {
	melody := []int{60, 64, 67, 62, 65, 57, 69, 72}
	const lead, noteLen = 1.0, 0.5 // s
	for _, c := range []struct {
		name       string
		chords     bool
		peakDB     float64
		hissPeakDB float64
		want       float64 // the share of frames with the melody's note
	}{
		{"melody at -52 dBFS peak", false, -52, -90, 0.9},
		{"chords at -45 dBFS peak", true, -45, -90, 0.3},
		{"chords at -42 dBFS peak over hiss at -66", true, -42, -66, 0.5},
	} {
		pcm := make([]float32, seconds(lead+noteLen*float64(len(melody))+0.3))
		for i, m := range melody {
			at := seconds(lead + noteLen*float64(i))
			addPiano(pcm, at, m, 0.3)
			if c.chords {
				addPiano(pcm, at, m-8, 0.3)
				addPiano(pcm, at, m-12, 0.3)
			}
		}
		scaleToPeak(pcm, c.peakDB)
		addHiss(pcm, math.Pow(10, c.hissPeakDB/20), 1)
		hits, frames := 0, 0
		for _, f := range analyse(newAnalyzer(t), pcm) {
			i := int((f.T - lead) / noteLen)
			if f.T < lead || i >= len(melody) || f.T-lead-float64(i)*noteLen < 0.1 {
				continue
			}
			frames++
			if hasNote(&f, melody[i]) {
				hits++
			}
		}
		if float64(hits) < c.want*float64(frames) {
			t.Errorf("%s: the melody's notes in %d of %d frames, want at least %.0f %%", c.name, hits, frames, 100*c.want)
		}
	}
}

// TestQuietFeedNoiseIsDark: what fills a quiet feed with no music in it,
// hiss at -65 dBFS and mains hum at -58 dBFS (50 Hz with partials), lights
// no note, from the first frame on: a steady sound is its own noise floor,
// and the bar stays at Config.MinNoteDB above it. Digital silence leaves the
// bar at Config.QuietMinNoteDB, a number.
func TestQuietFeedNoiseIsDark(t *testing.T) {
	hiss := make([]float32, seconds(8))
	addHiss(hiss, 1, 2)
	scaleToPeak(hiss, -65)
	hum := make([]float32, seconds(8))
	for h, amp := range []float64{1, 0.5, 0.3, 0.2} {
		for i := range hum {
			hum[i] += float32(amp * math.Sin(2*math.Pi*50*float64(h+1)*float64(i)/sr))
		}
	}
	scaleToPeak(hum, -58)
	addHiss(hum, math.Pow(10, -80.0/20), 3)
	silence := make([]float32, seconds(8))
	for name, pcm := range map[string][]float32{"hiss -65 dBFS": hiss, "hum -58 dBFS": hum, "digital silence": silence} {
		lit := 0
		a := newAnalyzer(t)
		for _, f := range analyse(a, pcm) {
			if len(f.ActiveNotes()) > 0 {
				lit++
			}
		}
		if gate := 20 * math.Log10(a.absMinAmp); !(gate >= a.cfg.QuietMinNoteDB-1e-9 && gate <= a.cfg.MinNoteDB+1e-9) {
			t.Errorf("%s: the note bar at %g dBFS, want within [%g, %g]", name, gate, a.cfg.QuietMinNoteDB, a.cfg.MinNoteDB)
		}
		if lit > 0 {
			t.Errorf("%s: notes in %d frames, want none", name, lit)
		}
	}
}

// TestNoiseFloorFollowsTheQuietestLevel: the floor is unknown for the first
// block, then the smoothed minimum of the last noiseFloorBlocks blocks, and
// forgets a quiet stretch once it is that far behind.
func TestNoiseFloorFollowsTheQuietestLevel(t *testing.T) {
	f := newNoiseFloor()
	for range noiseFloorBlockFrames - 1 {
		if got := f.update(0.01); !math.IsInf(got, 1) {
			t.Fatalf("floor %g before a whole block, want +Inf", got)
		}
	}
	if got := f.update(0.01); math.Abs(got-0.01) > 1e-12 {
		t.Fatalf("floor %g after a block at 0.01, want 0.01", got)
	}
	for range noiseFloorBlockFrames * 2 {
		f.update(0.1)
	}
	if got := f.update(0.1); got > 0.0101 {
		t.Errorf("floor %g with the quiet block in the window, want 0.01", got)
	}
	for range noiseFloorBlockFrames * noiseFloorBlocks {
		f.update(0.1)
	}
	if got := f.update(0.1); math.Abs(got-0.1) > 1e-5 {
		t.Errorf("floor %g once the quiet block has left the window, want 0.1", got)
	}
}

// TestFloorMarginShrinksWithTheRange: a steady feed's notes must clear its
// floor by noiseFloorMarginDB, a feed with a wide range (music over a
// floor) need not clear it.
func TestFloorMarginShrinksWithTheRange(t *testing.T) {
	db := func(r float64) float64 { return math.Pow(10, r/20) }
	for _, c := range []struct{ rangeDB, wantDB float64 }{
		{0, noiseFloorMarginDB}, {narrowRangeDB, noiseFloorMarginDB},
		{(narrowRangeDB + wideRangeDB) / 2, noiseFloorMarginDB / 2},
		{wideRangeDB, 0}, {60, 0}, {math.Inf(1), 0},
	} {
		if got := 20 * math.Log10(floorMargin(db(c.rangeDB))); math.Abs(got-c.wantDB) > 1e-9 {
			t.Errorf("loudness %g dB over the floor: margin %g dB, want %g", c.rangeDB, got, c.wantDB)
		}
	}
}

// TestQuietFeedNotesAreLit: a note the lowered bar lets through has a velocity
// above 0, so effects light it. Velocity was measured over -60…0 dBFS whatever
// the bar, and every note between -75 and -60 dBFS was reported at velocity 0:
// in the JSON and on the status page, never on the strip.
func TestQuietFeedNotesAreLit(t *testing.T) {
	pcm := quietPianoMelody()
	notes, dark, onsets := 0, 0, 0
	for _, f := range analyse(newAnalyzer(t), pcm) {
		for _, n := range f.ActiveNotes() {
			notes++
			if n.Onset {
				onsets++
			}
			if !(n.Velocity > 0) {
				dark++
				if n.Onset {
					t.Errorf("t=%.3f: MIDI %d struck at velocity 0", f.T, n.MIDI)
				}
			}
		}
	}
	// A held note's last frames, after its partials fell under the bar, may read 0.
	if onsets == 0 || dark*10 > notes {
		t.Errorf("%d of %d notes (%d onsets) reported at velocity 0, want at most a tenth", dark, notes, onsets)
	}
	// An ordinary feed keeps the -60…0 dBFS scale: a full-scale note is 1, one at -30 dBFS 0.5.
	a := newAnalyzer(t)
	if v := velocity(1, a.tracker.velocityRangeDB); v != 1 {
		t.Errorf("velocity of a full-scale note %v, want 1", v)
	}
	if v := velocity(math.Pow(10, -30.0/20), a.tracker.velocityRangeDB); math.Abs(float64(v)-0.5) > 1e-6 {
		t.Errorf("velocity of a -30 dBFS note %v on a new analyser, want 0.5", v)
	}
}

// TestUnmutedNoiseIsDark: a muted microphone sends digital zeros; its noise
// floor is no floor. When the musician unmutes into a room's hum, the hum must
// stay dark as it does on a feed that never went silent (the hum rule needs
// 2.5 s of it; the bar must not sit at Config.QuietMinNoteDB meanwhile).
func TestUnmutedNoiseIsDark(t *testing.T) {
	const mute = 5.0 // s
	pcm := make([]float32, seconds(mute+6))
	for h, amp := range []float64{1, 0.5, 0.3, 0.2} {
		for i := seconds(mute); i < len(pcm); i++ {
			pcm[i] += float32(amp * math.Sin(2*math.Pi*60*float64(h+1)*float64(i)/sr))
		}
	}
	scaleToPeak(pcm, -66)
	a := newAnalyzer(t)
	lit := 0
	for _, f := range analyse(a, pcm) {
		if f.T > mute && len(f.ActiveNotes()) > 0 {
			lit++
		}
	}
	if lit > 0 {
		t.Errorf("hum at -66 dBFS after %.0f s of digital silence: notes in %d frames, want none", mute, lit)
	}
}

// TestQuietFeedLevelIsOnTheNotesScale: effects light an unpitched hit, and the
// first frames of an attack before its pitch is known, by the frame's level.
// On a quiet feed that level must read on the scale its notes are reported
// on; on the ordinary -60…0 dBFS scale a strike at -58 dBFS read as nothing
// while the note it became was lit.
func TestQuietFeedLevelIsOnTheNotesScale(t *testing.T) {
	pcm := quietPianoMelody()
	struck := 0
	for _, f := range analyse(newAnalyzer(t), pcm) {
		for _, n := range f.ActiveNotes() {
			if !n.Onset {
				continue
			}
			struck++
			level := f.LevelVelocity(max(f.Level, f.AttackLevel))
			if f.VelocityDepthDB <= minVelocityRangeDB || !(level > 0) || math.Abs(float64(level-n.Velocity)) > 0.25 {
				t.Errorf("t=%.3f: MIDI %d struck at velocity %.2f; the frame's level reads %.2f on a %.0f dB scale",
					f.T, n.MIDI, n.Velocity, level, f.VelocityDepthDB)
			}
		}
	}
	if struck == 0 {
		t.Fatal("no note struck")
	}
	// A frame built by hand (no depth) and an ordinary feed keep -60…0 dBFS.
	plain := Features{}
	if v := plain.LevelVelocity(float32(math.Pow(10, -30.0/20) / math.Sqrt2)); math.Abs(float64(v)-0.5) > 1e-6 {
		t.Errorf("a -30 dBFS sine's level on the ordinary scale: %v, want 0.5", v)
	}
}

// quietPianoMelody is eight piano notes peaking at -58 dBFS over a
// microphone's own hiss (the feed is never digital silence).
func quietPianoMelody() []float32 {
	melody := []int{60, 64, 67, 62, 65, 57, 69, 72}
	const lead, noteLen = 1.0, 0.5 // s
	pcm := make([]float32, seconds(lead+noteLen*float64(len(melody))+0.3))
	for i, m := range melody {
		addPiano(pcm, seconds(lead+noteLen*float64(i)), m, 0.3)
	}
	scaleToPeak(pcm, -58)
	addHiss(pcm, math.Pow(10, -90.0/20), 1)
	return pcm
}
