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
