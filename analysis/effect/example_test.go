package effect_test

import (
	"fmt"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/effect"
)

// One tick: a musician plays A4; a 12-LED strip shows it in pitch class A's
// colour (violet) where A4 sits between the configured lowest and highest note.
func ExampleRenderer_Render() {
	r, err := effect.NewRenderer(effect.Config{Gamma: 1, BrightnessCap: 1}, effect.Strip{LEDs: 12})
	if err != nil {
		panic(err)
	}
	f := analysis.Features{NumNotes: 1, Level: 0.5}
	f.Notes[0] = analysis.Note{MIDI: 69, Hz: 440, Velocity: 1, Onset: true}
	frame := make([]byte, r.Strip().FrameSize())
	n, _ := r.Render(frame, effect.Input{
		Now:     time.Unix(0, 0),
		Look:    effect.LookLocal,
		Playing: true,
		Sources: []effect.Source{{Musician: 0, Features: &f}},
	})
	for i := 0; i < n; i += 3 {
		if frame[i]|frame[i+1]|frame[i+2] != 0 {
			fmt.Printf("LED %d: #%02x%02x%02x\n", i/3, frame[i], frame[i+1], frame[i+2])
		}
	}
	// Output:
	// LED 6: #8000ff
	// LED 7: #45008b
}
