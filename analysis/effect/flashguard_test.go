package effect

import (
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// wcagChanges returns, for each of WCAG 2.3.1's two thresholds, the frames (60 a second) at which
// a strip's mean level makes a change that counts towards a flash: for the general flash, a swing
// of relative luminance of at least 0.1 from the last extreme, its darker state below 0.8; for
// the red flash, a swing of (R−G−B)·320 of at least 20 over the saturated red (at least 80 % of
// R+G+B) part of the strip. It reads bytes as linear duty, as an LED shows them.
func wcagChanges(frames [][]byte, bpp int) (general, red []int) {
	type level struct{ y, red float64 }
	measure := func(f []byte) level {
		var l level
		n := len(f) / bpp
		for i := 0; i < n; i++ {
			r, g, b := float64(f[i*bpp])/255, float64(f[i*bpp+1])/255, float64(f[i*bpp+2])/255
			if bpp == 4 {
				w := float64(f[i*bpp+3]) / 255
				r, g, b = r+w, g+w, b+w
			}
			l.y += (0.2126*r + 0.7152*g + 0.0722*b) / float64(n)
			if r > 0 && r >= 0.8*(r+g+b) {
				l.red += (r - g - b) * 320 / float64(n)
			}
		}
		return l
	}
	zigzag := func(get func(level) float64, step, darkBelow float64) []int {
		var out []int
		// hi and lo are the extremes since the last change (both, before the first).
		hi := get(measure(frames[0]))
		lo, dir := hi, 0
		for i, f := range frames[1:] {
			v := get(measure(f))
			hi, lo = max(hi, v), min(lo, v)
			switch {
			case dir >= 0 && hi-v >= step && v < darkBelow:
				out, dir, hi, lo = append(out, i+1), -1, v, v
			case dir <= 0 && v-lo >= step && lo < darkBelow:
				out, dir, hi, lo = append(out, i+1), 1, v, v
			}
		}
		return out
	}
	general = zigzag(func(l level) float64 { return l.y }, 0.1, 0.8)
	red = zigzag(func(l level) float64 { return l.red }, 20, math.Inf(1))
	return general, red
}

// mostFlashesInASecond is the largest number of flashes (pairs of opposing changes, changes/2)
// in any one second of frames, general or red: WCAG fails a second that holds more than 3 of
// either.
func mostFlashesInASecond(frames [][]byte, bpp int) float64 {
	general, red := wcagChanges(frames, bpp)
	most := 0
	for _, changes := range [][]int{general, red} {
		for i := range frames {
			n := 0
			for _, c := range changes {
				if c >= i && c < i+60 {
					n++
				}
			}
			most = max(most, n)
		}
	}
	return float64(most) / 2
}

// The reviewer's case: onsets 6 times a second (16th notes at 90 BPM) at velocity 0.8 flash the
// whole strip; no second may hold more than 3 flashes.
func TestPulseFlashesAtMostThreeTimesASecond(t *testing.T) {
	r := newRenderer(t, Config{Effect: EffectPulse}, Strip{LEDs: 300})
	var frames [][]byte
	for i := range 180 {
		f := notes(analysis.Note{MIDI: 64, Velocity: 0.8, Onset: i%10 == 0})
		f.Level = 0.2
		in := local(t0.Add(time.Duration(i)*tick), Source{Features: f})
		in.Tempo = 90
		frames = append(frames, render(t, r, in))
	}
	// The reviewer's own count: frame-to-frame rises of 0.1 in the second second.
	rises := 0
	for i := 61; i < 120; i++ {
		y0, y1 := frameLuminance(frames[i-1][:3], 3), frameLuminance(frames[i][:3], 3)
		if y1-y0 >= 0.1 {
			rises++
		}
	}
	if rises > 3 {
		t.Errorf("%d rises of 0.1 in one second (the reviewer's count)", rises)
	}
	if n := mostFlashesInASecond(frames, 3); n > 3 {
		t.Errorf("%v flashes in one second (WCAG 2.3.1: at most 3)", n)
	}
	// The guard holds rises back, it does not blank the effect: the pulse still moves.
	lo, hi := 1.0, 0.0
	for _, f := range frames[60:] {
		y := float64(frameLuminance(f, 3))
		lo, hi = min(lo, y), max(hi, y)
	}
	if hi-lo < 0.05 {
		t.Errorf("the held pulse swings only %.3f..%.3f", lo, hi)
	}
}

// A host strobing black and white led-update frames at 10 Hz in broadcast mode, on RGB and RGBW
// strips, and a dim saturated red strobe that luminance alone would not count.
func TestBroadcastStrobeIsHeldToThreeFlashesASecond(t *testing.T) {
	white, black, red := []color.RGB{{R: 255, G: 255, B: 255}}, []color.RGB{{}}, []color.RGB{{R: 110}}
	for _, c := range []struct {
		name  string
		strip Strip
		on    []color.RGB
	}{
		{"white", Strip{LEDs: 60}, white},
		{"white RGBW", Strip{LEDs: 60, RGBW: true}, white},
		{"dim red", Strip{LEDs: 60}, red},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRenderer(t, linear(), c.strip)
			var frames [][]byte
			lit := 0
			for i := range 240 {
				in := Input{Now: t0.Add(time.Duration(i) * tick), Look: LookBroadcast, Playing: true, Broadcast: black}
				if i/3%2 == 1 { // 3 frames on, 3 off: 10 Hz
					in.Broadcast = c.on
				}
				f := render(t, r, in)
				frames = append(frames, f)
				if frameLuminance(f, c.strip.BytesPerLED()) > 0 {
					lit++
				}
			}
			if n := mostFlashesInASecond(frames, c.strip.BytesPerLED()); n > 3 {
				t.Errorf("%v flashes in one second (WCAG 2.3.1: at most 3)", n)
			}
			if lit == 0 {
				t.Error("the strobe was blacked out altogether")
			}
		})
	}
}

// Identify's 2 Hz white blink (2 flashes a second) and a steady picture are under the limit:
// the guard leaves them as they are, drawn over a rendered frame with Overlay.
func TestIdentifyBlinkPassesTheFlashGuard(t *testing.T) {
	r := newRenderer(t, Config{Effect: EffectPulse}, Strip{LEDs: 30})
	var frames [][]byte
	for i := range 300 {
		now := t0.Add(time.Duration(i) * tick)
		// The rendered pulse strobes under the blink, as a drum kit would.
		f := render(t, r, local(now, Source{Features: notes(note(64, 0.9, i%8 == 0))}))
		v := byte(0)
		if i/15%2 == 0 { // 250 ms on, 250 ms off
			v = 255
		}
		for k := range f {
			f[k] = v
		}
		r.Overlay(f)
		want := byte(float32(v)*DefaultBrightnessCap + 0.5)
		if f[0] != want {
			t.Fatalf("frame %d: identify drawn as %d, want %d", i, f[0], want)
		}
		frames = append(frames, f)
	}
	if n := mostFlashesInASecond(frames, 3); n != 2 {
		t.Errorf("identify blinks %v times a second, want 2", n)
	}
}

func TestFlashGuardAllocatesNothing(t *testing.T) {
	r := newRenderer(t, Config{}, Strip{LEDs: 300, RGBW: true})
	frame := make([]byte, r.Strip().FrameSize())
	white, black := []color.RGB{{R: 255, G: 255, B: 255}}, []color.RGB{{}}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		in := Input{Now: t0.Add(time.Duration(i) * tick), Look: LookBroadcast, Playing: true, Broadcast: black}
		if i%4 < 2 {
			in.Broadcast = white
		}
		i++
		if _, err := r.Render(frame, in); err != nil {
			t.Fatal(err)
		}
		r.Overlay(frame)
	})
	if allocs != 0 {
		t.Fatalf("a guarded frame allocates %v times", allocs)
	}
}

// The guard holds whatever look strobes: the notes effect with wide notes struck and released
// 8 times a second over most of the strip, and spectrum bars jumping full and empty as often.
func TestNotesAndSpectrumStrobesAreHeldToThreeFlashesASecond(t *testing.T) {
	cfg := Config{Attack: Instant, Decay: Instant, NoteWidth: 24}
	for _, e := range []Effect{EffectNotes, EffectSpectrum} {
		cfg.Effect = e
		r := newRenderer(t, cfg, Strip{LEDs: 60})
		var frames [][]byte
		for i := range 240 {
			f := &analysis.Features{}
			if on := i%8 < 4; on { // 4 frames on, 4 off: 7.5 Hz
				*f = *notes(note(52, 1, i%8 == 0), note(64, 1, i%8 == 0), note(76, 1, i%8 == 0))
				for b := range f.Bands {
					f.Bands[b] = 1
				}
			}
			frames = append(frames, render(t, r, local(t0.Add(time.Duration(i)*tick), Source{Features: f})))
		}
		if n := mostFlashesInASecond(frames, 3); n > 3 {
			t.Errorf("%v: %v flashes in one second (WCAG 2.3.1: at most 3)", e, n)
		}
	}
}

// Strobes the red rule catches and luminance does not, straight into the guard at 10 Hz (3
// frames on, 3 off) over a whole 300-LED strip: red↔white and red↔yellow (saturated red scores
// no higher than white in luminance, so folding red into it hid the flash), a red changing only
// in brightness, and luminance strobes as controls.
func TestFlashGuardHoldsRedAndLuminanceStrobesApart(t *testing.T) {
	const leds = 300
	fill := func(f []byte, bpp int, c ...byte) {
		for i := 0; i+bpp <= len(f); i += bpp {
			copy(f[i:i+bpp], c)
		}
	}
	for _, c := range []struct {
		name    string
		bpp     int
		on, off []byte
	}{
		{"white↔black", 3, []byte{255, 255, 255}, []byte{0, 0, 0}},
		{"white↔black by RGBW's W", 4, []byte{0, 0, 0, 255}, []byte{0, 0, 0, 0}},
		{"red↔white", 3, []byte{255, 0, 0}, []byte{255, 255, 255}},
		{"red↔yellow", 3, []byte{255, 0, 0}, []byte{255, 255, 0}},
		{"red 255↔140", 3, []byte{255, 0, 0}, []byte{140, 0, 0}},
		{"red↔black", 3, []byte{255, 0, 0}, []byte{0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var g flashGuard
			var frames [][]byte
			held := 0
			for i := range 180 {
				f := make([]byte, leds*c.bpp)
				if i/3%2 == 0 {
					fill(f, c.bpp, c.on...)
				} else {
					fill(f, c.bpp, c.off...)
				}
				if g.apply(f, c.bpp, t0.Add(time.Duration(i)*tick)) {
					held++
				}
				frames = append(frames, f)
			}
			if n := mostFlashesInASecond(frames, c.bpp); n > 3 {
				t.Errorf("%v flashes in one second (WCAG 2.3.1: at most 3); %d frames held", n, held)
			}
			if held == 0 {
				t.Error("nothing held")
			}
		})
	}
	// A ramp up over 5 frames and a cut, 6 times a second: the rise is gradual, still a flash.
	var g flashGuard
	var frames [][]byte
	for i := range 180 {
		f := make([]byte, leds*3)
		if p := i % 10; p < 5 {
			v := byte(51 * (p + 1))
			fill(f, 3, v, v, v)
		}
		g.apply(f, 3, t0.Add(time.Duration(i)*tick))
		frames = append(frames, f)
	}
	if n := mostFlashesInASecond(frames, 3); n > 3 {
		t.Errorf("ramp and cut: %v flashes in one second (WCAG 2.3.1: at most 3)", n)
	}
}

// The same through Render: a host strobing red and white broadcast frames at 10 Hz, and the
// default pulse on 6 onsets a second alternating a C4 (red in the note colours) with another
// note, whose colour changes are red flashes though its brightness barely moves.
func TestRenderedRedStrobesAreHeldToThreeFlashesASecond(t *testing.T) {
	r := newRenderer(t, linear(), Strip{LEDs: 60})
	var frames [][]byte
	for i := range 240 {
		in := Input{Now: t0.Add(time.Duration(i) * tick), Look: LookBroadcast, Playing: true, Broadcast: []color.RGB{{R: 255}}}
		if i/3%2 == 1 {
			in.Broadcast = []color.RGB{{R: 255, G: 255, B: 255}}
		}
		frames = append(frames, render(t, r, in))
	}
	if n := mostFlashesInASecond(frames, 3); n > 3 {
		t.Errorf("broadcast red↔white: %v flashes in one second (WCAG 2.3.1: at most 3)", n)
	}
	for _, other := range []int{64, 67, 66} {
		r := newRenderer(t, Config{Effect: EffectPulse}, Strip{LEDs: 300})
		var frames [][]byte
		for i := range 240 {
			m := 60
			if i/10%2 == 1 {
				m = other
			}
			f := notes(analysis.Note{MIDI: m, Velocity: 0.8, Onset: i%10 == 0})
			f.Level = 0.2
			in := local(t0.Add(time.Duration(i)*tick), Source{Features: f})
			in.Tempo = 90
			frames = append(frames, render(t, r, in))
		}
		if n := mostFlashesInASecond(frames, 3); n > 3 {
			t.Errorf("pulse alternating MIDI 60 and %d: %v flashes in one second (WCAG 2.3.1: at most 3)", other, n)
		}
	}
}

// A host strobing the strip's halves in antiphase at 10 Hz (white on one, black on the other,
// then the other way) keeps the whole strip's mean steady while each half flashes 10 times a
// second; so does a red and white pair of halves. Each half, and each quarter, is held to 3.
func TestFlashGuardHoldsHalvesStrobingInAntiphase(t *testing.T) {
	const leds = 300
	for _, c := range []struct {
		name    string
		on, off []byte
	}{
		{"white/black", []byte{255, 255, 255}, []byte{0, 0, 0}},
		{"red/white", []byte{255, 0, 0}, []byte{255, 255, 255}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var g flashGuard
			var frames [][]byte
			for i := range 180 {
				f := make([]byte, leds*3)
				for led := range leds {
					col := c.off
					if (led < leds/2) == (i/3%2 == 0) {
						col = c.on
					}
					copy(f[led*3:], col)
				}
				g.apply(f, 3, t0.Add(time.Duration(i)*tick))
				frames = append(frames, f)
			}
			for _, part := range []struct{ from, to int }{{0, 150}, {150, 300}, {0, 75}, {75, 150}, {150, 225}, {225, 300}, {0, 300}} {
				sub := make([][]byte, len(frames))
				for i, f := range frames {
					sub[i] = f[part.from*3 : part.to*3]
				}
				if n := mostFlashesInASecond(sub, 3); n > 3 {
					t.Errorf("LEDs %d–%d: %v flashes in one second (WCAG 2.3.1: at most 3)", part.from, part.to, n)
				}
			}
		})
	}
}

// The test pattern's rainbow, drifting once round in 4 s, flashes nowhere: the guard, parts and
// all, leaves it as it is (one LED crossing the 80 % red line is a step of the red measure, which
// a part of a few LEDs must not take for a flash: see partRedFlash). On a strip of 10 LEDs that step is a tenth of
// the strip, 24 of the whole strip's red measure, 5 times a second: the red rule counts it there.
func TestFlashGuardLeavesADriftingRainbowAlone(t *testing.T) {
	for _, leds := range []int{30, 64, 100, 300} {
		var g flashGuard
		for i := range 300 {
			f := make([]byte, leds*3)
			for led := range leds {
				c := color.HSV(float32(i)*360/240+float32(led)*360/float32(leds), 1, 1).RGB8()
				f[led*3], f[led*3+1], f[led*3+2] = c.R, c.G, c.B
			}
			if g.apply(f, 3, t0.Add(time.Duration(i)*tick)) {
				t.Errorf("%d LEDs: the rainbow held at frame %d", leds, i)
				break
			}
		}
	}
}

// windowFlashes is an independent count of WCAG 2.3.1 flashes, kept apart from wcagChanges to
// check it: over a run of levels, one a frame, a change is a move of at least step from the
// extreme since the last change, opposite to the last change, its darker state under
// darkBelow; it returns the most flashes (changes/2) in any 60 frames.
func windowFlashes(levels []float64, step, darkBelow float64) float64 {
	var changes []int
	lo, hi, dir := levels[0], levels[0], 0
	for i := 1; i < len(levels); i++ {
		v := levels[i]
		hi, lo = max(hi, v), min(lo, v)
		switch {
		case dir != 1 && v-lo >= step && lo < darkBelow:
			changes, dir, lo, hi = append(changes, i), 1, v, v
		case dir != -1 && hi-v >= step && v < darkBelow:
			changes, dir, lo, hi = append(changes, i), -1, v, v
		case dir == 1:
			lo = v // after a rise only a fall from the peak counts
		case dir == -1:
			hi = v
		}
	}
	most := 0
	for a := range changes {
		n := 0
		for b := a; b < len(changes) && changes[b]-changes[a] < 60; b++ {
			n++
		}
		most = max(most, n)
	}
	return float64(most) / 2
}

// worstQuarterRun is the most flashes in any one second, general or red, in any run of LEDs a
// quarter of the strip long, wherever it starts: counted by windowFlashes over every such run,
// and by mostFlashesInASecond over the quarters and runs every few LEDs. It names the run.
func worstQuarterRun(frames [][]byte, bpp int) (most float64, from int) {
	leds := len(frames[0]) / bpp
	width := max(leds/4, 1)
	// Prefix sums of each LED's levels, per frame, so every run's mean is two lookups.
	y, red := make([][]float64, len(frames)), make([][]float64, len(frames))
	for i, f := range frames {
		y[i], red[i] = make([]float64, leds+1), make([]float64, leds+1)
		for led := range leds {
			r, g, b := float64(f[led*bpp])/255, float64(f[led*bpp+1])/255, float64(f[led*bpp+2])/255
			if bpp == 4 {
				w := float64(f[led*bpp+3]) / 255
				r, g, b = r+w, g+w, b+w
			}
			ly, lr := 0.2126*r+0.7152*g+0.0722*b, 0.0
			if r > 0 && r/(r+g+b) >= 0.8 {
				lr = (r - g - b) * 320
			}
			y[i][led+1], red[i][led+1] = y[i][led]+ly, red[i][led]+lr
		}
	}
	ys, reds := make([]float64, len(frames)), make([]float64, len(frames))
	for a := 0; a+width <= leds; a++ {
		for i := range frames {
			ys[i] = (y[i][a+width] - y[i][a]) / float64(width)
			reds[i] = (red[i][a+width] - red[i][a]) / float64(width)
		}
		n := max(windowFlashes(ys, 0.1, 0.8), windowFlashes(reds, 20, math.Inf(1)))
		if a%max(leds/40, 1) == 0 || a%width == 0 {
			sub := make([][]byte, len(frames))
			for i, f := range frames {
				sub[i] = f[a*bpp : (a+width)*bpp]
			}
			n = max(n, mostFlashesInASecond(sub, bpp))
		}
		if n > most {
			most, from = n, a
		}
	}
	return most, from
}

// Strobes at 10 Hz (3 frames on, 3 off) that keep the whole strip's level steady while a part
// of it flashes: halves, quarters and bars in antiphase, red against black or a darker red,
// lights straddling the quarters' boundaries; on strips from 30 LEDs, where a quarter (7 LEDs)
// was too short for the red rule and a half (15) was never judged by it. No run of LEDs a
// quarter of the strip long may flash more than 3 times a second, by either count.
func TestFlashGuardHoldsEveryQuarterLengthRun(t *testing.T) {
	red, darkRed, white, black := []byte{255, 0, 0}, []byte{140, 0, 0}, []byte{255, 255, 255}, []byte{0, 0, 0}
	on := func(i int) bool { return i/3%2 == 0 }
	type pattern func(i, led, leds int) []byte
	antiphase := func(first func(led, leds int) bool, lit, dark []byte) pattern {
		return func(i, led, leds int) []byte {
			if first(led, leds) == on(i) {
				return lit
			}
			return dark
		}
	}
	half := func(led, leds int) bool { return led < leds/2 }
	quarter := func(led, leds int) int { return led * 4 / leds }
	// twoBars lights [a, b) then [c, d) of the strip's length, and nothing else.
	twoBars := func(a, b, c, d float64, lit []byte) pattern {
		return func(i, led, leds int) []byte {
			x := float64(led) / float64(leds)
			if on(i) && x >= a && x < b || !on(i) && x >= c && x < d {
				return lit
			}
			return black
		}
	}
	cases := []struct {
		name string
		p    pattern
	}{
		{"halves red/black", antiphase(half, red, black)},
		{"halves red 255/140", antiphase(half, red, darkRed)},
		{"halves white/black", antiphase(half, white, black)},
		{"adjacent quarters red/dark red", func(i, led, leds int) []byte {
			if q := quarter(led, leds); on(i) && q == 1 || !on(i) && q == 2 {
				return red
			}
			return darkRed
		}},
		{"adjacent quarters white/black", func(i, led, leds int) []byte {
			if q := quarter(led, leds); on(i) && q == 1 || !on(i) && q == 2 {
				return white
			}
			return black
		}},
		{"a bar jumping between quarters", func(i, led, leds int) []byte {
			if q := quarter(led, leds); on(i) && q == 0 || !on(i) && q == 2 {
				return white
			}
			return black
		}},
		// The reviewer's: a white bar over LEDs 37–112 of 300, then 187–262: half of each of
		// two quarters, under a counted swing in both, 10 flashes a second over the bar.
		{"bars straddling the quarters", twoBars(0.125, 0.375, 0.625, 0.875, white)},
		{"red bars straddling the quarters", twoBars(0.125, 0.375, 0.625, 0.875, red)},
		{"bars a sixteenth off the parts", twoBars(0.0625, 0.3125, 0.5625, 0.8125, white)},
	}
	for _, c := range cases {
		for _, leds := range []int{30, 60, 100, 300} {
			var g flashGuard
			var frames [][]byte
			for i := range 240 {
				f := make([]byte, leds*3)
				for led := range leds {
					copy(f[led*3:], c.p(i, led, leds))
				}
				g.apply(f, 3, t0.Add(time.Duration(i)*tick))
				frames = append(frames, f)
			}
			if n, from := worstQuarterRun(frames, 3); n > 3 {
				t.Errorf("%s, %d LEDs: %v flashes in one second over LEDs %d–%d (WCAG 2.3.1: at most 3)", c.name, leds, n, from, from+leds/4)
			}
			if n := mostFlashesInASecond(frames, 3); n > 3 {
				t.Errorf("%s, %d LEDs: the whole strip flashes %v times in one second", c.name, leds, n)
			}
		}
	}
}

// Strips shorter than the guard's eighths (some eighths empty) strobing white and red: nothing
// panics, and the whole strip is held to 3 flashes a second.
func TestFlashGuardHoldsStripsOfAFewLEDs(t *testing.T) {
	for leds := 1; leds <= 9; leds++ {
		for _, lit := range [][]byte{{255, 255, 255}, {255, 0, 0}} {
			var g flashGuard
			var frames [][]byte
			for i := range 180 {
				f := make([]byte, leds*3)
				for led := range leds {
					if (led%2 == 0) == (i/3%2 == 0) {
						copy(f[led*3:], lit)
					}
				}
				g.apply(f, 3, t0.Add(time.Duration(i)*tick))
				frames = append(frames, f)
			}
			if n := mostFlashesInASecond(frames, 3); n > 3 {
				t.Errorf("%d LEDs, %v: %v flashes in one second", leds, lit, n)
			}
		}
	}
}

// frameLuminance is a frame's mean relative luminance, 0–1.
func frameLuminance(frame []byte, bpp int) float32 {
	var m frameLevels
	m.measure(frame, bpp)
	return m.whole.y
}
