// Package dsp holds the signal-processing arithmetic the analyser's parts share: the Kaiser window
// of the decimators and the file resampler, and the real FFT of the analysis windows.
package dsp

import "math"

// Kaiser is the Kaiser window with shape beta at r, the position from the centre in [-1, 1]
// (1 at the centre, falling towards the ends).
func Kaiser(beta, r float64) float64 {
	return bessel0(beta*math.Sqrt(1-r*r)) / bessel0(beta)
}

// bessel0 is the modified Bessel function of the first kind, order 0 (its power series).
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
	}
	return sum
}
