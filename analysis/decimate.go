package analysis

import (
	"math"

	"github.com/ledbridge/ledbridge/analysis/internal/dsp"
)

// Each 2:1 stage low-passes with a Kaiser-windowed halfband filter (cut-off
// at a quarter of its input rate; only the centre and odd taps are
// non-zero). A stage needs only as many taps as the band its output serves:
// the first (48 → 24 kHz) keeps aliases out of 0–9.3 kHz for the short
// window and the bands; the second only feeds further decimation to 0–3 kHz,
// so it can be short; the last two keep aliases out of the mid window's
// 0–2.1 kHz and the long window's 0–1 kHz. Each rejects aliases by about
// 70 dB. decimatorBuffer must stay well above the longest.
var (
	halfband48 = designHalfband(39)
	halfband24 = designHalfband(15)
	halfband12 = designHalfband(31)
	halfband6  = designHalfband(31)
)

type halfbandCoefs struct {
	taps   int // odd, 4k-1
	center float64
	odd    []float64 // taps at offsets ±1, ±3, …
}

func designHalfband(taps int) *halfbandCoefs {
	const beta = 7.0
	mid := (taps - 1) / 2
	c := &halfbandCoefs{taps: taps, odd: make([]float64, (taps+1)/4)}
	sum := 0.0
	h := make([]float64, taps)
	for n := range h {
		x := float64(n - mid)
		sinc := 0.5
		if x != 0 {
			sinc = math.Sin(math.Pi*x/2) / (math.Pi * x)
		}
		r := x / float64(mid)
		h[n] = sinc * dsp.Kaiser(beta, r)
		sum += h[n]
	}
	c.center = h[mid] / sum
	for i := range c.odd {
		c.odd[i] = h[mid+1+2*i] / sum
	}
	return c
}

// decimator halves the sample rate of a stream with a halfband filter. It
// appends inputs to a linear buffer and slides the last taps-1 of them back
// to the front when it is full, so the filter reads a contiguous slice.
type decimator struct {
	coefs *halfbandCoefs
	buf   [decimatorBuffer]float64
	pos   int  // next write index; buf[pos-taps+1:pos] are the newest inputs
	phase bool // true when the next input completes an output sample
}

// decimatorBuffer is the linear input buffer length (much longer than any
// filter, so the slide back happens rarely).
const decimatorBuffer = 1024

func newDecimator(c *halfbandCoefs) decimator {
	return decimator{coefs: c, pos: c.taps - 1} // start after taps-1 zeros
}

// add stores one input sample and reports whether an output is due (every
// second input); out then computes it. Split so that add inlines.
func (d *decimator) add(x float64) bool {
	if d.pos == len(d.buf) {
		d.slide()
	}
	d.buf[d.pos] = x
	d.pos++
	d.phase = !d.phase
	return d.phase
}

// slide moves the newest taps-1 inputs back to the front of the buffer.
func (d *decimator) slide() {
	n := d.coefs.taps - 1
	copy(d.buf[:n], d.buf[len(d.buf)-n:])
	d.pos = n
}

// out is the filter output for the newest inputs.
func (d *decimator) out() float64 {
	taps := d.coefs.taps
	w := d.buf[d.pos-taps : d.pos]
	mid := (taps - 1) / 2
	y := d.coefs.center * w[mid]
	for i, c := range d.coefs.odd {
		y += c * (w[mid-1-2*i] + w[mid+1+2*i])
	}
	return y
}

func (d *decimator) reset() { *d = newDecimator(d.coefs) }

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
	n := len(dst)
	pad := 0
	if r.n < int64(n) {
		pad = n - int(r.n)
		clear(dst[:pad])
	}
	// The rest is at most two contiguous runs of the buffer.
	start := int(r.n-int64(n-pad)) & r.mask
	first := copy(dst[pad:], r.buf[start:])
	copy(dst[pad+first:], r.buf[:n-pad-first])
}

func (r *ring) reset() {
	clear(r.buf)
	r.n = 0
}
