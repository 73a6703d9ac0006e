package effect

import (
	"fmt"
	"strconv"
	"strings"
)

// GlobalLook is DescribeLook's word for a strip no strips: entry names: it has the global look.
const GlobalLook = "global"

// DescribeLook names the look of the strips: entry at index entry in a few words, the one
// spelling of it that `ledbridge discover`'s LOOK column and the status page share:
// "strips[1]: pulse, brightness 0.5, reverse". Only what the entry sets is named (zero fields keep
// the global look); look.MaxMilliamps is named only when ownMaxMilliamps says the entry sets it
// (0 then turns the limit off: "0 mA"). An entry that sets nothing reads "as global".
func DescribeLook(entry int, look Strip, ownMaxMilliamps bool) string {
	var parts []string
	if look.Effect != EffectUnknown {
		parts = append(parts, look.Effect.String())
	}
	if look.ColorMode != 0 {
		parts = append(parts, look.ColorMode.String())
	}
	if b := look.Brightness; b != 0 {
		if b == Dark { // how a written 0 reaches the renderer
			b = 0
		}
		parts = append(parts, "brightness "+strconv.FormatFloat(float64(b), 'g', 3, 32))
	}
	if ownMaxMilliamps {
		parts = append(parts, strconv.FormatFloat(float64(look.MaxMilliamps), 'f', -1, 32)+" mA")
	}
	if look.Reverse {
		parts = append(parts, "reverse")
	}
	if look.Mirror {
		parts = append(parts, "mirror")
	}
	if len(parts) == 0 {
		parts = append(parts, "as global")
	}
	return fmt.Sprintf("strips[%d]: %s", entry, strings.Join(parts, ", "))
}
