package color_test

import (
	"fmt"

	"github.com/ledbridge/ledbridge/analysis/color"
)

// The status page colours a note as the strips do by asking the same Palette;
// the colour is before gamma, which is right for a screen.
func ExamplePalette_NoteRGB() {
	notes := color.Palette{Mode: color.ModeNote}
	fmt.Println("C4", notes.NoteRGB(0, 60).Hex())
	fmt.Println("A4", notes.NoteRGB(0, 69).Hex())
	fmt.Println("A5", notes.NoteRGB(0, 81).Hex()) // an octave up: lighter

	musicians := color.Palette{Mode: color.ModeMusician}
	fmt.Println("musician 1 A4", musicians.NoteRGB(1, 69).Hex())
	// Output:
	// C4 #ff0000
	// A4 #8000ff
	// A5 #9429ff
	// musician 1 A4 #00ffa8
}

func ExampleParseColors() {
	colors, err := color.ParseColors([]byte(`["#ff8000", {"r": 0, "g": 64, "b": 255}]`), make([]color.RGB, 0, color.MaxColors))
	fmt.Println(colors, err)
	_, err = color.ParseColors([]byte(`[{"r": 300, "g": 0, "b": 0}]`), nil)
	fmt.Println(err)
	// Output:
	// [{255 128 0} {0 64 255}] <nil>
	// color: parse colors: entry 0 (byte 10): r is above 255: led-update colour must be "#rrggbb" or {r,g,b} with integers 0–255
}
