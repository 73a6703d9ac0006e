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

// The fused loop must round exactly as the two sums it replaces.
func TestSumSquaresTogetherMatchesSeparateSums(t *testing.T) {
	var level [levelBlock]float64
	var ref [attackRef]float64
	for trial := range 20 {
		for i := range level {
			level[i] = math.Sin(float64(i*(trial+1))) * math.Exp(-float64(i%97)/(float64(trial)+1))
		}
		for i := range ref {
			ref[i] = math.Cos(float64(i*(trial+3))) * float64(trial%5)
		}
		gotL, gotR := sumSquaresTogether(&level, &ref)
		if wantL := sequentialSumSquares(level[:]); math.Float64bits(gotL) != math.Float64bits(wantL) {
			t.Fatalf("trial %d: level sum %v, want %v", trial, gotL, wantL)
		}
		if wantR := sumSquares(ref[:]); math.Float64bits(gotR) != math.Float64bits(wantR) {
			t.Fatalf("trial %d: reference sum %v, want %v", trial, gotR, wantR)
		}
	}
}
