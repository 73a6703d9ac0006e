package audio

import "math"

// upsampler raises the rate by an integer factor with a polyphase windowed-sinc FIR
// (Blackman window, cutoff at 0.9 × the input Nyquist). It keeps its history across calls,
// so packet boundaries are seamless, and allocates only at construction.
type upsampler struct {
	factor int
	taps   int       // taps per phase
	coef   []float32 // coef[p*taps+k] multiplies the input k samples back for output phase p
	hist   []float32 // last taps inputs, newest at hist[pos]
	pos    int
}

func newUpsampler(factor, taps int) *upsampler {
	n := factor * taps
	fc := 0.45 / float64(factor) // cycles per output sample
	proto := make([]float64, n)
	mid := float64(n-1) / 2
	for i := range proto {
		x := float64(i) - mid
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/float64(n-1))
		proto[i] = s * w
	}
	// Normalise each phase to unity DC gain so a constant input stays constant.
	u := &upsampler{factor: factor, taps: taps, coef: make([]float32, n), hist: make([]float32, taps)}
	for p := range factor {
		var sum float64
		for k := range taps {
			sum += proto[k*factor+p]
		}
		for k := range taps {
			u.coef[p*taps+k] = float32(proto[k*factor+p] / sum)
		}
	}
	return u
}

// process writes len(in)*factor samples to out (which must be long enough).
func (u *upsampler) process(in, out []float32) int {
	o := 0
	for _, x := range in {
		u.pos++
		if u.pos == u.taps {
			u.pos = 0
		}
		u.hist[u.pos] = x
		for p := range u.factor {
			c := u.coef[p*u.taps : (p+1)*u.taps]
			var acc float32
			j := u.pos
			for k := range u.taps {
				acc += c[k] * u.hist[j]
				j--
				if j < 0 {
					j = u.taps - 1
				}
			}
			out[o] = acc
			o++
		}
	}
	return o
}

func (u *upsampler) reset() { clear(u.hist) }
