package effect

import (
	"fmt"
	"math"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/color"
)

// hueArc is the arc of hues one musician's notes show on a strip: from lo, width degrees on.
type hueArc struct{ lo, width float32 }

// shownMusicianArc renders every pitch class of an octave played by musician through a strip in
// the musician colour mode at gamma and the default brightness, and returns the arc of the hues
// its LEDs show (measured on the bytes sent, after gamma).
func shownMusicianArc(t *testing.T, musician, octave int, gamma float32) hueArc {
	t.Helper()
	cfg := Config{Palette: color.Palette{Mode: color.ModeMusician}, Gamma: gamma}
	var hues [12]float32
	for pc := range hues {
		r := newRenderer(t, cfg, Strip{LEDs: 300})
		midi := 12*(octave+1) + pc
		frame := render(t, r, local(t0, Source{Musician: musician, Features: notes(note(midi, 1, true))}))
		led := int(math.Round(notePosition(midi, 300)))
		var sat float32
		hues[pc], sat = color.HueOf(pixel(frame, led))
		if sat < 0.5 {
			t.Fatalf("musician %d pitch class %d shows %v: not a hue", musician, pc, frame[3*led:3*led+3])
		}
	}
	// The notes lie on one arc around the musician's hue: measure each from the first.
	lo, hi := float32(0), float32(0)
	for _, h := range hues {
		d := h - hues[0]
		d -= 360 * float32(math.Round(float64(d)/360)) // -180..180
		lo, hi = min(lo, d), max(hi, d)
	}
	return hueArc{lo: float32(math.Mod(float64(hues[0]+lo)+360, 360)), width: hi - lo}
}

// arcGap is how far apart two arcs of hue are, 0 when they overlap.
func arcGap(a, b hueArc) float32 {
	gap := func(from, to hueArc) float32 { // from the end of from, forward to the start of to
		return float32(math.Mod(float64(to.lo-(from.lo+from.width))+720, 360))
	}
	ab, ba := gap(a, b), gap(b, a)
	if ab+ba+a.width+b.width > 360.5 { // the two arcs and the gaps cover the wheel more than once: overlap
		return 0
	}
	return min(ab, ba)
}

// Every musician has a hue of their own that their notes move within, and any few musicians look
// clearly different on the strip: the arcs of hue the musicians' notes show never overlap and
// stay apart by at least the stated minimum, for the first 4 and for a full room of 8. (With a
// 60° pitch spread around golden-angle hues, musician 0's A# and musician 3's C were 1.8° apart.)
// It holds at any gamma a strip may be given, not only the default: with the hues laid out for
// gamma 2.2, at gamma 3.5 two musicians' notes showed 3.1° apart, at 5 on one hue. (Below
// gamma 1 no 8-bit strip can: a colour's middle channel is the 1/g-th power of the fraction of
// the sixth it shows, which rounds many hues to one byte at gamma 0.2, and at 0.5 the lightest
// octave washes out to near white.)
func TestMusiciansHueArcsStayApartOnTheStrip(t *testing.T) {
	for _, gamma := range []float32{1, 1.8, 2.2, 2.8, 3.5, 5} {
		for octave := 2; octave <= 6; octave++ {
			musicianArcsStayApart(t, gamma, octave)
		}
	}
}

// musicianArcsStayApart checks the arcs of the first 8 musicians' notes in one octave through a
// strip of one gamma.
func musicianArcsStayApart(t *testing.T, gamma float32, octave int) {
	t.Helper()
	var arcs []hueArc
	for m := range 8 {
		arcs = append(arcs, shownMusicianArc(t, m, octave, gamma))
	}
	for _, c := range []struct {
		musicians int
		minGap    float32
	}{{4, 20}, {8, 10}} {
		worst, wi, wj := float32(360), 0, 0
		for i := range c.musicians {
			for j := i + 1; j < c.musicians; j++ {
				if g := arcGap(arcs[i], arcs[j]); g < worst {
					worst, wi, wj = g, i, j
				}
			}
		}
		var desc string
		for _, a := range arcs[:c.musicians] {
			desc += fmt.Sprintf(" %.1f+%.1f", a.lo, a.width)
		}
		t.Logf("gamma %v, octave %d, %d musicians: arcs (start+width)%s; nearest pair %d and %d, %.1f° apart", gamma, octave, c.musicians, desc, wi, wj, worst)
		if worst < c.minGap {
			t.Errorf("gamma %v, octave %d, %d musicians: musicians %d and %d show hues %.1f° apart, want at least %v°", gamma, octave, c.musicians, wi, wj, worst, c.minGap)
		}
	}
	// Notes still move the hue: every musician's arc is a few degrees wide at least.
	for m, a := range arcs {
		if a.width < 10 {
			t.Errorf("gamma %v, octave %d: musician %d's notes span only %.1f°", gamma, octave, m, a.width)
		}
	}
}
