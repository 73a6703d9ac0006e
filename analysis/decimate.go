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

// decimator halves the sample rate of a stream with a halfband filter (see
// process). It appends inputs to a linear buffer and slides the last taps-1
// of them back to the front when it is full, so the filter reads a
// contiguous slice.
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

// slide moves the newest taps-1 inputs back to the front of the buffer.
func (d *decimator) slide() {
	n := d.coefs.taps - 1
	copy(d.buf[:n], d.buf[d.pos-n:d.pos])
	d.pos = n
}

func (d *decimator) reset() { *d = newDecimator(d.coefs) }

// ring is a power-of-two circular buffer of the newest samples at one rate.
// Every sample is stored twice, in its slot and size slots later, so that
// the newest n ≤ size samples are always one contiguous slice (view): the
// windows and the attack detector read them in place instead of copying.
type ring struct {
	buf  []float64 // 2·size: buf[i] and buf[i+size] hold the same sample
	mask int       // size-1
	n    int64     // samples written in total
}

func newRing(size int) ring { return ring{buf: make([]float64, 2*size), mask: size - 1} }

// view returns the newest n ≤ size samples, oldest first, with zeros before
// the stream's start (slots not yet written). It aliases the ring: the
// next pushBlock changes it.
func (r *ring) view(n int) []float64 {
	start := int(r.n-int64(n)) & r.mask
	return r.buf[start : start+n]
}

func (r *ring) reset() {
	clear(r.buf)
	r.n = 0
}

// dcCutoffHz is the DC blocker's corner. At E1 (41 Hz), the lowest note reported, it takes
// 0.01 dB and turns the phase by 3°; an offset decays with a time constant of 80 ms (below
// −60 dB of itself in 0.6 s). 5 and 10 Hz were tried: the same on notebench within ±0.2.
const dcCutoffHz = 2.0

// dcPole is the DC blocker's feedback coefficient at 48 kHz.
var dcPole = math.Exp(-2 * math.Pi * dcCutoffHz / SampleRate)

// dcBlocker is a one-pole high-pass, y[n] = x[n] − x[n−1] + dcPole·y[n−1], at the analyser's
// input. A source's DC offset (a cheap interface, a miscalibrated converter, a dcshift in a
// mix) otherwise counts in Level and the attack detector's reference and sets the loudness
// every note is measured against, and its leakage sits under the lowest bins.
type dcBlocker struct {
	prevIn, prevOut float64
}

// filter removes the DC from x in place.
func (d *dcBlocker) filter(x []float64) {
	prevIn, prevOut := d.prevIn, d.prevOut
	for i, v := range x {
		y := v - prevIn + dcPole*prevOut
		if math.Abs(y) < 1e-30 { // no subnormals decaying for a second after the audio stops
			y = 0
		}
		prevIn, prevOut = v, y
		x[i] = y
	}
	d.prevIn, d.prevOut = prevIn, prevOut
}

// writeBlock is the block form of a Write loop that pushes each sample into rings[0] and each
// output of dec[i] into rings[i+1] and on into dec[i+1]: it sanitises pcm (NaN or |x| > 4 become
// silence), removes its DC (dc), and runs each stage over a block at a time, so that a stage computes several outputs
// at once (each one's own sum, in the same order as out, so the results are bit-identical)
// instead of waiting on one output's chain of additions per input sample. len(rings) must be
// len(dec)+1; pass fewer stages to stop the chain early.
func writeBlock(pcm []float32, dc *dcBlocker, dec []decimator, rings []*ring) {
	if len(rings) != len(dec)+1 {
		panic("analysis: writeBlock needs one ring more than decimators")
	}
	var in, out [writeBlockLen]float64
	for len(pcm) > 0 {
		n := min(len(pcm), writeBlockLen)
		x := in[:n]
		for i, s := range pcm[:n] {
			v := float64(s)
			if !(math.Abs(v) <= 4) { // NaN or garbage (|v| > 4): treat as clipped silence
				v = 0
			}
			x[i] = v
		}
		dc.filter(x)
		pcm = pcm[n:]
		rings[0].pushBlock(x)
		for i := range dec {
			y := dec[i].process(x, out[:])
			if len(y) == 0 {
				break
			}
			rings[i+1].pushBlock(y)
			// The output becomes the next stage's input; out is reused for its output.
			x = in[:copy(in[:], y)]
		}
	}
}

// writeBlockLen is how many samples writeBlock passes through the chain at once; with
// decimatorBuffer it leaves room for the longest filter's history.
const writeBlockLen = 256

// process adds the inputs in and writes the outputs due to dst (one per two inputs, len(in)/2
// rounded either way depending on phase), returning them. len(in) ≤ writeBlockLen. An output
// is due after every second input (the first, third, … of the stream) and is the direct form
//
//	y = center·w[mid] + Σ_i odd[i]·(w[mid-1-2i] + w[mid+1+2i])
//
// over the newest taps inputs w (the stream starts after taps-1 zeros), summed in that order.
func (d *decimator) process(in, dst []float64) []float64 {
	if d.pos+len(in) > len(d.buf) {
		d.slide()
	}
	base := d.pos // buf index of in[0]
	copy(d.buf[base:], in)
	d.pos += len(in)
	// An output is due after the input that sets phase: in[first], in[first+2], …
	first := 0
	if d.phase {
		first = 1
	}
	if len(in)%2 == 1 {
		d.phase = !d.phase
	}
	if first >= len(in) {
		return dst[:0]
	}
	nOut := (len(in) - first + 1) / 2
	taps := d.coefs.taps
	mid := (taps - 1) / 2
	odd := d.coefs.odd
	center := d.coefs.center
	buf := d.buf[:d.pos]
	// Output j's newest input is buf[base+first+2j] and its window the taps inputs ending
	// there; c+2j is the window's centre.
	c := base + first + 1 - taps + mid
	j := 0
	// The filters in use have 4, 8 or 10 odd taps: a kernel with the count
	// fixed at compile time computes whole blocks of four outputs without
	// bounds checks. The loop below takes the rest (and would take every
	// output of a filter of another size, correctly if slowly).
	switch len(odd) {
	case 4:
		j = halfbandBlocks(buf, dst, c, nOut, center, (*[4]float64)(odd))
	case 8:
		j = halfbandBlocks(buf, dst, c, nOut, center, (*[8]float64)(odd))
	case 10:
		j = halfbandBlocks(buf, dst, c, nOut, center, (*[10]float64)(odd))
	}
	for ; j < nOut; j++ {
		c0 := c + 2*j
		y := center * buf[c0]
		for i, k := range odd {
			o := 1 + 2*i
			y += k * (buf[c0-o] + buf[c0+o])
		}
		dst[j] = y
	}
	return dst[:nOut]
}

// pushBlock pushes the samples of x in order.
func (r *ring) pushBlock(x []float64) {
	size := r.mask + 1
	if len(x) > size { // only the newest size stay
		r.n += int64(len(x) - size)
		x = x[len(x)-size:]
	}
	start := int(r.n) & r.mask
	for _, half := range [2][]float64{r.buf[:size], r.buf[size:]} {
		n := copy(half[start:], x)
		copy(half, x[n:])
	}
	r.n += int64(len(x))
}

// oddTaps is the odd-tap coefficients of a halfband filter of 4, 8 or 10 of them.
type oddTaps interface {
	~[4]float64 | ~[8]float64 | ~[10]float64
}

// halfbandBlocks computes process's outputs four at a time, as many as whole
// blocks of four allow, and returns how many it wrote: output j is centred on
// buf[c+2j]. Each output is summed in process's order, so the results are the
// same bit for bit; with the tap count fixed at compile time the buffer is
// read without bounds checks.
func halfbandBlocks[K oddTaps](buf, dst []float64, c, nOut int, center float64, odd *K) int {
	n := len(*odd)
	mid := 2*n - 1 // the centre's offset in the taps of one output
	j := 0
	for ; j+4 <= nOut; j += 4 {
		// the taps of outputs j…j+3: 4n-1 inputs, and 6 more
		w := buf[c+2*j-mid:][:4*n+5]
		y0, y1, y2, y3 := center*w[mid], center*w[mid+2], center*w[mid+4], center*w[mid+6]
		for i := range n {
			// the taps 1+2i before and after output j's centre
			k := (*odd)[i]
			l, r := (*[7]float64)(w[mid-1-2*i:]), (*[7]float64)(w[mid+1+2*i:])
			y0 += k * (l[0] + r[0])
			y1 += k * (l[2] + r[2])
			y2 += k * (l[4] + r[4])
			y3 += k * (l[6] + r[6])
		}
		d := (*[4]float64)(dst[j:])
		d[0], d[1], d[2], d[3] = y0, y1, y2, y3
	}
	return j
}
