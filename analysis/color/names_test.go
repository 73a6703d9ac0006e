package color

import (
	"slices"
	"testing"
)

// ModeNames is what ParseMode reads: every name parses to a mode that prints as it, and every mode
// prints as a listed name (bridge/config offers the list as effects.color_mode's choices).
func TestModeNamesAreWhatParseModeReads(t *testing.T) {
	for _, n := range ModeNames {
		if m, err := ParseMode(n); err != nil || m.String() != n {
			t.Errorf("ParseMode(%q) = %v, %v", n, m, err)
		}
	}
	for _, m := range []Mode{ModeNote, ModeMusician, ModeSpectrum} {
		if !slices.Contains(ModeNames, m.String()) {
			t.Errorf("ModeNames lacks %q", m)
		}
	}
}
