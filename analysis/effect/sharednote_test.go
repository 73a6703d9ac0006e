package effect

import (
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
)

// Two musicians hold the same note, one with a ±10 % tremolo (±0.8 dB, ±0.014 of velocity): the
// note keeps one musician's colour instead of flipping to whichever is a hair louder this frame
// (26 switches in 3.5 s, one-frame blips). A musician clearly louder takes the note over.
func TestSharedNoteKeepsItsMusiciansColour(t *testing.T) {
	cfg := linear()
	cfg.Palette.Mode = color.ModeMusician
	r := newRenderer(t, cfg, Strip{LEDs: 200})
	hue0, _ := color.HueOf(cfg.Palette.ForGamma(cfg.Gamma).Note(0, 57))
	hue1, _ := color.HueOf(cfg.Palette.ForGamma(cfg.Gamma).Note(1, 57))
	led := int(math.Round(notePosition(57, 200)))
	owner := func(frame []byte) int {
		h, _ := color.HueOf(pixel(frame, led))
		if hueDistance(h, hue0) < hueDistance(h, hue1) {
			return 0
		}
		return 1
	}
	var owners []int
	for i := range 210 { // 3.5 s
		tremolo := 0.0139 * float32(math.Sin(2*math.Pi*2*float64(i)/60))
		steady, wavering := notes(note(57, 0.7, i == 0)), notes(note(57, 0.7+tremolo, i == 0))
		frame := render(t, r, local(t0.Add(time.Duration(i)*tick), Source{Musician: 0, Features: steady}, Source{Musician: 1, Features: wavering}))
		owners = append(owners, owner(frame))
	}
	switches := 0
	for i := 1; i < len(owners); i++ {
		if owners[i] != owners[i-1] {
			switches++
		}
	}
	if switches > 0 {
		t.Errorf("the shared A3 changed musician colour %d times in 3.5 s: %v", switches, owners)
	}
	// Musician 1 now plays clearly louder (+6 dB): the note takes its colour at once.
	other := 1 - owners[len(owners)-1]
	loud := [2]float32{0.7, 0.7}
	loud[other] = 0.8
	frame := render(t, r, local(t0.Add(210*tick), Source{Musician: 0, Features: notes(note(57, loud[0], false))}, Source{Musician: 1, Features: notes(note(57, loud[1], false))}))
	if got := owner(frame); got != other {
		t.Errorf("musician %d played the note 6 dB louder, the note kept musician %d's colour", other, got)
	}
}
