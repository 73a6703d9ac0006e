package analysis

import (
	"math"
	"testing"
)

// A window over silence (zeros of either sign) skips the transform; its
// magnitudes must be the transform's, bit for bit.
func TestSilentWindowMatchesTheTransform(t *testing.T) {
	w := newWindow(SampleRate/midDecim, 512, 0.1)
	r := newRing(512)
	negZero := math.Copysign(0, -1)
	for i := range 300 {
		if i%3 == 0 {
			r.push(negZero)
		} else {
			r.push(0)
		}
	}
	want := make([]float64, len(w.mag))
	w.fft.WindowedMagnitudes(want, r.view(w.n), w.shape, w.norm)
	for i := range w.mag {
		w.mag[i] = 1
	}
	w.analyze(&r)
	for k := range want {
		if math.Float64bits(w.mag[k]) != math.Float64bits(want[k]) {
			t.Fatalf("bin %d: %v, want %v", k, w.mag[k], want[k])
		}
	}
	r.push(1e-30)
	if w.analyze(&r); w.mag[1] == 0 {
		t.Fatal("a window with one non-zero sample was taken for silence")
	}
}
