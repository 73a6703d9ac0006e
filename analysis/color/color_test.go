package color

import (
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func near(a, b, tol float32) bool { return float32(math.Abs(float64(a-b))) <= tol }

func hueDistance(a, b float32) float32 {
	d := float32(math.Abs(float64(a - b)))
	return min(d, 360-d)
}

func TestHSVPrimaries(t *testing.T) {
	cases := []struct {
		h    float32
		want RGBF
	}{
		{0, RGBF{1, 0, 0}}, {120, RGBF{0, 1, 0}}, {240, RGBF{0, 0, 1}},
		{60, RGBF{1, 1, 0}}, {360, RGBF{1, 0, 0}}, {-120, RGBF{0, 0, 1}},
	}
	for _, c := range cases {
		got := HSV(c.h, 1, 1)
		if !near(got.R, c.want.R, 1e-5) || !near(got.G, c.want.G, 1e-5) || !near(got.B, c.want.B, 1e-5) {
			t.Errorf("HSV(%v,1,1) = %+v, want %+v", c.h, got, c.want)
		}
		if hsl := HSL(c.h, 1, 0.5); hsl != got {
			t.Errorf("HSL(%v,1,0.5) = %+v, want the pure hue %+v", c.h, hsl, got)
		}
	}
	if got := HSL(200, 1, 1); got != (RGBF{1, 1, 1}) {
		t.Errorf("HSL lightness 1 = %+v, want white", got)
	}
	if got := HSV(float32(math.NaN()), 1, 1); got != (RGBF{1, 0, 0}) {
		t.Errorf("HSV(NaN) = %+v, want hue 0", got)
	}
}

func TestHueRoundTrip(t *testing.T) {
	for h := float32(0); h < 360; h += 7 {
		got, sat := HueOf(HSV(h, 1, 0.8))
		if hueDistance(got, h) > 0.01 || !near(sat, 1, 1e-5) {
			t.Errorf("HueOf(HSV(%v)) = %v sat %v", h, got, sat)
		}
	}
}

func TestNoteModePitchClassHue(t *testing.T) {
	var p Palette // zero value is note mode
	a4 := p.Note(0, 69)
	hue, _ := HueOf(a4)
	if want := PitchClassHue(9); want != 270 || hueDistance(hue, want) > 0.5 {
		t.Fatalf("A4 hue = %v, want %v (pitch class A)", hue, want)
	}
	// Every A, in any octave, has A's hue; every C has C's.
	for _, midi := range []int{33, 45, 57, 81, 93} {
		if h, _ := HueOf(p.Note(0, midi)); hueDistance(h, 270) > 0.5 {
			t.Errorf("MIDI %d hue %v, want 270", midi, h)
		}
	}
	for pc := range 12 {
		h, _ := HueOf(p.Note(0, 60+pc))
		if hueDistance(h, float32(pc)*30) > 0.5 {
			t.Errorf("pitch class %d hue %v, want %v", pc, h, pc*30)
		}
	}
}

func TestOctaveShiftslightness(t *testing.T) {
	var p Palette
	prev := float32(-1)
	for _, midi := range []int{45, 57, 69, 81} { // A2 … A5
		l := lightness(p.Note(0, midi))
		if l <= prev {
			t.Fatalf("MIDI %d lightness %v not above the octave below (%v)", midi, l, prev)
		}
		prev = l
	}
	if l := lightness(p.Note(0, 69)); !near(l, 0.5, 1e-5) {
		t.Errorf("A4 lightness %v, want 0.5 (pure hue)", l)
	}
}

func TestMusicianMode(t *testing.T) {
	p := Palette{Mode: ModeMusician}
	h0, _ := HueOf(p.Note(0, 66)) // F#: pitch class 6 sits near the middle of the spread
	h1, _ := HueOf(p.Note(1, 66))
	if hueDistance(h0, h1) < 60 {
		t.Errorf("musicians 0 and 1 hues %v and %v are too close", h0, h1)
	}
	if hueDistance(h0, MusicianHue(0)) > DefaultMusicianSpread/2 {
		t.Errorf("musician 0 note hue %v strays from its base %v", h0, MusicianHue(0))
	}
	lo := shownHue(p.Note(2, 60)) // C: the first twelfth of the spread
	hi := shownHue(p.Note(2, 71)) // B: the last
	if want := min(DefaultMusicianSpread, musicianRoom(2)) * 11 / 12; !near(hueDistance(lo, hi), want, 1) {
		t.Errorf("C to B moves musician 2's hue on a strip by %v°, want %v°", hueDistance(lo, hi), want)
	}
}

// shownHue is the hue a strip shows for c, after DefaultGamma.
func shownHue(c RGBF) float32 { return shownHueAt(c, DefaultGamma) }

// shownHueAt is the hue a strip of gamma g shows for c.
func shownHueAt(c RGBF, g float32) float32 {
	p := func(v float32) float32 { return float32(math.Pow(float64(v), float64(g))) }
	h, _ := HueOf(RGBF{p(c.R), p(c.G), p(c.B)})
	return h
}

func TestSpectrumModeFollowsFrequency(t *testing.T) {
	p := Palette{Mode: ModeSpectrum}
	prev := float32(-1)
	for _, hz := range []float32{SpectrumLowHz, 100, 400, 1600, SpectrumHighHz} {
		h, _ := HueOf(p.Freq(0, hz))
		if h <= prev && !(hz == SpectrumLowHz) {
			t.Fatalf("%v Hz hue %v not above %v", hz, h, prev)
		}
		prev = h
	}
	if h, _ := HueOf(p.Freq(0, SpectrumLowHz)); h > 0.5 {
		t.Errorf("lowest frequency hue %v, want red", h)
	}
	if got := (Palette{}).Freq(0, 0); got != (RGBF{1, 1, 1}) {
		t.Errorf("unpitched = %+v, want white", got)
	}
	// Note and Freq agree on a note's pitch.
	if a, b := p.Note(0, 69), p.Freq(0, 440); !near(a.R, b.R, 1e-4) || !near(a.B, b.B, 1e-4) {
		t.Errorf("Note(69) %+v != Freq(440) %+v", a, b)
	}
}

func TestNoteRGBHex(t *testing.T) {
	c := (Palette{}).NoteRGB(0, 60) // C4: red
	if c != (RGB{255, 0, 0}) || c.Hex() != "#ff0000" {
		t.Fatalf("C4 = %+v %s, want #ff0000", c, c.Hex())
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ModeNote, ModeMusician, ModeSpectrum} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("rainbow"); err == nil {
		t.Error("ParseMode accepted rainbow")
	}
}

func TestEnvelope(t *testing.T) {
	e := Envelope{Attack: 10 * time.Millisecond, Decay: 100 * time.Millisecond}
	s := e.Step(100 * time.Millisecond)
	up := s.Apply(0, 1)
	if up < 0.9999 {
		t.Errorf("after 10 attack constants the level is %v, want ≈1", up)
	}
	down := s.Apply(1, 0)
	if !near(down, float32(math.Exp(-1)), 1e-4) {
		t.Errorf("after one decay constant the level is %v, want 1/e", down)
	}
	// Many small steps equal one big one: the envelope is frame-rate independent.
	v := float32(1)
	small := e.Step(10 * time.Millisecond)
	for range 10 {
		v = small.Apply(v, 0)
	}
	if !near(v, down, 1e-4) {
		t.Errorf("10 × 10 ms = %v, 1 × 100 ms = %v", v, down)
	}
	if got := (Envelope{}).Step(time.Millisecond).Apply(0.2, 0.9); got != 0.9 {
		t.Errorf("zero envelope = %v, want instant", got)
	}
	if got := s.Apply(float32(math.NaN()), 0.5); got != got {
		t.Error("NaN state stuck")
	}
}

func TestGammaTable(t *testing.T) {
	g, err := NewGamma(0)
	if err != nil {
		t.Fatal(err)
	}
	if g.Exponent() != DefaultGamma {
		t.Errorf("default exponent %v", g.Exponent())
	}
	if g.Apply8(0) != 0 || g.Apply8(255) != 255 || g.Linear(0) != 0 || g.Linear(1) != 1 {
		t.Fatalf("endpoints: %d %d %v %v", g.Apply8(0), g.Apply8(255), g.Linear(0), g.Linear(1))
	}
	if got, want := g.Linear(0.5), float32(math.Pow(0.5, DefaultGamma)); !near(got, want, 1e-3) {
		t.Errorf("Linear(0.5) = %v, want %v", got, want)
	}
	prev := uint8(0)
	for i := range 256 {
		v := g.Apply8(uint8(i))
		if v < prev {
			t.Fatalf("table not monotonic at %d", i)
		}
		prev = v
	}
	lin, _ := NewGamma(1)
	for i := range 256 {
		if lin.Apply8(uint8(i)) != uint8(i) {
			t.Fatalf("gamma 1 changed %d to %d", i, lin.Apply8(uint8(i)))
		}
	}
	if g.Linear(float32(math.NaN())) != 0 || g.Linear(7) != 1 {
		t.Error("out-of-range input not clamped")
	}
	for _, bad := range []float32{-1, 0.01, 6, float32(math.NaN())} {
		if _, err := NewGamma(bad); err == nil {
			t.Errorf("NewGamma(%v) accepted", bad)
		}
	}
}

func TestWhiteAccurate(t *testing.T) {
	r, g, b, w := WhiteAccurate(200, 120, 80)
	if r != 120 || g != 40 || b != 0 || w != 80 {
		t.Errorf("got %d %d %d %d", r, g, b, w)
	}
	if r, g, b, w := WhiteAccurate(255, 255, 255); r|g|b != 0 || w != 255 {
		t.Errorf("white → %d %d %d %d, want W only", r, g, b, w)
	}
}

func TestCurrentLimitFullWhite300(t *testing.T) {
	frame := make([]byte, 300*3)
	for i := range frame {
		frame[i] = 255
	}
	var m CurrentModel
	full := m.Estimate(frame, 3)
	if want := float32(300 * (DefaultIdleMilliamps + 3*DefaultChannelMilliamps)); !near(full, want, 0.5) {
		t.Fatalf("full white estimate %v mA, want %v", full, want)
	}
	before, after := m.Limit(frame, 3, 2000)
	if before != full || after > 2000 || after < 1950 {
		t.Fatalf("limit 2000 mA: before %v after %v", before, after)
	}
	if got := m.Estimate(frame, 3); got != after {
		t.Errorf("reported %v, frame estimates %v", after, got)
	}
	for i := range frame {
		if frame[i] != frame[0] || frame[0] == 0 {
			t.Fatalf("pixel %d = %d, want uniform non-zero scaling", i, frame[i])
		}
	}
	// Over the idle draw alone: blank.
	_, after = m.Limit(frame, 3, 100)
	if after != 300*DefaultIdleMilliamps {
		t.Errorf("budget under idle draw: %v mA", after)
	}
	// Disabled.
	frame[0] = 255
	if b, a := m.Limit(frame, 3, 0); a != b {
		t.Error("limit 0 changed the frame")
	}
}

func TestCurrentControllerShare(t *testing.T) {
	frame := make([]byte, 30)
	for i := range frame {
		frame[i] = 255
	}
	m := CurrentModel{ControllerMilliamps: 120}
	if got := m.Estimate(frame, 3); !near(got, 120+10*(1+60), 0.01) {
		t.Errorf("estimate %v", got)
	}
	if _, after := m.Limit(frame, 3, 400); after > 400 || after < 390 {
		t.Errorf("limited to %v mA, want just under 400", after)
	}
}

func TestCurrentRGBWCountsThreeQuarters(t *testing.T) {
	rgbw := []byte{0, 0, 0, 255, 255, 255, 255, 255}
	m := CurrentModel{ChannelMilliamps: 20, IdleMilliamps: -1}
	if got := m.Estimate(rgbw, 4); !near(got, 0.75*5*20, 1e-3) {
		t.Errorf("RGBW estimate %v", got)
	}
}

// DarkMilliamps is the floor Limit cannot go below: at or under it every frame is blanked.
func TestCurrentDarkMilliampsIsLimitsFloor(t *testing.T) {
	m := CurrentModel{ControllerMilliamps: 120}
	if got, want := m.DarkMilliamps(600), float32(120+600*DefaultIdleMilliamps); got != want {
		t.Fatalf("DarkMilliamps(600) = %v, want %v", got, want)
	}
	frame := make([]byte, 600*3)
	for i := range frame {
		frame[i] = 255
	}
	if _, after := m.Limit(frame, 3, m.DarkMilliamps(600)); after != m.DarkMilliamps(600) || frame[0] != 0 {
		t.Fatalf("a limit at the dark draw left %v mA, first byte %d; want the frame blanked", after, frame[0])
	}
	if est := m.Estimate(frame, 3); est != m.DarkMilliamps(600) {
		t.Errorf("a dark frame estimates %v mA, DarkMilliamps says %v", est, m.DarkMilliamps(600))
	}
}

// The 12 pitch classes share the spread evenly, centred on the musician's hue, as a strip shows
// them (after gamma), each its own hue (C and B used to land on the same hue at 360°); the spread
// is bounded by the musician's room between its neighbours, so a wide one shares the room.
func TestMusicianSpreadGivesEveryPitchClassItsOwnHue(t *testing.T) {
	for _, spread := range []float32{360, 120, DefaultMusicianSpread, 24} {
		p := Palette{Mode: ModeMusician, MusicianSpread: spread}
		step := min(spread, musicianRoom(3)) / 12
		var hues [12]float32
		for pc := range hues {
			hues[pc] = shownHue(p.Note(3, 60+pc))
		}
		for pc := range hues[:11] {
			if d := hueDistance(hues[pc], hues[pc+1]); !near(d, step, 0.5) {
				t.Errorf("spread %v°: pitch classes %d and %d are %v° apart on a strip, want %v°", spread, pc, pc+1, d, step)
			}
		}
		// Centred: F (5) and F# (6) sit half a step either side of the musician's own hue.
		base := shownHue(HSL(MusicianHue(3), 1, 0.5))
		if d5, d6 := hueDistance(hues[5], base), hueDistance(hues[6], base); !near(d5, step/2, 0.5) || !near(d6, step/2, 0.5) {
			t.Errorf("spread %v°: F and F# are %v° and %v° from the musician's hue %v°, want %v° each", spread, d5, d6, base, step/2)
		}
	}
}

// lightness returns the HSL lightness of c.
func lightness(c RGBF) float32 { return (max(c.R, c.G, c.B) + min(c.R, c.G, c.B)) / 2 }

// fromShownHue undoes what gamma does to a hue: the hue it gives, at any lightness a note may
// have, shows on a strip of that gamma as the hue asked for.
func TestFromShownHueIsWhatAStripShows(t *testing.T) {
	for _, g := range []float32{0.5, 1, DefaultGamma, 2.8, 3.5, 5} {
		for _, l := range []float32{0.3, 0.5, 0.7} {
			for shown := float32(0); shown < 360; shown += 0.25 {
				h := fromShownHue(shown, g, l)
				if got := shownHueAt(HSL(h, 1, l), g); hueDistance(got, shown) > 0.01 {
					t.Fatalf("gamma %v, lightness %v: hue %v° shows as %v°, want %v°", g, l, h, got, shown)
				}
			}
		}
	}
}

// A palette laid out for a strip's gamma keeps the musicians' notes as far apart on that strip as
// on one of the default gamma: the nearest pitch classes of two of the first 8 musicians, in
// octave 4 and the lightest and darkest octaves, are at least 10° apart at every gamma. Laid out
// for the default whatever the strip's gamma, they were 3.1° apart at gamma 3.5. (Near the
// lowest gamma allowed, 0.1, a hue shown a third into a sixth is the 10th power of a third into
// it, finer than float32 hues and far finer than 8-bit LEDs resolve: no spacing survives it.)
func TestMusicianNotesStayApartAtTheStripsGamma(t *testing.T) {
	for _, g := range []float32{0.5, 1, 1.8, DefaultGamma, 2.8, 3.5, 5} {
		p := Palette{Mode: ModeMusician}.ForGamma(g)
		for _, octave := range []int{1, 4, 8} {
			var hues [peerCap][12]float32
			for m := range hues {
				for pc := range hues[m] {
					hues[m][pc] = shownHueAt(p.Note(m, 12*(octave+1)+pc), g)
				}
			}
			for i := range hues {
				for j := i + 1; j < len(hues); j++ {
					for _, a := range hues[i] {
						for _, b := range hues[j] {
							if d := hueDistance(a, b); d < musicianSeparation-0.01 {
								t.Fatalf("gamma %v, octave %d: musicians %d and %d show notes %.2f° apart, want at least %v°", g, octave, i, j, d, musicianSeparation)
							}
						}
					}
				}
			}
		}
	}
}
