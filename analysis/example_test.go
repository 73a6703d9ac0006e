package analysis_test

import (
	"fmt"
	"math"

	"github.com/ledbridge/ledbridge/analysis"
)

// A source writes PCM in blocks of any size as it arrives; the 60 fps loop
// asks for one frame per tick.
func Example() {
	a, err := analysis.New(analysis.Config{}) // zero Config: all defaults, A4 = 440 Hz
	if err != nil {
		panic(err)
	}
	n := 0
	tone := func(block []float32) []float32 { // A3, 220 Hz
		for j := range block {
			block[j] = float32(0.5 * math.Sin(2*math.Pi*220*float64(n)/analysis.SampleRate))
			n++
		}
		return block
	}
	packet := make([]float32, 480) // 10 ms packets
	var f analysis.Features
	for tick := 0; tick < 18; tick++ { // 0.3 s
		for n < (tick+1)*analysis.SampleRate/analysis.FrameRate {
			a.Write(tone(packet[:min(len(packet), (tick+1)*800-n)]))
		}
		a.Frame(&f)
	}
	for _, note := range f.ActiveNotes() {
		fmt.Printf("t=%.2fs %s (MIDI %d) %.0f Hz\n", f.T, analysis.NoteName(note.MIDI), note.MIDI, note.Hz)
	}
	// Output: t=0.30s A3 (MIDI 57) 220 Hz
}
