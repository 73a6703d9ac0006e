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

// prefixSums of three windows at once must give each window the sums it
// gets alone.
func TestPrefixSumsTogetherMatchAlone(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ws := [3]*window{a.short, a.mid, a.long}
	for i, w := range ws {
		for k := range w.mag {
			w.mag[k] = math.Abs(math.Sin(float64(k*(i+2)))) / float64(k%7+1)
		}
	}
	var alone [3][]float64
	for i, w := range ws {
		prefixSums(w, nil, nil)
		alone[i] = append([]float64(nil), w.cum[:w.cumLen()+1]...)
		clear(w.cum)
	}
	prefixSums(ws[0], ws[1], ws[2])
	for i, w := range ws {
		for k, want := range alone[i] {
			if math.Float64bits(w.cum[k]) != math.Float64bits(want) {
				t.Fatalf("window %d: cum[%d] = %v, want %v", i, k, w.cum[k], want)
			}
		}
	}
	prefixSums(ws[1], ws[0], nil)
	for k, want := range alone[1] {
		if math.Float64bits(ws[1].cum[k]) != math.Float64bits(want) {
			t.Fatalf("two windows: cum[%d] = %v, want %v", k, ws[1].cum[k], want)
		}
	}
}
