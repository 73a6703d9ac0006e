package effect

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// A flash the guard refuses stays refused: when an old swing leaves the guard's second, the
// light it held back must not jump up then, off the beat with no hit (a drum kit's pulse was
// held at byte 32 for 5 frames, then jumped to 88 with no event). Only a new onset rises.
func TestRefusedFlashNeverComesBackLater(t *testing.T) {
	for _, every := range []int{7, 10, 13} { // hits 8.6, 6 and 4.6 times a second: the guard refuses some
		r := newRenderer(t, Config{Effect: EffectPulse}, Strip{LEDs: 60})
		prev := float32(0)
		var late []int
		for i := range 300 {
			hit := i%every == 0
			f := notes(analysis.Note{MIDI: 40 + i%24, Velocity: 0.9, Onset: hit})
			in := local(t0.Add(time.Duration(i)*tick), Source{Features: f})
			in.Tempo = 90
			y := frameLuminance(render(t, r, in), 3)
			if !hit && y-prev >= 0.02 {
				late = append(late, i)
			}
			prev = y
		}
		if len(late) > 0 {
			t.Errorf("hits every %d frames: the light rose with no hit at frames %v", every, late)
		}
	}
}

// A steady picture the guard held down after a strobe is not held dark for good: it comes up,
// as a fade, once the limit allows.
func TestHeldSteadyPictureFadesIn(t *testing.T) {
	white, black := []color.RGB{{R: 255, G: 255, B: 255}}, []color.RGB{{}}
	r := newRenderer(t, linear(), Strip{LEDs: 60})
	var ys []float32
	for i := range 300 {
		in := Input{Now: t0.Add(time.Duration(i) * tick), Look: LookBroadcast, Playing: true, Broadcast: white}
		if i < 60 && i/3%2 == 0 { // a 10 Hz strobe, then white held
			in.Broadcast = black
		}
		ys = append(ys, frameLuminance(render(t, r, in), 3))
	}
	if ys[len(ys)-1] < 0.99 {
		t.Fatalf("steady white 4 s after the strobe shows luminance %.2f", ys[len(ys)-1])
	}
	for i := 61; i < len(ys); i++ {
		if ys[i]-ys[i-1] >= 0.1 {
			t.Errorf("frame %d: steady white jumped from %.2f to %.2f, a flash", i, ys[i-1], ys[i])
		}
	}
}
