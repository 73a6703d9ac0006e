package wled_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// HasWhite says to send white only when every strip of the device can show it: WLED's lc is the
// OR of its segments' seglc, and an RGB bus drops the W of a pixel (bus_manager.cpp), so RGBW
// frames to a device with an RGB strip and an RGBW strip would lose the white of every
// white or pastel on the RGB strip.
func TestHasWhiteOnlyWhenEverySegmentHasWhite(t *testing.T) {
	cases := []struct {
		name, leds string
		want       bool
	}{
		{"RGB strip and RGBW strip", `"lc":3,"seglc":[1,3],"rgbw":true`, false},
		{"RGBW strip first, RGB strip second", `"lc":3,"seglc":[3,1],"rgbw":true`, false},
		{"two RGBW strips", `"lc":3,"seglc":[3,3],"rgbw":true`, true},
		{"one RGBW strip", `"lc":3,"seglc":[3],"rgbw":true`, true},
		{"RGBW strip with auto-white (Accurate): WLED reports no white slider", `"lc":1,"seglc":[1],"rgbw":true`, false},
		{"white-only strip", `"lc":2,"seglc":[2]`, true},
		{"inactive segment listed with 0 (0.13)", `"lc":3,"seglc":[3,0]`, true},
		{"seglc absent: lc", `"lc":3`, true},
		{"seglc empty: lc", `"lc":3,"seglc":[]`, true},
		{"seglc absent, RGB lc", `"lc":1,"rgbw":true`, false},
		{"neither seglc nor lc: rgbw", `"rgbw":true`, true},
		{"nothing said", ``, false},
	}
	for _, c := range cases {
		leds := `"count":300`
		if c.leds != "" {
			leds += "," + c.leds
		}
		body := fmt.Sprintf(`{"ver":"0.15.3","vid":2412100,"leds":{%s}}`, leds)
		info, err := wled.ParseInfo([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := info.LEDs.HasWhite(); got != c.want {
			t.Errorf("%s: HasWhite = %v, want %v (leds %+v)", c.name, got, c.want, info.LEDs)
		}
	}
}

// A WLED that drives an RGB strip and an RGBW strip gets RGB frames: the fake device reports
// both segments and decodes DDP as RGB, counting an RGBW (type 0x1B) packet as malformed.
func TestMixedRGBAndRGBWDeviceGetsRGBFrames(t *testing.T) {
	fake := newFake(t, 60, false)
	fake.SetInfo(func(i *wled.Info) { i.LEDs.LC, i.LEDs.SegLC, i.LEDs.RGBW = 3, []int{1, 3}, true })
	tg, _ := wled.ParseTarget(fake.URL())
	tg, info, err := (&wled.Client{}).Complete(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.LEDs.SegLC) != 2 || tg.RGBW {
		t.Fatalf("target %v (rgbw %v) from seglc %v, want RGB", tg, tg.RGBW, info.LEDs.SegLC)
	}
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg})
	submitUntil(t, o, fake, 3)
	stop()
	if fake.Malformed() != 0 {
		t.Errorf("malformed: %v", fake.MalformedReasons())
	}
}

// A seglc no WLED could send (it has at most 64 segments, FX.h MAX_NUM_SEGMENTS) is not kept:
// lc decides.
func TestParseInfoIgnoresAnOversizedSegLC(t *testing.T) {
	seglc := "1"
	for range 300 {
		seglc += ",3"
	}
	info, err := wled.ParseInfo([]byte(`{"ver":"0.15.3","vid":2412100,"leds":{"count":30,"lc":3,"seglc":[` + seglc + `]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.LEDs.SegLC) != 0 || !info.LEDs.HasWhite() {
		t.Errorf("kept %d seglc entries, HasWhite %v; want none kept and lc's white", len(info.LEDs.SegLC), info.LEDs.HasWhite())
	}
}
