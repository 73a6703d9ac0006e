package analysis

import (
	"math"

	"github.com/ledbridge/ledbridge/analysis/internal/dsp"
)

// maxPeaks bounds the spectral peaks one window keeps (the strongest ones).
const maxPeaks = 48

// Decimation factors of the three windows relative to 48 kHz.
const (
	shortDecim = 2  // 24 kHz
	midDecim   = 8  // 6 kHz
	longDecim  = 16 // 3 kHz
)

// prominenceRadius is the half-width, in bins, of the neighbourhood a peak is
// compared with to decide whether it is tonal.
const prominenceRadius = 10

// lobeRadius is the half-width of a peak's main lobe, left out of its
// neighbourhood; attackLobeRadius is used right after an onset, when a note
// that began only milliseconds ago fills just the end of the window and its
// lobe is correspondingly wider.
const (
	lobeRadius       = 2
	attackLobeRadius = 3
)

// window is one analysis resolution: a windowed FFT of the newest samples of
// one decimated stream, its magnitude spectrum and its tonal peaks.
type window struct {
	rate  float64 // sample rate of the stream, Hz
	binHz float64
	n     int
	fft   *dsp.RealFFT // gonum's radix-4 complex FFT of the packed samples
	shape []float64    // analysis window
	norm  float64      // scales |X| so a sinusoid of amplitude A peaks at A
	in    []float64
	mag   []float64 // n/2+1 magnitudes
	cum   []float64 // prefix sums of mag, for neighbourhood means (findPeaks)
	// cumDone: cum holds this spectrum's sums (prefixSums took them)
	cumDone bool

	peakLo, peakHi float64 // Hz range searched for peaks
	// Every pitch from minHz to maxHz is a candidate in every window, so a
	// window can explain (and cancel) all the partials it sees; it reports
	// only the pitches it resolves best, reportLo to reportHi.
	f0Lo, f0Hi         float64
	reportLo, reportHi float64

	// Peaks sorted by frequency.
	peakHz  [maxPeaks]float64
	peakAmp [maxPeaks]float64
	peakPro [maxPeaks]float64 // prominence: peak over neighbourhood mean
	nPeaks  int
	// scratch for selecting the strongest peaks
	allHz, allAmp, allPro []float64
}

// newWindow prepares a window of n samples at rate Hz. tail is the fraction
// of the window that is its falling edge: 0.5 is a symmetric Hann window;
// smaller values weight the newest audio more, which shortens the delay
// before a new note dominates the spectrum, at some cost in leakage.
func newWindow(rate float64, n int, tail float64) *window {
	w := &window{
		rate:   rate,
		binHz:  rate / float64(n),
		n:      n,
		fft:    dsp.NewRealFFT(n),
		shape:  make([]float64, n),
		in:     make([]float64, n),
		mag:    make([]float64, n/2+1),
		cum:    make([]float64, n/2+2),
		allHz:  make([]float64, n/2+1),
		allAmp: make([]float64, n/2+1),
		allPro: make([]float64, n/2+1),
	}
	fall := int(math.Round(tail * float64(n)))
	fall = max(2, min(n-2, fall))
	rise := n - fall
	sum := 0.0
	for i := range w.shape {
		var v float64
		if i < rise {
			v = 0.5 - 0.5*math.Cos(math.Pi*float64(i)/float64(rise))
		} else {
			v = 0.5 + 0.5*math.Cos(math.Pi*float64(i-rise)/float64(fall))
		}
		w.shape[i] = v
		sum += v
	}
	w.norm = 2 / sum
	return w
}

// analyze windows the newest samples of r and computes the magnitude spectrum.
// r holds at least w.n samples (its size).
func (w *window) analyze(r *ring) {
	w.cumDone = false
	in := r.view(w.n)
	if silent(in) {
		// The transform of zeros is zeros (+0 in every bin, as
		// WindowedMagnitudes would give): in pauses and before the first
		// sound, 2–3 % of windows on notebench's set B.
		clear(w.mag)
		return
	}
	w.fft.WindowedMagnitudes(w.mag, in, w.shape, w.norm)
}

// silent reports whether every sample of x is zero (of either sign).
func silent(x []float64) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// findPeaks keeps the strongest local maxima in [peakLo, peakHi] that stand
// out from their neighbourhood by prominence and exceed floor (amplitude).
func (w *window) findPeaks(prominence, floor float64, lobe int) {
	lo := max(2, int(w.peakLo/w.binHz))
	hi := min(len(w.mag)-3, int(w.peakHi/w.binHz)+1)
	if !w.cumDone {
		prefixSums(w, nil, nil)
	}
	n := 0
	for k := lo; k <= hi; k++ {
		m := w.mag[k]
		if m < floor || m <= w.mag[k-1] || m < w.mag[k+1] {
			continue
		}
		// The neighbourhood skips the peak's own main lobe (±2 bins).
		a, b := max(0, k-prominenceRadius), min(len(w.mag)-1, k+prominenceRadius)
		l0, l1 := k-lobe, k+lobe
		cnt := float64(max(0, l0-a) + max(0, b-l1))
		mean := (w.cum[max(a, l0)] - w.cum[a] + w.cum[b+1] - w.cum[min(b, l1)+1]) / max(1, cnt)
		if m < prominence*mean {
			continue
		}
		// Parabolic interpolation on the log magnitude.
		la, lb, lc := fastLn(w.mag[k-1]+1e-12), fastLn(m+1e-12), fastLn(w.mag[k+1]+1e-12)
		den := la - 2*lb + lc
		d := 0.0
		if den < 0 {
			d = 0.5 * (la - lc) / den
		}
		w.allHz[n] = (float64(k) + d) * w.binHz
		w.allAmp[n] = math.Exp(lb - 0.25*(la-lc)*d)
		w.allPro[n] = m / max(mean, 1e-12)
		n++
	}
	if n > maxPeaks {
		// Keep the strongest maxPeaks: raise a threshold by partial selection.
		th := kthLargest(w.allAmp[:n], maxPeaks, w.in[:n])
		j := 0
		for i := 0; i < n && j < maxPeaks; i++ {
			if w.allAmp[i] >= th {
				w.allHz[j], w.allAmp[j], w.allPro[j] = w.allHz[i], w.allAmp[i], w.allPro[i]
				j++
			}
		}
		n = j
	}
	copy(w.peakHz[:n], w.allHz[:n])
	copy(w.peakAmp[:n], w.allAmp[:n])
	copy(w.peakPro[:n], w.allPro[:n])
	w.nPeaks = n
}

// cumLen is how many prefix sums findPeaks reads: as far as the
// neighbourhoods of [peakLo, peakHi] reach.
func (w *window) cumLen() int {
	hi := min(len(w.mag)-3, int(w.peakHi/w.binHz)+1)
	return min(len(w.mag), hi+prominenceRadius+1)
}

// prefixSums takes the prefix sums of the magnitudes of a, b and c (b and c
// may be nil) that findPeaks reads, each in order from bin 0. When all three
// are given, in one loop, so that the three chains of additions run side by
// side rather than one after another. (The fast window's spectrum is read every tick, its peaks
// only after onsets: findPeaks takes its sums itself.)
func prefixSums(a, b, c *window) {
	na, nb, nc := a.cumLen(), 0, 0
	if b != nil {
		nb = b.cumLen()
	}
	if c != nil {
		nc = c.cumLen()
	}
	k, sa, sb, sc := 0, 0.0, 0.0, 0.0
	if b != nil && c != nil { // the ticks that analyse the long window too
		am, bm, cm := a.mag[:na], b.mag[:nb], c.mag[:nc]
		ac, bc, cc := a.cum[1:na+1], b.cum[1:nb+1], c.cum[1:nc+1]
		for ; k < min(na, nb, nc); k++ {
			sa += am[k]
			ac[k] = sa
			sb += bm[k]
			bc[k] = sb
			sc += cm[k]
			cc[k] = sc
		}
	}
	// the rest of each, alone
	for _, r := range [3]struct {
		w   *window
		n   int
		sum float64
	}{{a, na, sa}, {b, nb, sb}, {c, nc, sc}} {
		if r.w == nil {
			continue
		}
		r.w.cum[0] = 0
		sum := r.sum
		for i := k; i < r.n; i++ {
			sum += r.w.mag[i]
			r.w.cum[i+1] = sum
		}
		r.w.cumDone = true
	}
}

// flatness is the spectral flatness of the power spectrum from 100 Hz to
// 6 kHz: geometric over arithmetic mean, 1 for white noise, near 0 for tones.
func (w *window) flatness() float64 {
	lo, hi := max(1, int(100/w.binHz)), min(len(w.mag)-1, int(6000/w.binHz))
	// Σ ln p is taken as the log of products of runs of 8 (p ≥ 1e-20, so
	// a run stays above 1e-160): one logarithm per run.
	logSum, sum, run := 0.0, 0.0, 1.0
	for k := lo; k <= hi; k++ {
		p := w.mag[k]*w.mag[k] + 1e-20
		run *= min(p, 1e3) // |X| ≤ ~30 even for garbage input; keep runs finite
		if (k-lo)%8 == 7 {
			logSum += fastLn(run)
			run = 1
		}
		sum += p
	}
	logSum += fastLn(run)
	n := float64(hi - lo + 1)
	return math.Exp(logSum/n) / (sum / n)
}

// kthLargest returns the k-th largest value of v, using scratch (len(v)).
func kthLargest(v []float64, k int, scratch []float64) float64 {
	s := scratch[:len(v)]
	copy(s, v)
	// Quickselect for the (len-k)-th smallest.
	target := len(s) - k
	lo, hi := 0, len(s)-1
	for lo < hi {
		p := s[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for s[i] < p {
				i++
			}
			for s[j] > p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case target <= j:
			hi = j
		case target >= i:
			lo = i
		default:
			return s[target]
		}
	}
	return s[target]
}

func (w *window) reset() {
	clear(w.mag)
	w.nPeaks = 0
	w.cumDone = false
}
