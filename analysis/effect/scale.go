package effect

import "github.com/ledbridge/ledbridge/analysis/color"

// scaleFloat stretches src (a led-update colour array of any length) over
// dst, one perceptual float colour per LED, by nearest-entry or linear
// resampling (linear averages the entries an LED covers when there are more
// colours than LEDs). An empty src makes dst black. It allocates nothing.
func scaleFloat(dst []color.RGBF, src []color.RGB, mode Resample) {
	for i := range dst {
		dst[i] = resampleAt(src, i, len(dst), mode)
	}
}

// resampleAt is the colour of LED i of n taken from src.
func resampleAt(src []color.RGB, i, n int, mode Resample) color.RGBF {
	m := len(src)
	switch {
	case m == 0:
		return color.RGBF{}
	case mode == ResampleLinear && m > n:
		// More colours than LEDs: each LED shows the mean of the entries it
		// covers, so a detail between two sample points is not lost or kept
		// depending on where it falls.
		from, to := i*m/n, max((i+1)*m/n, i*m/n+1)
		var sum color.RGBF
		for _, c := range src[from:to] {
			f := c.Float()
			sum.R, sum.G, sum.B = sum.R+f.R, sum.G+f.G, sum.B+f.B
		}
		k := 1 / float32(to-from)
		return color.RGBF{R: sum.R * k, G: sum.G * k, B: sum.B * k}
	case mode == ResampleLinear && m > 1 && n > 1:
		pos := float64(i) * float64(m-1) / float64(n-1)
		j := min(int(pos), m-2)
		f := float32(pos - float64(j))
		a, b := src[j].Float(), src[j+1].Float()
		return color.RGBF{R: a.R + (b.R-a.R)*f, G: a.G + (b.G-a.G)*f, B: a.B + (b.B-a.B)*f}
	default:
		return src[i*m/n].Float()
	}
}
