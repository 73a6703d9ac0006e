package analysis

import "math"

// halfbandTaps is the length of each 2:1 decimation filter. 39 taps with a
// Kaiser window keep aliases below about -70 dB above 0.7 of the new Nyquist,
// which is above every frequency the lower-rate windows look at.
const halfbandTaps = 39

// halfband holds the symmetric low-pass (cut-off at a quarter of the input
// rate) shared by all decimation stages. Only the centre and odd offsets are
// non-zero, so a stage multiplies just those.
var halfband = designHalfband()

type halfbandCoefs struct {
	center float64
	odd    [(halfbandTaps + 1) / 4]float64 // taps at offsets ±1, ±3, …
}

func designHalfband() halfbandCoefs {
	const beta = 7.0
	mid := (halfbandTaps - 1) / 2
	var c halfbandCoefs
	sum := 0.0
	h := make([]float64, halfbandTaps)
	for n := range h {
		x := float64(n - mid)
		sinc := 0.5
		if x != 0 {
			sinc = math.Sin(math.Pi*x/2) / (math.Pi * x)
		}
		r := x / float64(mid)
		h[n] = sinc * bessel0(beta*math.Sqrt(1-r*r)) / bessel0(beta)
		sum += h[n]
	}
	c.center = h[mid] / sum
	for i := range c.odd {
		c.odd[i] = h[mid+1+2*i] / sum
	}
	return c
}

// bessel0 is the modified Bessel function of the first kind, order 0.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
	}
	return sum
}

// decimator halves the sample rate of a stream with the halfband filter. It
// keeps the last halfbandTaps inputs twice over so the filter reads a
// contiguous slice without wrapping.
type decimator struct {
	hist  [2 * halfbandTaps]float64
	pos   int  // next write index in [0, halfbandTaps)
	phase bool // true when the next input completes an output sample
}

// push feeds one input sample; it returns an output sample and true on every
// second call.
func (d *decimator) push(x float64) (float64, bool) {
	d.hist[d.pos] = x
	d.hist[d.pos+halfbandTaps] = x
	d.pos++
	if d.pos == halfbandTaps {
		d.pos = 0
	}
	d.phase = !d.phase
	if !d.phase {
		return 0, false
	}
	// The oldest sample is at pos, the newest at pos+taps-1.
	w := d.hist[d.pos : d.pos+halfbandTaps]
	mid := (halfbandTaps - 1) / 2
	y := halfband.center * w[mid]
	for i, c := range halfband.odd {
		y += c * (w[mid-1-2*i] + w[mid+1+2*i])
	}
	return y, true
}

func (d *decimator) reset() { *d = decimator{} }

// ring is a power-of-two circular buffer of the newest samples at one rate.
type ring struct {
	buf  []float64
	mask int
	n    int64 // samples written in total
}

func newRing(size int) ring { return ring{buf: make([]float64, size), mask: size - 1} }

func (r *ring) push(x float64) {
	r.buf[int(r.n)&r.mask] = x
	r.n++
}

// latest copies the newest len(dst) samples into dst, oldest first, padding
// with zeros before the stream's start.
func (r *ring) latest(dst []float64) {
	start := r.n - int64(len(dst))
	for i := range dst {
		j := start + int64(i)
		if j < 0 {
			dst[i] = 0
			continue
		}
		dst[i] = r.buf[int(j)&r.mask]
	}
}

func (r *ring) reset() {
	clear(r.buf)
	r.n = 0
}
