package config

import (
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

// The configuration check refuses a wled:// line's LED count above the forced protocol's with
// wled.CheckForcedLEDs's own message, not a copy of it.
func TestForcedLEDsRefusalIsCheckForcedLEDsMessage(t *testing.T) {
	_, err := loadFile(t, "output:\n  protocol: drgb\ndevices: [\"wled://10.0.0.5?leds=1500\"]\n")
	target, _ := wled.ParseTarget("wled://10.0.0.5?leds=1500")
	want := wled.CheckForcedLEDs(target, wled.ProtocolDRGB)
	if err == nil || want == nil || !strings.Contains(err.Error(), want.Error()) {
		t.Errorf("Load = %v, want it to carry %v", err, want)
	}
}
