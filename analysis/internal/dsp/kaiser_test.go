package dsp

import (
	"math"
	"testing"
)

// i0Integral evaluates I0(x) = (1/π)∫₀^π exp(x·cos θ) dθ by the midpoint rule: a reference that
// shares nothing with the power series under test.
func i0Integral(x float64) float64 {
	const n = 20000
	sum := 0.0
	for i := 0; i < n; i++ {
		sum += math.Exp(x * math.Cos(math.Pi*(float64(i)+0.5)/n))
	}
	return sum / n
}

func TestKaiser(t *testing.T) {
	for _, beta := range []float64{2, 5, 8, 8.6} {
		for _, r := range []float64{0, 0.3, 0.7, 1} {
			want := i0Integral(beta*math.Sqrt(1-r*r)) / i0Integral(beta)
			if got := Kaiser(beta, r); math.Abs(got-want) > 1e-9*math.Max(1, want) {
				t.Errorf("Kaiser(%v, %v) = %v, want %v", beta, r, got, want)
			}
		}
	}
	if Kaiser(5, 0.5) <= Kaiser(5, 0.9) {
		t.Fatal("window does not fall towards the ends")
	}
}
