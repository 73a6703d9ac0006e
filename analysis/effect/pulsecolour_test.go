package effect

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
)

// pulseHue is the hue of a pulse frame's LED 0.
func pulseHue(frame []byte) float32 {
	h, _ := color.HueOf(pixel(frame, 0))
	return h
}

// A pulse flashes the note just played, not a louder note held under it (the reviewer's case:
// D#4 played over a held C3), and keeps that colour as it decays, whatever is held.
func TestPulseFlashesThePlayedNotesColour(t *testing.T) {
	cfg := linear()
	cfg.Effect = EffectPulse
	r := newRenderer(t, cfg, Strip{LEDs: 10})
	c3, ds4 := color.PitchClassHue(0), color.PitchClassHue(3)
	f := notes(note(48, 0.75, false), note(63, 0.73, true)) // C3 held (louder), D#4 played
	f.Level = 0.2
	frame := render(t, r, local(t0, Source{Features: f}))
	if h := pulseHue(frame); hueDistance(h, ds4) > 10 {
		t.Fatalf("pulse flashed hue %.0f (C3's is %.0f), want the played D#4's %.0f", h, c3, ds4)
	}
	// The flash decays with both notes held, the held C3 now louder still: no recolouring.
	for k := 1; k < 20; k++ {
		f := notes(note(48, 0.9, false), note(63, 0.7, false))
		frame = render(t, r, local(t0.Add(time.Duration(k)*tick), Source{Features: f}))
		if h := pulseHue(frame); hueDistance(h, ds4) > 10 {
			t.Fatalf("frame %d of the flash: hue %.0f, want D#4's %.0f throughout", k, h, ds4)
		}
	}
}

// A hit heard before its pitch (spectral onset, a note held under it) flashes the spectral peak's
// colour; the played note arriving within provisionalHold recolours it, the held one never does,
// and after the first frames nothing does.
func TestPulseRecoloursOnlyAsThePlayedPitchArrives(t *testing.T) {
	cfg := linear()
	cfg.Effect = EffectPulse
	r := newRenderer(t, cfg, Strip{LEDs: 10})
	c3, g4 := color.PitchClassHue(0), color.PitchClassHue(7)
	held := note(48, 0.8, false)
	hit := notes(held)
	hit.Onset, hit.Attack, hit.Level, hit.PeakHz = true, true, 0.5, 1245 // D#6: neither note's colour
	peak, _ := color.HueOf(color.Palette{}.Freq(0, hit.PeakHz))
	if hueDistance(peak, c3) < 20 || hueDistance(peak, g4) < 20 {
		t.Fatalf("the peak's hue %.0f is a note's: the test proves nothing", peak)
	}
	if h := pulseHue(render(t, r, local(t0, Source{Features: hit}))); hueDistance(h, peak) > 5 {
		t.Errorf("the hit flashed hue %.0f, want the spectral peak's %.0f (C3, held, is %.0f)", h, peak, c3)
	}
	// The next tick: the spectral onset again, the pitch not yet known; C3 still held.
	again := notes(held)
	again.Onset, again.Level, again.PeakHz = true, 0.5, 1245
	if h := pulseHue(render(t, r, local(t0.Add(tick), Source{Features: again}))); hueDistance(h, peak) > 5 {
		t.Errorf("second frame of the hit: hue %.0f, want the peak's %.0f until the pitch arrives", h, peak)
	}
	// The played G4 arrives (quieter than the held C3): it colours the flash.
	frame := render(t, r, local(t0.Add(2*tick), Source{Features: notes(held, note(67, 0.6, true))}))
	if h := pulseHue(frame); hueDistance(h, g4) > 10 {
		t.Fatalf("G4 arrived: hue %.0f, want G4's %.0f", h, g4)
	}
	// Later: an onset-less frame and a quieter new note leave it as it is.
	for k := 3; k < 12; k++ {
		f := notes(held, note(67, 0.6, false))
		if k == 8 {
			f = notes(held, note(64, 0.1, true))
		}
		if h := pulseHue(render(t, r, local(t0.Add(time.Duration(k)*tick), Source{Features: f}))); hueDistance(h, g4) > 10 {
			t.Fatalf("frame %d: hue %.0f, want G4's %.0f", k, h, g4)
		}
	}
}
