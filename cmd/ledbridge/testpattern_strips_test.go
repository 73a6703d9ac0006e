package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A strip's own strips: entry holds for the test pattern as it does for join, by join's matching
// rule: the strip WLED calls "Dim bar" (named in another case) keeps within its own 300 mA under a
// global 2000, the strip named by its devices: line as written is drawn at its entry's half
// brightness, and the strip no entry names shows the full rainbow the global limit allows.
func TestTestPatternObeysEachStripsOwnLook(t *testing.T) {
	dim := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "Dim bar"})
	half := wledtest.New(t, wledtest.Config{LEDs: 30})
	other := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "Other"})
	limit, halfBright := 300, 0.5
	c := config.Default()
	c.Devices = []string{dim.URL(), half.DDPURL(), other.URL()}
	c.Discovery.Enabled = false
	c.Output.MaxMilliamps = 2000
	c.Effects.BrightnessCap = 1 // the undimmed rainbow where no entry dims it
	c.Strips = []config.Strip{{Device: "DIM BAR", MaxMilliamps: &limit}, {Device: half.DDPURL(), Brightness: &halfBright}}
	opts, err := testPatternConfig(testPatternOptions{FPS: 60, Seconds: 0.5}, c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runTestPattern(context.Background(), opts, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	model := opts.Current
	for i, tc := range []struct {
		fake     *wledtest.Fake
		maxMA    float32 // the estimate every frame keeps within
		maxByte  byte    // the brightest channel a frame may have
		fullBows bool    // every frame is the undimmed rainbow
	}{
		{dim, 300, 255, false},
		{half, 2000, 128, false},
		{other, 2000, 255, true},
	} {
		frames, err := tc.fake.WaitFrames(int(res[i].Stats.FramesSent), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(frames) == 0 {
			t.Fatalf("%s: no frames", res[i].Name)
		}
		var lit bool
		for j, f := range frames {
			if mA := model.Estimate(f.Pixels, 3); mA > tc.maxMA {
				t.Fatalf("%s: frame %d draws an estimated %.0f mA, over %.0f", res[i].Name, j, mA, tc.maxMA)
			}
			for k, b := range f.Pixels {
				if b > tc.maxByte {
					t.Fatalf("%s: frame %d has a channel at %d, over %d", res[i].Name, j, b, tc.maxByte)
				}
				if tc.fullBows && k%3 == 0 && !isRainbowPixel(f.Pixels[k:]) {
					t.Fatalf("%s: frame %d LED %d = % x is dimmed, though no entry names it", res[i].Name, j, k/3, f.Pixels[k:k+3])
				}
				lit = lit || b > 0
			}
		}
		if !lit {
			t.Errorf("%s: every frame was dark", res[i].Name)
		}
	}
	if full := model.Estimate(rainbowFrame(30), 3); full <= 300 {
		t.Fatalf("the full rainbow draws only %.0f mA: the dim strip's limit proves nothing", full)
	}
}

// rainbowFrame is the undimmed rainbow on leds RGB LEDs.
func rainbowFrame(leds int) []byte {
	f := make([]byte, 3*leds)
	renderRainbow(f, 3, 0)
	return f
}
