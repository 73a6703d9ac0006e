package config

import (
	"fmt"
	"testing"
)

// The float32 effects keys are held to their documented bounds as float32: widened to float64,
// pulse_floor 0.999 read as 0.9990000128746033 and was refused although the example config
// documents 0.001–0.999.
func TestFloat32EffectsKeysTakeTheirDocumentedBounds(t *testing.T) {
	for _, tc := range []struct {
		key    string
		lo, hi string
	}{
		{"musician_hue_spread", "0", "360"},
		{"brightness_cap", "0", "1"},
		{"gamma", "0.1", "5"},
		{"pulse_floor", "0.001", "0.999"},
		{"note_width", "0.1", "24"},
		{"idle_brightness", "0", "1"},
		{"beats_per_breath", "0.25", "64"},
		{"led_idle_milliamps", "0", "10"},
		{"controller_milliamps", "0", "5000"},
	} {
		for _, v := range []string{tc.lo, tc.hi} {
			if _, err := loadFile(t, fmt.Sprintf("effects:\n  %s: %s\n", tc.key, v)); err != nil {
				t.Errorf("effects.%s: %s refused: %v", tc.key, v, err)
			}
		}
	}
	_, err := loadFile(t, "effects:\n  pulse_floor: 0.9991\n")
	wantKeyError(t, err, "effects.pulse_floor", "between 0.001 and 0.999", "got 0.9991)")
}
