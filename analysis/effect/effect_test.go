package effect

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

const tick = time.Second / 60

// linear is a config whose output bytes are the drawn colour × 255, so that
// tests can read hues and levels straight off the pixels.
func linear() Config { return Config{Gamma: 1, BrightnessCap: 1} }

func newRenderer(t testing.TB, cfg Config, s Strip) *Renderer {
	t.Helper()
	r, err := NewRenderer(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func notes(ns ...analysis.Note) *analysis.Features {
	f := &analysis.Features{NumNotes: len(ns)}
	copy(f.Notes[:], ns)
	if len(ns) > 0 {
		f.Level = ns[0].Velocity * 0.7
	}
	return f
}

func note(midi int, vel float32, onset bool) analysis.Note {
	return analysis.Note{MIDI: midi, Hz: float32(440 * math.Exp2(float64(midi-69)/12)), Velocity: vel, Onset: onset}
}

func local(now time.Time, src ...Source) Input {
	return Input{Now: now, Look: LookLocal, Playing: true, Sources: src}
}

func render(t testing.TB, r *Renderer, in Input) []byte {
	t.Helper()
	dst := make([]byte, r.Strip().FrameSize())
	n, err := r.Render(dst, in)
	if err != nil || n != len(dst) {
		t.Fatalf("Render: %d, %v", n, err)
	}
	return dst
}

func pixel(frame []byte, i int) color.RGBF {
	return color.RGB{R: frame[3*i], G: frame[3*i+1], B: frame[3*i+2]}.Float()
}

func brightness(frame []byte, i int) int {
	return int(frame[3*i]) + int(frame[3*i+1]) + int(frame[3*i+2])
}

// centroid is the brightness-weighted mean position of LEDs from–to (exclusive).
func centroid(frame []byte, from, to int) float64 {
	var sum, weight float64
	for i := from; i < to; i++ {
		b := float64(brightness(frame, i))
		sum += b * float64(i)
		weight += b
	}
	if weight == 0 {
		return -1
	}
	return sum / weight
}

// centre is the LED at the centre of the lit part of a frame with one region.
func centre(frame []byte, leds int) int { return int(math.Round(centroid(frame, 0, leds))) }

func hueDistance(a, b float32) float32 {
	d := float32(math.Abs(float64(a - b)))
	return min(d, 360-d)
}

// notePosition is where the notes effect centres MIDI note m on a strip of leds.
func notePosition(m, leds int) float64 {
	return float64(m-DefaultNoteLow) / float64(DefaultNoteHigh-DefaultNoteLow) * float64(leds-1)
}

func TestNotesA4ShowsPitchClassA(t *testing.T) {
	r := newRenderer(t, linear(), Strip{LEDs: 300})
	frame := render(t, r, local(t0, Source{Features: notes(note(69, 1, true))}))
	peak := centre(frame, 300)
	if want := int(math.Round(notePosition(69, 300))); peak != want {
		t.Fatalf("A4 lit around LED %d, want %d", peak, want)
	}
	hue, sat := color.HueOf(pixel(frame, peak))
	if hueDistance(hue, color.PitchClassHue(9)) > 2 || sat < 0.95 {
		t.Fatalf("A4 pixel %v has hue %v sat %v, want pitch class A's %v", frame[3*peak:3*peak+3], hue, sat, color.PitchClassHue(9))
	}
	// With one LED per semitone the note sits exactly on an LED, which shows
	// the palette's colour: what the status page shows for the note.
	r = newRenderer(t, linear(), Strip{LEDs: DefaultNoteHigh - DefaultNoteLow + 1})
	frame = render(t, r, local(t0, Source{Features: notes(note(69, 1, true))}))
	if got, want := frame[3*(69-DefaultNoteLow):][:3], (color.Palette{}).NoteRGB(0, 69); got[0] != want.R || got[1] != want.G || got[2] != want.B {
		t.Errorf("strip shows %v, palette says %v", got, want)
	}
	frame = render(t, newRenderer(t, linear(), Strip{LEDs: 300}), local(t0, Source{Features: notes(note(69, 1, true))}))
	if brightness(frame, 0) != 0 || brightness(frame, 299) != 0 {
		t.Error("LEDs far from the note are lit")
	}
}

func TestVelocitySetsBrightness(t *testing.T) {
	// Velocity is a dB-scale loudness, so it scales perceptual brightness
	// linearly: with gamma 1 the pixel is the note colour × velocity.
	for _, vel := range []float32{1, 0.5, 0.25} {
		r := newRenderer(t, linear(), Strip{LEDs: DefaultNoteHigh - DefaultNoteLow + 1})
		frame := render(t, r, local(t0, Source{Features: notes(note(60, vel, true))})) // C4: red
		if got, want := float64(frame[3*(60-DefaultNoteLow)]), float64(vel)*255; math.Abs(got-want) > 1 {
			t.Errorf("velocity %v: red %v, want %.1f", vel, got, want)
		}
	}
}

func TestOctaveShiftsLightnessOnTheStrip(t *testing.T) {
	light := func(midi int) float32 {
		r := newRenderer(t, linear(), Strip{LEDs: 300})
		frame := render(t, r, local(t0, Source{Features: notes(note(midi, 1, true))}))
		return lightness(pixel(frame, centre(frame, 300)))
	}
	a3, a4, a5 := light(57), light(69), light(81)
	if !(a3 < a4 && a4 < a5) {
		t.Fatalf("lightness A3 %v, A4 %v, A5 %v: want rising with the octave", a3, a4, a5)
	}
}

func TestTriadLightsThreeRegions(t *testing.T) {
	const leds = 300
	r := newRenderer(t, linear(), Strip{LEDs: leds})
	triad := []int{60, 64, 67} // C4 E4 G4
	frame := render(t, r, local(t0, Source{Features: notes(note(60, 1, true), note(64, 0.9, true), note(67, 0.8, true))}))
	// Contiguous lit runs.
	var runs [][2]int
	for i := 0; i < leds; i++ {
		if brightness(frame, i) == 0 {
			continue
		}
		j := i
		for j+1 < leds && brightness(frame, j+1) > 0 {
			j++
		}
		runs = append(runs, [2]int{i, j})
		i = j
	}
	if len(runs) != 3 {
		t.Fatalf("lit runs %v, want 3 regions", runs)
	}
	for k, run := range runs {
		mid := centroid(frame, run[0], run[1]+1)
		if want := notePosition(triad[k], leds); math.Abs(mid-want) > 0.5 {
			t.Errorf("region %d centred on LED %.1f, want %.1f", k, mid, want)
		}
		peak := int(math.Round(mid))
		hue, _ := color.HueOf(pixel(frame, peak))
		if want := color.PitchClassHue(triad[k] % 12); hueDistance(hue, want) > 2 {
			t.Errorf("region %d hue %v, want %v", k, hue, want)
		}
	}
	// Velocity → brightness: the value (max channel) at each region's centre
	// falls with the note's velocity (1, 0.9, 0.8).
	prev := 256
	for _, m := range triad {
		i := int(math.Round(notePosition(m, leds)))
		v := int(max(frame[3*i], frame[3*i+1], frame[3*i+2]))
		if v >= prev {
			t.Errorf("note %d value %d not below the louder note's %d", m, v, prev)
		}
		prev = v
	}
}

func TestNoteFadesAfterRelease(t *testing.T) {
	r := newRenderer(t, linear(), Strip{LEDs: 120})
	now := t0
	frame := render(t, r, local(now, Source{Features: notes(note(50, 1, true))}))
	peak := centre(frame, 120)
	prev := brightness(frame, peak)
	for range 120 { // 2 s of silence
		now = now.Add(tick)
		frame = render(t, r, local(now, Source{Features: notes()}))
		b := brightness(frame, peak)
		if b > prev {
			t.Fatalf("released note got brighter: %d after %d", b, prev)
		}
		prev = b
	}
	if prev != 0 {
		t.Errorf("note still lit (%d) 2 s after release", prev)
	}
}

func TestNotesOnsetBeforePitchLightsAtOnce(t *testing.T) {
	r := newRenderer(t, linear(), Strip{LEDs: 300})
	f := &analysis.Features{Onset: true, Level: 0.6, PeakHz: 440} // attack heard, pitch not yet known
	frame := render(t, r, local(t0, Source{Features: f}))
	if p, want := centre(frame, 300), int(math.Round(notePosition(69, 300))); brightness(frame, p) == 0 || p != want {
		t.Fatalf("onset with a 440 Hz peak lit LED %d (%d), want LED %d", p, brightness(frame, p), want)
	}
}

// A hit whose pitch never comes (a drum) lights the peak's place only for
// provisionalHold; one that a detected note confirms stays lit.
func TestNotesAttackWithoutPitchGoesDarkUnlessConfirmed(t *testing.T) {
	attack := &analysis.Features{Onset: true, Attack: true, Level: 0.6, PeakHz: 440}
	for _, confirmed := range []bool{false, true} {
		r := newRenderer(t, linear(), Strip{LEDs: 300})
		now := t0
		frame := render(t, r, local(now, Source{Features: attack}))
		a4 := int(math.Round(notePosition(69, 300)))
		if brightness(frame, a4) == 0 {
			t.Fatalf("the attack did not light A4's place")
		}
		next := notes()
		if confirmed {
			next = notes(note(69, 0.8, false))
		}
		for now.Sub(t0) < provisionalHold {
			now = now.Add(tick)
			frame = render(t, r, local(now, Source{Features: next}))
		}
		if lit := brightness(frame, a4) > 0; lit != confirmed {
			t.Errorf("confirmed by a note %v: A4's place lit %v after %v", confirmed, lit, now.Sub(t0))
		}
	}
}

// Identify flashes and test patterns are drawn over a rendered frame; Overlay
// holds them to the brightness cap and the strip's current budget.
func TestOverlayKeepsTheCurrentLimit(t *testing.T) {
	const limit = 2000
	cfg := linear()
	cfg.BrightnessCap = 0.5
	r := newRenderer(t, cfg, Strip{LEDs: 300, MaxMilliamps: limit, RGBW: true})
	frame := render(t, r, local(t0))
	for i := range frame {
		frame[i] = 255 // an identify flash: every channel full, white included
	}
	r.Overlay(frame)
	if est := cfg.Current.Estimate(frame, 4); est > limit || r.Milliamps() != est {
		t.Fatalf("overlaid full white estimates %v mA (Milliamps %v), limit %v", est, r.Milliamps(), limit)
	}
	if frame[0] > 128 || frame[0] != frame[len(frame)-1] {
		t.Errorf("overlay bytes %d … %d: want at most the 50 %% cap, uniform", frame[0], frame[len(frame)-1])
	}
}

// With more sources than state slots the loudest are kept, wherever they are
// in the list.
func TestLoudestSourcesKeptPastMaxSources(t *testing.T) {
	r := newRenderer(t, linear(), Strip{LEDs: 300})
	var src []Source
	for i := range MaxSources + 4 {
		f := notes(note(40+i, 0.05, true))
		if i == MaxSources+1 {
			f = notes(note(90, 1, true))
		}
		src = append(src, Source{Musician: i, Features: f})
	}
	frame := render(t, r, local(t0, src...))
	if p := int(math.Round(notePosition(90, 300))); brightness(frame, p) < 200 {
		t.Fatalf("the loudest source (17th of %d) is dark at LED %d: %d", len(src), p, brightness(frame, p))
	}
}

func TestLongestStripRenders(t *testing.T) {
	r := newRenderer(t, Config{}, Strip{LEDs: MaxLEDs, RGBW: true})
	frame := render(t, r, local(t0, Source{Features: notes(note(60, 1, true))}))
	if len(frame) != MaxLEDs*4 {
		t.Fatalf("frame of %d bytes", len(frame))
	}
}

// Musicians get their own state slots whatever their index: musician 19 must
// not share musician 3's spectrum bars (19 % 16 == 3) and vanish.
func TestMusiciansWithCollidingIndicesKeepTheirOwnBars(t *testing.T) {
	cfg := linear()
	cfg.Effect = EffectSpectrum
	r := newRenderer(t, cfg, Strip{LEDs: 320})
	low := &analysis.Features{Level: 0.5}
	high := &analysis.Features{Level: 0.3}
	for b := range analysis.NumBands / 2 {
		low.Bands[b] = 1
		high.Bands[analysis.NumBands/2+b] = 1
	}
	var frame []byte
	for k := range 60 {
		frame = render(t, r, local(t0.Add(time.Duration(k)*tick), Source{Musician: 3, Features: low}, Source{Musician: 19, Features: high}))
	}
	lowLit, highLit := 0, 0
	for i := range 320 {
		if brightness(frame, i) > 0 {
			if i < 160 {
				lowLit++
			} else {
				highLit++
			}
		}
	}
	if lowLit == 0 || highLit == 0 {
		t.Fatalf("lit LEDs: %d in the low half (musician 3), %d in the high half (musician 19); want both", lowLit, highLit)
	}
}

func TestLoudestSourceColoursASharedNote(t *testing.T) {
	cfg := linear()
	cfg.Palette.Mode = color.ModeMusician
	r := newRenderer(t, cfg, Strip{LEDs: 200})
	quiet, loud := notes(note(62, 0.3, true)), notes(note(62, 0.9, true))
	frame := render(t, r, local(t0, Source{Musician: 0, Features: quiet}, Source{Musician: 1, Features: loud}))
	hue, _ := color.HueOf(pixel(frame, centre(frame, 200)))
	want, _ := color.HueOf(cfg.Palette.ForGamma(cfg.Gamma).Note(1, 62))
	if hueDistance(hue, want) > 2 {
		t.Fatalf("shared note hue %v, want the loud musician's %v", hue, want)
	}
}

func TestPulseDecaysAtTempo(t *testing.T) {
	afterOneBeatFraction := func(bpm float32, beats float64) float32 {
		cfg := linear()
		cfg.Effect = EffectPulse
		r := newRenderer(t, cfg, Strip{LEDs: 60})
		in := local(t0, Source{Features: notes(note(60, 1, true))}) // C4: pure red
		in.Tempo = bpm
		first := render(t, r, in)
		if first[0] != 255 || first[1] != 0 || brightness(first, 59) != 255 {
			t.Fatalf("onset frame %v, want the whole strip full red", first[:6])
		}
		frames := int(math.Round(beats * 60 / float64(bpm) * 60))
		var frame []byte
		for k := 1; k <= frames; k++ {
			in.Now = t0.Add(time.Duration(k) * tick)
			in.Sources = []Source{{Features: notes(note(60, 1, false))}} // held, no new onset
			frame = render(t, r, in)
		}
		return float32(frame[0]) / 255
	}
	got := afterOneBeatFraction(120, 1)
	if math.Abs(float64(got-DefaultPulseFloor)) > 1.0/255 {
		t.Errorf("120 BPM, one beat after the onset: %v of full, want %v", got, DefaultPulseFloor)
	}
	// Same wall time at 60 BPM is half a beat: √floor remains.
	if slow := afterOneBeatFraction(60, 0.5); math.Abs(float64(slow)-math.Sqrt(DefaultPulseFloor)) > 1.0/255 {
		t.Errorf("60 BPM after 0.5 s: %v, want %v", slow, math.Sqrt(DefaultPulseFloor))
	}
}

func TestPulseUnpitchedOnsetFlashes(t *testing.T) {
	cfg := linear()
	cfg.Effect = EffectPulse
	r := newRenderer(t, cfg, Strip{LEDs: 10})
	f := &analysis.Features{Onset: true, Level: 0.707}
	frame := render(t, r, local(t0, Source{Features: f}))
	if frame[0] < 250 || frame[1] < 250 || frame[2] < 250 {
		t.Fatalf("drum hit (no pitch) shows %v, want a white flash", frame[:3])
	}
}

func TestSpectrumBarsFollowBands(t *testing.T) {
	cfg := linear()
	cfg.Effect = EffectSpectrum
	cfg.Attack = -1  // instant, so one frame shows the bands exactly
	const leds = 160 // 10 LEDs per band
	r := newRenderer(t, cfg, Strip{LEDs: leds})
	f := &analysis.Features{Level: 0.5}
	for b := range f.Bands {
		f.Bands[b] = float32(b) / 15
	}
	frame := render(t, r, local(t0, Source{Features: f}))
	for b := range analysis.NumBands {
		height := float64(f.Bands[b]) * 10
		full, lit := 0, 0
		peak := 0
		for i := b * 10; i < (b+1)*10; i++ {
			peak = max(peak, brightness(frame, i))
		}
		for i := b * 10; i < (b+1)*10; i++ {
			if bb := brightness(frame, i); bb > 0 {
				lit++
				if bb == peak {
					full++
				}
			}
		}
		if want := int(math.Ceil(height - 1e-6)); lit != want {
			t.Errorf("band %d (%.2f): %d LEDs lit, want %d", b, f.Bands[b], lit, want)
		}
		if want := int(math.Floor(height + 1e-6)); want > 0 && full != want {
			t.Errorf("band %d: %d LEDs at full, want %d", b, full, want)
		}
		// Bars start at the band's first LED.
		if lit > 0 && brightness(frame, b*10) == 0 {
			t.Errorf("band %d bar does not start at its first LED", b)
		}
	}
	// Low bands are red, high ones towards violet (spectrum colour of the band).
	lowHue, _ := color.HueOf(pixel(frame, 19))
	highHue, _ := color.HueOf(pixel(frame, 150))
	if !(lowHue < highHue) {
		t.Errorf("band hues low %v high %v", lowHue, highHue)
	}
}

func TestSpectrumOnFewerLEDsThanBands(t *testing.T) {
	cfg := linear()
	cfg.Effect, cfg.Attack = EffectSpectrum, -1
	r := newRenderer(t, cfg, Strip{LEDs: 4}) // 4 bands per LED
	f := &analysis.Features{Level: 0.5}
	f.Bands[5] = 0.6 // only LED 1 (bands 4–7) should light, at the band's level
	frame := render(t, r, local(t0, Source{Features: f}))
	for i := range 4 {
		v := float64(max(frame[3*i], frame[3*i+1], frame[3*i+2]))
		want := 0.0
		if i == 1 {
			want = float64(f.Bands[5]) * 255
		}
		if math.Abs(v-want) > 1 {
			t.Errorf("LED %d value %v, want %.1f", i, v, want)
		}
	}
}

func TestLEDUpdatePayloadToFrame(t *testing.T) {
	// A host's led-update colours, as they arrive in the payload, parsed and
	// shown on a 300-LED strip: two entries make two halves.
	payload := []byte(`{"colors":["#ff0000",{"r":0,"g":0,"b":255}],"seq":7}`)
	var msg struct {
		Colors json.RawMessage `json:"colors"`
	}
	if err := json.Unmarshal(payload, &msg); err != nil {
		t.Fatal(err)
	}
	colors, err := color.ParseColors(msg.Colors, make([]color.RGB, 0, color.MaxColors))
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, linear(), Strip{LEDs: 300})
	frame := render(t, r, Input{Now: t0, Look: LookBroadcast, Playing: true, Broadcast: colors})
	for i := range 300 {
		want := [3]byte{255, 0, 0}
		if i >= 150 {
			want = [3]byte{0, 0, 255}
		}
		if got := [3]byte(frame[3*i : 3*i+3]); got != want {
			t.Fatalf("LED %d = %v, want %v", i, got, want)
		}
	}
}

func TestRGBWFrameExtractsWhite(t *testing.T) {
	r := newRenderer(t, linear(), Strip{LEDs: 50, RGBW: true})
	in := Input{Now: t0, Look: LookBroadcast, Playing: true,
		Broadcast: []color.RGB{{R: 255, G: 255, B: 255}, {R: 200, G: 120, B: 80}}}
	frame := render(t, r, in)
	if len(frame) != 50*4 {
		t.Fatalf("RGBW frame of %d bytes, want 200", len(frame))
	}
	if got := frame[0:4]; got[0] != 0 || got[1] != 0 || got[2] != 0 || got[3] != 255 {
		t.Errorf("white LED = %v, want W only", got)
	}
	if got := frame[49*4 : 50*4]; got[0] != 120 || got[1] != 40 || got[2] != 0 || got[3] != 80 {
		t.Errorf("(200,120,80) LED = %v, want 120 40 0 80", got)
	}
}

func TestCurrentLimitFullWhite300(t *testing.T) {
	const limit = 3000
	cfg := linear()
	r := newRenderer(t, cfg, Strip{LEDs: 300, MaxMilliamps: limit})
	in := Input{Now: t0, Look: LookBroadcast, Playing: true, Broadcast: []color.RGB{{R: 255, G: 255, B: 255}}}
	frame := render(t, r, in)
	est := cfg.Current.Estimate(frame, 3)
	if est > limit || est < limit*0.97 {
		t.Fatalf("limited full white estimates %v mA, want just under %v", est, limit)
	}
	if r.Milliamps() != est {
		t.Errorf("Milliamps() = %v, frame estimates %v", r.Milliamps(), est)
	}
	unlimited := render(t, newRenderer(t, cfg, Strip{LEDs: 300}), in)
	if unlimited[0] != 255 || frame[0] >= unlimited[0] || frame[0] != frame[len(frame)-1] {
		t.Errorf("limited %d unlimited %d: want uniform dimming", frame[0], unlimited[0])
	}
}

func TestBrightnessCapAndGamma(t *testing.T) {
	in := Input{Now: t0, Look: LookBroadcast, Playing: true, Broadcast: []color.RGB{{R: 255, G: 128}}}
	r := newRenderer(t, Config{}, Strip{LEDs: 4, Brightness: 0.5})
	frame := render(t, r, in)
	capped := float32(DefaultBrightnessCap) * 0.5
	if want := uint8(255*capped + 0.5); frame[0] != want {
		t.Errorf("full red at cap %v × strip 0.5 = %d, want %d", DefaultBrightnessCap, frame[0], want)
	}
	g, _ := color.NewGamma(color.DefaultGamma)
	if want := uint8(g.Linear(128.0/255)*DefaultBrightnessCap*0.5*255 + 0.5); frame[1] != want {
		t.Errorf("green 128 → %d, want gamma-corrected %d", frame[1], want)
	}
}

func TestScaleColors(t *testing.T) {
	red, blue := color.RGB{R: 255}, color.RGB{B: 255}
	dst := make([]color.RGB, 300)
	scaleColors(dst, []color.RGB{red, blue}, ResampleNearest)
	for i, c := range dst {
		if want := map[bool]color.RGB{true: red, false: blue}[i < 150]; c != want {
			t.Fatalf("LED %d = %v, want %v (halves)", i, c, want)
		}
	}
	scaleColors(dst, []color.RGB{red, blue}, ResampleLinear)
	if dst[0] != red || dst[299] != blue || dst[150].R == 0 || dst[150].B == 0 {
		t.Fatalf("linear: ends %v %v middle %v", dst[0], dst[299], dst[150])
	}
	long := make([]color.RGB, color.MaxColors)
	for i := range long {
		long[i] = color.RGB{R: uint8(i / 16)}
	}
	small := make([]color.RGB, 16)
	scaleColors(small, long, ResampleNearest)
	for i, c := range small {
		if c.R != uint8(i*16) {
			t.Fatalf("4096 → 16: LED %d = %d, want %d", i, c.R, i*16)
		}
	}
	// Linear downscaling averages: a one-entry dot among 4096 shows (dimly) on
	// the LED that covers it, wherever it falls, and nowhere else.
	dots := make([]color.RGB, color.MaxColors)
	ten := make([]color.RGB, 10)
	for _, at := range []int{0, 1234, 2001, 4095} {
		clear(dots)
		dots[at] = color.RGB{R: 255, G: 255, B: 255}
		scaleColors(ten, dots, ResampleLinear)
		for i, c := range ten {
			if lit := c != (color.RGB{}); lit != (i == at*10/len(dots)) {
				t.Fatalf("dot at %d → 10 LEDs: LED %d = %v", at, i, c)
			}
		}
	}
	scaleColors(small, nil, ResampleLinear)
	if small[3] != (color.RGB{}) {
		t.Error("empty colours should be black")
	}
}

func TestMirrorAndReverse(t *testing.T) {
	low := Source{Features: notes(note(DefaultNoteLow, 1, true))}
	r := newRenderer(t, linear(), Strip{LEDs: 101, Mirror: true})
	if p := centre(render(t, r, local(t0, low)), 101); p != 50 {
		t.Errorf("mirrored lowest note at LED %d, want the centre 50", p)
	}
	r = newRenderer(t, linear(), Strip{LEDs: 100, Reverse: true})
	if f := render(t, r, local(t0, low)); brightness(f, 99) == 0 || brightness(f, 0) != 0 || centroid(f, 0, 100) < 97 {
		t.Errorf("reversed lowest note centred on LED %.1f, want the last LED", centroid(f, 0, 100))
	}
	high := Source{Features: notes(note(DefaultNoteHigh, 1, true))}
	r = newRenderer(t, linear(), Strip{LEDs: 100, Mirror: true})
	frame := render(t, r, local(t0, high))
	if brightness(frame, 0) == 0 || brightness(frame, 99) != brightness(frame, 0) {
		t.Errorf("mirrored highest note: ends %d and %d, want both lit equally", brightness(frame, 0), brightness(frame, 99))
	}
}

func TestCrossfadeBetweenLooks(t *testing.T) {
	cfg := linear()
	cfg.Idle, cfg.IdleColor, cfg.IdleBrightness = IdleSolid, color.RGB{B: 255}, 1
	r := newRenderer(t, cfg, Strip{LEDs: 10})
	red := []color.RGB{{R: 255}}
	in := Input{Now: t0, Look: LookIdle, Playing: true, Broadcast: red}
	if f := render(t, r, in); f[2] != 255 || f[0] != 0 {
		t.Fatalf("idle frame %v, want solid blue", f[:3])
	}
	in.Look = LookBroadcast
	var mids int
	var f []byte
	for k := 1; k <= 18; k++ { // 300 ms
		in.Now = t0.Add(time.Duration(k) * tick)
		f = render(t, r, in)
		if f[0] > 0 && f[2] > 0 {
			mids++
		}
	}
	if r.Showing() != LookBroadcast {
		t.Errorf("showing %v after the fade, want broadcast", r.Showing())
	}
	if mids < 10 {
		t.Errorf("only %d of 18 frames were a blend: not a fade", mids)
	}
	if f[0] != 255 || f[2] != 0 {
		t.Errorf("after the crossfade: %v, want red", f[:3])
	}
	// Playback stops: back to idle, again smoothly.
	in.Playing = false
	in.Now = in.Now.Add(tick)
	if f = render(t, r, in); f[0] == 0 || f[2] == 0 {
		t.Errorf("first stopped frame %v, want a blend", f[:3])
	}
	for k := 0; k < 30; k++ {
		in.Now = in.Now.Add(tick)
		f = render(t, r, in)
	}
	if f[2] != 255 || f[0] != 0 {
		t.Errorf("stopped: %v, want the idle look", f[:3])
	}
}

func TestIdleBreathesAtTempo(t *testing.T) {
	r := newRenderer(t, linear(), Strip{LEDs: 3})
	in := Input{Now: t0, Look: LookIdle, Tempo: 120}
	var lo, hi float32 = 2, -1
	for k := 0; k < 4*60; k++ { // 4 s = one breath of 4 beats... twice
		in.Now = t0.Add(time.Duration(k) * tick)
		v := pixel(render(t, r, in), 0).R
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi < DefaultIdleBrightness*0.95 || hi > DefaultIdleBrightness+0.01 || lo > hi*0.3 || lo == 0 {
		t.Errorf("breathing between %v and %v, want a dim swell up to %v that never goes dark", lo, hi, DefaultIdleBrightness)
	}
}

func TestChooseLook(t *testing.T) {
	now := t0
	never := time.Time{}
	cases := []struct {
		mode        Mode
		audio, leds time.Time
		want        Look
	}{
		{ModeAuto, now.Add(-500 * time.Millisecond), now, LookLocal},
		{ModeAuto, now.Add(-1500 * time.Millisecond), now.Add(-time.Second), LookBroadcast},
		{ModeAuto, now.Add(-1500 * time.Millisecond), now.Add(-3 * time.Second), LookIdle},
		{ModeAuto, never, never, LookIdle},
		{ModeUnknown, never, now, LookBroadcast},
		{ModeLocal, never, now, LookIdle}, // nobody has played (see TestLocalModeShowsIdleWithoutAudio)
		{ModeLocal, now.Add(-3 * time.Second), now, LookLocal},
		{ModeBroadcast, now, never, LookIdle},
		{ModeBroadcast, now, now.Add(-time.Hour), LookIdle}, // the host is gone (see TestBroadcastModeHoldsTheLastFrame)
	}
	for _, c := range cases {
		if got := ChooseLook(c.mode, now, c.audio, c.leds); got != c.want {
			t.Errorf("%v audio %v leds %v: %v, want %v", c.mode, now.Sub(c.audio), now.Sub(c.leds), got, c.want)
		}
	}
}

func TestGarbageFeaturesNeverPanic(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	bad := &analysis.Features{NumNotes: 99, Level: nan, PeakHz: inf, Onset: true}
	for i := range bad.Notes {
		bad.Notes[i] = analysis.Note{MIDI: []int{-5, 500, 60, math.MaxInt}[i%4], Velocity: []float32{nan, inf, -1, 2}[i%4], Onset: true}
	}
	for i := range bad.Bands {
		bad.Bands[i] = []float32{nan, inf, -inf, 7}[i%4]
	}
	neg := &analysis.Features{NumNotes: -3}
	for _, e := range []Effect{EffectNotes, EffectPulse, EffectSpectrum} {
		for _, leds := range []int{1, 2, 7, 15, 300} {
			cfg := Config{Effect: e}
			r := newRenderer(t, cfg, Strip{LEDs: leds, Mirror: leds%2 == 1, RGBW: leds == 7})
			in := local(t0, Source{Musician: -4, Features: bad}, Source{Musician: 99, Features: neg}, Source{})
			in.Tempo = nan
			for k := range 5 {
				in.Now = t0.Add(time.Duration(k) * tick)
				render(t, r, in)
			}
			in.Now = t0.Add(-time.Hour) // clock stepped back
			render(t, r, in)
		}
	}
}

func TestRejects(t *testing.T) {
	for _, s := range []Strip{{LEDs: 0}, {LEDs: MaxLEDs + 1}, {LEDs: 10, Brightness: 2}, {LEDs: 10, MaxMilliamps: -1}, {LEDs: 3, Effect: 9}} {
		if _, err := NewRenderer(Config{}, s); !errors.Is(err, ErrBadStrip) {
			t.Errorf("strip %+v: err %v", s, err)
		}
	}
	for _, c := range []Config{{BrightnessCap: 1.5}, {Gamma: 9}, {PulseFloor: 1}, {NoteLow: 80, NoteHigh: 40}, {NoteWidth: -1}, {IdleBrightness: 2}, {Effect: 7}} {
		if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("config %+v: err %v", c, err)
		}
	}
	r := newRenderer(t, Config{}, Strip{LEDs: 10, RGBW: true})
	if _, err := r.Render(make([]byte, 39), Input{Now: t0}); !errors.Is(err, ErrShortFrame) {
		t.Errorf("short frame: %v", err)
	}
	for _, name := range []string{"notes", "pulse", "spectrum"} {
		if e, err := ParseEffect(name); err != nil || e.String() != name {
			t.Errorf("ParseEffect(%q) = %v, %v", name, e, err)
		}
	}
	if _, err := ParseEffect("strobe"); !errors.Is(err, ErrBadConfig) {
		t.Error("ParseEffect(strobe) accepted")
	}
}

func TestBlend(t *testing.T) {
	a, b := []byte{0, 100, 255}, []byte{255, 100, 0}
	dst := make([]byte, 3)
	blend(dst, a, b, 0)
	if string(dst) != string(a) {
		t.Errorf("t=0: %v", dst)
	}
	blend(dst, a, b, 1)
	if string(dst) != string(b) {
		t.Errorf("t=1: %v", dst)
	}
	blend(dst, a, b, 0.5)
	if dst[0] != 128 || dst[1] != 100 || dst[2] != 128 {
		t.Errorf("t=0.5: %v", dst)
	}
}

// Dark is a brightness that renders every LED off, on RGB and RGBW strips, whether it caps the
// whole strip or only the idle look; Instant is an envelope and a crossfade of no time.
func TestDarkAndInstantExplicitZeros(t *testing.T) {
	white := color.RGB{R: 255, G: 255, B: 255}
	for _, cfg := range []Config{
		{BrightnessCap: Dark, Idle: IdleSolid, IdleColor: white, IdleBrightness: 1},
		{BrightnessCap: 1, Idle: IdleSolid, IdleColor: white, IdleBrightness: Dark},
		{BrightnessCap: 1, Idle: IdleBreathing, IdleColor: white, IdleBrightness: Dark},
	} {
		for _, rgbw := range []bool{false, true} {
			strip := Strip{LEDs: 8, RGBW: rgbw}
			r := newRenderer(t, cfg, strip)
			frame := make([]byte, strip.FrameSize())
			for i := range 120 {
				if _, err := r.Render(frame, Input{Now: t0.Add(time.Duration(i) * tick), Look: LookIdle, Tempo: 120}); err != nil {
					t.Fatal(err)
				}
				for j, b := range frame {
					if b != 0 {
						t.Fatalf("cap %g, idle brightness %g, RGBW %v: byte %d is %d at tick %d, want dark", cfg.BrightnessCap, cfg.IdleBrightness, rgbw, j, b, i)
					}
				}
			}
		}
	}
	cfg, err := Config{Attack: Instant, Decay: Instant, Crossfade: Instant}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Attack >= 0 || cfg.Decay >= 0 || cfg.Crossfade >= 0 {
		t.Errorf("Instant was replaced by a default: %+v", cfg)
	}
}

// scaleColors is scaleFloat into 8-bit colours: src stretched over dst, one entry per LED.
func scaleColors(dst, src []color.RGB, mode Resample) {
	for i := range dst {
		dst[i] = resampleAt(src, i, len(dst), mode).RGB8()
	}
}

// blend writes into dst the byte-wise mix of two frames of equal length:
// t = 0 gives from, t = 1 gives to. For fading between Frames rendered
// elsewhere (the Renderer crossfades its own looks itself).
func blend(dst, from, to []byte, t float32) {
	t = color.Clamp01(t)
	k := uint32(t*256 + 0.5)
	n := min(len(dst), len(from), len(to))
	for i := range n {
		dst[i] = uint8((uint32(from[i])*(256-k) + uint32(to[i])*k + 128) >> 8)
	}
}

// lightness returns the HSL lightness of c.
func lightness(c color.RGBF) float32 { return (max(c.R, c.G, c.B) + min(c.R, c.G, c.B)) / 2 }
