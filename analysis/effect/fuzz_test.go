package effect

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// featuresFrom fills f from raw bytes: every field, including NaN, ±Inf and
// out-of-range integers, can take any value.
func featuresFrom(raw []byte, f *analysis.Features) {
	word := func() uint32 {
		var b [4]byte
		n := copy(b[:], raw)
		raw = raw[n:]
		return binary.LittleEndian.Uint32(b[:])
	}
	float := func() float32 { return math.Float32frombits(word()) }
	f.NumNotes = int(int32(word()))
	for i := range f.Notes {
		f.Notes[i] = analysis.Note{MIDI: int(int32(word())), Hz: float(), Velocity: float(), Onset: word()&1 == 1}
	}
	f.Level, f.PeakHz, f.Onset = float(), float(), word()&1 == 1
	for i := range f.Bands {
		f.Bands[i] = float()
	}
}

// FuzzRender feeds arbitrary Features, tempo, strip shape and timing to every
// effect: it must never panic, and must always write exactly one frame.
func FuzzRender(f *testing.F) {
	f.Add([]byte{}, uint16(300), uint8(0), float32(120), int64(16))
	f.Add([]byte{3, 0, 0, 0, 69, 0, 0, 0, 0, 0, 0x80, 0x7f}, uint16(7), uint8(0xff), float32(math.NaN()), int64(-5))
	f.Fuzz(func(t *testing.T, raw []byte, leds uint16, flags uint8, tempo float32, stepMs int64) {
		n := 1 + int(leds)%600
		strip := Strip{LEDs: n, RGBW: flags&1 != 0, Mirror: flags&2 != 0, Reverse: flags&4 != 0,
			Effect: Effect(1 + int(flags>>3)%3), MaxMilliamps: float32(flags>>5) * 100}
		r, err := NewRenderer(Config{Palette: color.Palette{Mode: color.Mode(1 + int(flags>>6)%3)}}, strip)
		if err != nil {
			t.Fatal(err)
		}
		var feats [2]analysis.Features
		featuresFrom(raw, &feats[0])
		if len(raw) > 8 {
			featuresFrom(raw[len(raw)/2:], &feats[1])
		}
		dst := make([]byte, strip.FrameSize())
		now := t0
		for k := range 4 {
			in := Input{Now: now, Look: Look(k%3 + 1), Playing: flags&0x80 == 0, Tempo: tempo,
				Sources:   []Source{{Musician: int(int8(flags)), Features: &feats[0]}, {Musician: k, Features: &feats[1]}},
				Broadcast: []color.RGB{{R: flags}, {G: byte(leds)}}}
			written, err := r.Render(dst, in)
			if err != nil || written != len(dst) {
				t.Fatalf("Render: %d, %v", written, err)
			}
			now = now.Add(time.Duration(stepMs) * time.Millisecond)
		}
	})
}
