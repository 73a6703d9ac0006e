package wled_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// An explicit ?leds= is the operator's word on the strip's length: a forced DRGB or WARLS that
// cannot carry that many is refused with the reason, as drgb://…?leds=491 is, not driven at its
// limit without a word. Without ?leds the device's own count is clamped (the caller warns).
func TestForcedProtocolRefusesAnExplicitLEDCountItCannotCarry(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{LEDs: 1500})
	var c wled.Client
	for _, tc := range []struct {
		forced wled.Protocol
		most   string
	}{{wled.ProtocolDRGB, "490"}, {wled.ProtocolWARLS, "255"}, {wled.ProtocolDRGBW, "367"}} {
		tg, err := wled.ParseTarget(fake.URL() + "&leds=1500")
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := c.CompleteAs(context.Background(), tg, tc.forced)
		if err == nil {
			t.Errorf("%v: CompleteAs(?leds=1500) = %d LEDs, want an error", tc.forced, got.LEDs)
			continue
		}
		if !errors.Is(err, wled.ErrTooManyLEDs) {
			t.Errorf("%v: %v, want ErrTooManyLEDs", tc.forced, err)
		}
		for _, w := range []string{"?leds=1500", tc.forced.String(), tc.most, "dnrgb", "ddp"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not mention %q", tc.forced, err, w)
			}
		}
		// At the limit it is driven as asked.
		tg.LEDs = wled.MostLEDs(tc.forced)
		if got, _, err := c.CompleteAs(context.Background(), tg, tc.forced); err != nil || got.LEDs != tg.LEDs {
			t.Errorf("%v with ?leds=%d: %+v, %v", tc.forced, tg.LEDs, got, err)
		}
		// The device's own count is clamped, and the Info says how many it has.
		tg.LEDs = 0
		if got, info, err := c.CompleteAs(context.Background(), tg, tc.forced); err != nil || got.LEDs != wled.MostLEDs(tc.forced) || info.LEDs.Count != 1500 {
			t.Errorf("%v without ?leds: %+v, %v, device count %d", tc.forced, got, err, info.LEDs.Count)
		}
	}
}
