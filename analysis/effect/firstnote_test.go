package effect

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
)

// Auto mode at the start of a song: the look switches idle → local on the tick the first note
// arrives. That note must light at once as brightly as it would with local shown all along; the
// idle look fades out beneath it.
func TestFirstNoteAfterIdleLightsAtOnce(t *testing.T) {
	trace := func(fromIdle bool) (e4, idleLED []byte) {
		r := newRenderer(t, Config{}, Strip{LEDs: 300})
		frame := make([]byte, 900)
		look := LookLocal
		if fromIdle {
			look = LookIdle
		}
		i := 0
		for ; i < 120; i++ {
			if _, err := r.Render(frame, Input{Now: t0.Add(time.Duration(i) * tick), Look: look, Playing: true}); err != nil {
				t.Fatal(err)
			}
		}
		var f analysis.Features
		f.Level, f.NumNotes = 0.3, 1
		f.Notes[0] = analysis.Note{MIDI: 64, Velocity: 0.8, Onset: true}
		const led = 149 // E4's LED
		for k := 0; k < 24; k++ {
			if _, err := r.Render(frame, Input{Now: t0.Add(time.Duration(i+k) * tick), Look: LookLocal, Playing: true, Sources: []Source{{Features: &f}}}); err != nil {
				t.Fatal(err)
			}
			f.Notes[0].Onset = false
			e4 = append(e4, frame[led*3+1])
			idleLED = append(idleLED, frame[0])
		}
		return e4, idleLED
	}
	want, _ := trace(false)
	got, idle := trace(true)
	t.Logf("E4's green byte from local %v, from idle %v", want, got)
	for k := range want {
		if int(got[k]) < int(want[k])-1 {
			t.Fatalf("frame %d after the switch from idle: E4 at %d, local all along %d", k, got[k], want[k])
		}
	}
	// LED 0 (no note there) shows the idle look fading out, not cut.
	if !(idle[0] > 0 && idle[0] >= idle[8] && idle[23] == 0) {
		t.Errorf("the idle look under the note went %v: want a fade to dark", idle)
	}
}
