package analysis

import "math"

// fastLn is the natural logarithm of a positive, normal x to about 1e-6
// (relative), several times cheaper than math.Log. The per-bin loops (onset
// flux, spectral flatness) take hundreds of logarithms per frame.
func fastLn(x float64) float64 {
	bits := math.Float64bits(x)
	mant := bits&^(0x7ff<<52) | 1023<<52 // the mantissa in [1, 2)
	// Keep t small: m in [√½, √2), halving the mantissa (one off its
	// exponent field: exact) and raising the exponent when it is above √2.
	// Without a branch: which way it goes is a coin toss for the predictor.
	var up uint64
	if math.Float64frombits(mant) > math.Sqrt2 {
		up = 1
	}
	m := math.Float64frombits(mant - up<<52)
	exp := float64(int((bits>>52)&0x7ff) - 1023 + int(up))
	// ln m = 2 atanh(t), t = (m-1)/(m+1), |t| < 0.172
	t := (m - 1) / (m + 1)
	t2 := t * t
	return exp*math.Ln2 + 2*t*(1+t2*(1.0/3+t2*(1.0/5+t2*(1.0/7+t2/9))))
}
