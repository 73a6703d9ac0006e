package analysis

import (
	"math"
	"testing"
)

// TestAttackOnTheFirstTickThatHoldsTheSound: a tone that starts 10 ms before a tick (after
// silence) is an attack in that very frame, long before its pitch is resolved; a steady tone and
// silence are not.
func TestAttackOnTheFirstTickThatHoldsTheSound(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	block := make([]float32, SampleRate/FrameRate) // one 60 fps tick
	var f Features
	for i := 0; i < 30; i++ { // 0.5 s of silence
		clear(block)
		a.Write(block)
		a.Frame(&f)
		if f.Attack {
			t.Fatalf("attack in silence at frame %d", i)
		}
	}
	phase := 0.0
	tone := func(dst []float32) {
		for i := range dst {
			dst[i] = float32(0.3 * math.Sin(phase))
			phase += 2 * math.Pi * 440 / SampleRate
		}
	}
	// The tone starts 10 ms (480 samples) before the end of this tick's block.
	clear(block[:len(block)-480])
	tone(block[len(block)-480:])
	a.Write(block)
	a.Frame(&f)
	if !f.Attack {
		t.Fatal("no attack on the tick whose audio holds the first 10 ms of the tone")
	}
	for i := 0; i < 30; i++ {
		tone(block)
		a.Write(block)
		a.Frame(&f)
		if f.Attack {
			t.Fatalf("attack at frame %d of a steady tone", i)
		}
	}
}
