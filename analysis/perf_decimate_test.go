package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// chainRings are the five rings of a decimation chain, sized as in New.
func chainRings() [5]ring {
	return [5]ring{newRing(4096), newRing(512), newRing(512), newRing(512), newRing(512)}
}

func newChain() [4]decimator {
	return [4]decimator{newDecimator(halfband48), newDecimator(halfband24), newDecimator(halfband12), newDecimator(halfband6)}
}

// refDecimator is the direct form of the halfband decimator, one sample at a time (what the
// analyser ran before writeBlock): the reference process must match bit for bit.
type refDecimator struct {
	coefs *halfbandCoefs
	buf   [1024]float64
	pos   int  // next write index; buf[pos-taps+1:pos] are the newest inputs
	phase bool // true when the next input completes an output sample
}

func newRefDecimator(c *halfbandCoefs) refDecimator {
	return refDecimator{coefs: c, pos: c.taps - 1} // start after taps-1 zeros
}

// add stores one input sample and reports whether an output is due.
func (d *refDecimator) add(x float64) bool {
	if d.pos == len(d.buf) {
		n := d.coefs.taps - 1
		copy(d.buf[:n], d.buf[d.pos-n:d.pos])
		d.pos = n
	}
	d.buf[d.pos] = x
	d.pos++
	d.phase = !d.phase
	return d.phase
}

// out is the filter output for the newest inputs.
func (d *refDecimator) out() float64 {
	taps := d.coefs.taps
	w := d.buf[d.pos-taps : d.pos]
	mid := (taps - 1) / 2
	y := d.coefs.center * w[mid]
	for i, c := range d.coefs.odd {
		y += c * (w[mid-1-2*i] + w[mid+1+2*i])
	}
	return y
}

func newRefChain() [4]refDecimator {
	return [4]refDecimator{newRefDecimator(halfband48), newRefDecimator(halfband24), newRefDecimator(halfband12), newRefDecimator(halfband6)}
}

// writePerSample is the sample-by-sample chain writeBlock replaces: each input into r[0], each
// output of dec[i] into r[i+1] and dec[i+1].
func writePerSample(pcm []float32, dc *dcBlocker, dec []refDecimator, r []ring) {
	for _, s := range pcm {
		x := float64(s)
		if x != x || x > 4 || x < -4 {
			x = 0
		}
		one := [1]float64{x}
		dc.filter(one[:])
		x = one[0]
		r[0].push(x)
		for i := range dec {
			if !dec[i].add(x) {
				break
			}
			x = dec[i].out()
			r[i+1].push(x)
		}
	}
}

// TestWriteBlockBitIdentical feeds the same audio in blocks of assorted sizes (odd, even, longer
// than writeBlockLen, longer than a decimator's buffer) through writeBlock and through the
// per-sample chain, for the full chain and the short one, and wants every ring bit-identical.
func TestWriteBlockBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pcm := make([]float32, 3*SampleRate)
	for i := range pcm {
		pcm[i] = float32(0.1 + 0.5*math.Sin(2*math.Pi*440*float64(i)/SampleRate) + 0.2*rng.NormFloat64())
	}
	pcm[1000], pcm[1001], pcm[5000] = float32(math.NaN()), 7, float32(math.Inf(-1))
	sizes := []int{1, 800, 3, 257, 256, 2, 1111, 5000, 17, 799, 801}
	for _, stages := range []int{4, 1} {
		decA, decB := newRefChain(), newChain()
		var dcA, dcB dcBlocker
		ringsA, ringsB := chainRings(), chainRings()
		ptrs := [5]*ring{&ringsB[0], &ringsB[1], &ringsB[2], &ringsB[3], &ringsB[4]}
		rest := pcm
		for i := 0; len(rest) > 0; i++ {
			n := min(len(rest), sizes[i%len(sizes)])
			writePerSample(rest[:n], &dcA, decA[:stages], ringsA[:stages+1])
			writeBlock(rest[:n], &dcB, decB[:stages], ptrs[:stages+1])
			rest = rest[n:]
			for r := range ringsA {
				if ringsA[r].n != ringsB[r].n {
					t.Fatalf("stages %d, block %d: ring %d has %d samples, want %d", stages, i, r, ringsB[r].n, ringsA[r].n)
				}
				for k := range ringsA[r].buf {
					if math.Float64bits(ringsA[r].buf[k]) != math.Float64bits(ringsB[r].buf[k]) {
						t.Fatalf("stages %d, block %d: ring %d [%d] = %v, want %v", stages, i, r, k, ringsB[r].buf[k], ringsA[r].buf[k])
					}
				}
			}
		}
		if stages == 4 && ringsB[4].n != int64(len(pcm)/16) {
			t.Errorf("3 kHz ring got %d samples, want %d", ringsB[4].n, len(pcm)/16)
		}
	}
}

func TestWriteBlockAllocatesNothing(t *testing.T) {
	dec, rings := newChain(), chainRings()
	ptrs := [5]*ring{&rings[0], &rings[1], &rings[2], &rings[3], &rings[4]}
	pcm := make([]float32, SampleRate/FrameRate)
	var dc dcBlocker
	if n := testing.AllocsPerRun(100, func() { writeBlock(pcm, &dc, dec[:], ptrs[:]) }); n != 0 {
		t.Errorf("writeBlock allocates %v times per call", n)
	}
}

func TestRingPushBlockLongerThanRing(t *testing.T) {
	a, b := newRing(8), newRing(8)
	x := make([]float64, 21)
	for i := range x {
		x[i] = float64(i)
		a.push(x[i])
	}
	b.pushBlock(x[:3])
	b.pushBlock(x[3:])
	got, want := b.view(8), a.view(8)
	if a.n != b.n || got[0] != want[0] || got[7] != want[7] || got[7] != 20 {
		t.Fatalf("pushBlock: n %d latest %v, want n %d latest %v", b.n, got, a.n, want)
	}
}

// A ring's view is the newest n samples, oldest first, with zeros before the stream's start,
// whatever the block sizes, before and after the ring wraps and after Reset.
func TestRingViewIsTheNewestSamples(t *testing.T) {
	const size = 16
	r := newRing(size)
	var stream []float64
	check := func() {
		t.Helper()
		for n := 0; n <= size; n++ {
			want := make([]float64, n)
			for i := range want {
				if k := len(stream) - n + i; k >= 0 {
					want[i] = stream[k]
				}
			}
			got := r.view(n)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("after %d samples view(%d) = %v, want %v", len(stream), n, got, want)
				}
			}
		}
	}
	check()
	for _, block := range []int{1, 3, 5, 7, 16, 2, 40, 9} {
		x := make([]float64, block)
		for i := range x {
			x[i] = float64(len(stream) + i + 1)
		}
		r.pushBlock(x)
		stream = append(stream, x...)
		check()
	}
	r.reset()
	stream = stream[:0]
	check()
	r.push(1)
	stream = append(stream, 1)
	check()
}

// BenchmarkDecimateChain compares one tick (800 samples) through the chain sample by sample and
// in blocks.
func BenchmarkDecimateChain(b *testing.B) {
	pcm := make([]float32, SampleRate/FrameRate)
	for i := range pcm {
		pcm[i] = float32(math.Sin(float64(i) * 0.05))
	}
	b.Run("per-sample", func(b *testing.B) {
		dec, rings := newRefChain(), chainRings()
		var dc dcBlocker
		for b.Loop() {
			writePerSample(pcm, &dc, dec[:], rings[:])
		}
	})
	b.Run("block", func(b *testing.B) {
		dec, rings := newChain(), chainRings()
		ptrs := [5]*ring{&rings[0], &rings[1], &rings[2], &rings[3], &rings[4]}
		var dc dcBlocker
		for b.Loop() {
			writeBlock(pcm, &dc, dec[:], ptrs[:])
		}
	})
}

// push is pushBlock one sample at a time: the reference form the tests drive the rings with.
func (r *ring) push(x float64) {
	i := int(r.n) & r.mask
	r.buf[i] = x
	r.buf[i+r.mask+1] = x
	r.n++
}
