package effect

import (
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// fuzzCurrentModels are the supplies FuzzRenderCurrent picks from: the defaults (WS2812B), a
// 12 V WS2815 (12 mA a channel), LEDs whose driver draws nothing dark, and an ESP32 on the
// strip's supply (120 mA, as WLED reserves).
var fuzzCurrentModels = [...]color.CurrentModel{
	{},
	{ChannelMilliamps: 12, IdleMilliamps: 0.5},
	{IdleMilliamps: -1},
	{ControllerMilliamps: 120},
}

// FuzzRenderCurrent feeds FuzzRender's inputs (any Features, tempo, strip shape, effect, look and
// timing) plus a strip current limit and a current model, and checks what the limiter promises a
// power supply: no frame Render writes, nor one the caller overdrew to full white and finished
// with Overlay (a test pattern, an identify flash), draws more than the strip's MaxMilliamps by
// the model the renderer was given, or than the dark strip's draw when the limit is below that
// (dark is all the limiter can do). A frame over budget browns out a supply sized to the limit.
func FuzzRenderCurrent(f *testing.F) {
	f.Add([]byte("\x05\x00\x00\x00\x45\x00\x00\x00\x00\x00\x80\x43\x00\x00\x80\x3f\x01"), uint16(299), uint8(0xe0), float32(120), int64(16), uint16(700), uint8(0))
	f.Add([]byte{}, uint16(50), uint8(0x21), float32(0), int64(1000), uint16(50), uint8(1))
	f.Add([]byte{3, 0, 0, 0, 69, 0, 0, 0, 0, 0, 0x80, 0x7f}, uint16(143), uint8(0x09), float32(math.NaN()), int64(-5), uint16(1), uint8(2))
	f.Add([]byte("\x08\x00\x00\x00\x30\x00\x00\x00\x00\x00\x00\x44\x00\x00\x80\x3f\x01\x00\x00\x00"), uint16(599), uint8(0x13), float32(240), int64(1999), uint16(65535), uint8(3))
	f.Add([]byte("\x01\x00\x00\x00\x40\x00\x00\x00\x00\x00\xc8\x43\x00\x00\x80\x3f\x01"), uint16(299), uint8(0x00), float32(90), int64(33), uint16(100), uint8(3)) // limit below the dark draw
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f}, uint16(0), uint8(0x7f), float32(math.Inf(1)), int64(math.MinInt64), uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, leds uint16, flags uint8, tempo float32, stepMs int64, limit uint16, supply uint8) {
		n := 1 + int(leds)%600
		strip := Strip{LEDs: n, RGBW: flags&1 != 0, Mirror: flags&2 != 0, Reverse: flags&4 != 0,
			Effect: Effect(1 + int(flags>>3)%3), MaxMilliamps: float32(limit)}
		model := fuzzCurrentModels[int(supply)%len(fuzzCurrentModels)]
		r, err := NewRenderer(Config{Palette: color.Palette{Mode: color.Mode(1 + int(flags>>6)%3)}, Current: model}, strip)
		if err != nil {
			t.Fatal(err)
		}
		var feats [2]analysis.Features
		featuresFrom(raw, &feats[0])
		if len(raw) > 8 {
			featuresFrom(raw[len(raw)/2:], &feats[1])
		}
		dst := make([]byte, strip.FrameSize())
		bpp := strip.BytesPerLED()
		// The slack is float32 rounding in the limiter's scaling, not a tolerance for overdraw.
		budget := max(strip.MaxMilliamps, model.DarkMilliamps(n)) * 1.0001
		overBudget := func(frame []byte) (float32, bool) {
			got := model.Estimate(frame, bpp)
			return got, strip.MaxMilliamps > 0 && got > budget
		}
		now := t0
		for k := range 6 {
			in := Input{Now: now, Look: Look(k%3 + 1), Playing: flags&0x80 == 0, Tempo: tempo,
				Sources:   []Source{{Musician: int(int8(flags)), Features: &feats[0]}, {Musician: k, Features: &feats[1]}},
				Broadcast: []color.RGB{{R: flags, G: 255, B: 255}, {G: byte(leds), R: 255}}}
			if _, err := r.Render(dst, in); err != nil {
				t.Fatal(err)
			}
			if got, over := overBudget(dst); over {
				t.Fatalf("frame %d draws %v mA, limit %v mA (dark %v mA)", k, got, strip.MaxMilliamps, model.DarkMilliamps(n))
			}
			if k == 3 {
				for i := range dst {
					dst[i] = 255
				}
				r.Overlay(dst)
				if got, over := overBudget(dst); over {
					t.Fatalf("full-white overlay draws %v mA, limit %v mA (dark %v mA)", got, strip.MaxMilliamps, model.DarkMilliamps(n))
				}
			}
			now = now.Add(time.Duration(stepMs%2000) * time.Millisecond)
		}
	})
}
