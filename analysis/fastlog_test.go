package analysis

import (
	"math"
	"testing"
)

func TestFastLn(t *testing.T) {
	for _, x := range []float64{1e-20, 1e-9, 0.001, 0.5, 0.70710678, 1, 1.4142, 1.5, 2, 3, 1000, 1e12} {
		for _, f := range []float64{1, 1.0001, 1.3, 0.77} {
			v := x * f
			if got, want := fastLn(v), math.Log(v); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("fastLn(%g) = %.9f, want %.9f", v, got, want)
			}
		}
	}
}

// fastLn halves the mantissa without a branch; it must give what the
// branching form gives, bit for bit (the analyser's output depends on it).
func TestFastLnMatchesBranchingForm(t *testing.T) {
	branching := func(x float64) float64 {
		bits := math.Float64bits(x)
		exp := float64(int((bits>>52)&0x7ff) - 1023)
		m := math.Float64frombits(bits&^(0x7ff<<52) | 1023<<52)
		if m > math.Sqrt2 {
			m *= 0.5
			exp++
		}
		t := (m - 1) / (m + 1)
		t2 := t * t
		return exp*math.Ln2 + 2*t*(1+t2*(1.0/3+t2*(1.0/5+t2*(1.0/7+t2/9))))
	}
	for x := 1e-300; x < 1e300; x *= 1.0001731 {
		if got, want := fastLn(x), branching(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("fastLn(%g) = %v, want %v", x, got, want)
		}
	}
	for _, x := range []float64{math.Sqrt2, math.Nextafter(math.Sqrt2, 2), math.Nextafter(math.Sqrt2, 1), 1, 2, 4 * math.Sqrt2} {
		if got, want := fastLn(x), branching(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("fastLn(%g) = %v, want %v", x, got, want)
		}
	}
}
