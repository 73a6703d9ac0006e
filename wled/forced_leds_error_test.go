package wled_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

// wled.CheckForcedLEDs says what was refused as a *wled.ForcedLEDsError, so that a caller can add to its
// one message (join's restart hint) without writing it again; it is still wled.ErrTooManyLEDs.
func TestCheckForcedLEDsReturnsForcedLEDsError(t *testing.T) {
	target, err := wled.ParseTarget("wled://10.0.0.7?leds=1500")
	if err != nil {
		t.Fatal(err)
	}
	err = wled.CheckForcedLEDs(target, wled.ProtocolDRGB)
	var forced *wled.ForcedLEDsError
	if !errors.As(err, &forced) {
		t.Fatalf("wled.CheckForcedLEDs = %v (%T), want a *wled.ForcedLEDsError", err, err)
	}
	if *forced != (wled.ForcedLEDsError{LEDs: 1500, Protocol: wled.ProtocolDRGB, Most: 490}) {
		t.Errorf("ForcedLEDsError = %+v, want LEDs 1500, Protocol drgb, Most 490", *forced)
	}
	if !errors.Is(err, wled.ErrTooManyLEDs) {
		t.Errorf("errors.Is(%v, wled.ErrTooManyLEDs) = false", err)
	}
	for _, want := range []string{"?leds=1500", "output.protocol drgb", "(490 LEDs)", "give ?leds=490 or fewer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if err := wled.CheckForcedLEDs(target, wled.ProtocolDNRGB); err != nil {
		t.Errorf("wled.CheckForcedLEDs under dnrgb = %v, want nil", err)
	}
}
