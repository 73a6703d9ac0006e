package analysis

import "math"

const (
	// fluxCompression is γ in log(1+γ·|X|): it makes the flux respond to
	// relative (dB) changes, so quiet and loud attacks count alike.
	fluxCompression = 1000
	// onsetAdapt is the smoothing factor of the flux statistics (≈ 0.4 s).
	onsetAdapt = 1.0 / 24
	// onsetMinGap is the fewest frames between two onsets.
	onsetMinGap = 3
	// onsetMinFlux is the mean per-bin rise below which nothing is an onset.
	onsetMinFlux = 0.05
)

// onsetDetector reports attacks from the short window's spectral flux (the
// summed rise of log magnitudes) against an adaptive threshold.
type onsetDetector struct {
	sensitivity float64
	prev        []float64 // 1+γ|X| per bin in the previous frame
	mean, dev   float64
	since       int
	// flux is the last update's, for the tracker's odds.
	flux float64
}

func newOnsetDetector(cfg Config, bins int) onsetDetector {
	o := onsetDetector{sensitivity: cfg.OnsetSensitivity, prev: make([]float64, bins)}
	o.reset()
	return o
}

func (o *onsetDetector) reset() {
	for k := range o.prev {
		o.prev[k] = 1 // 1+γ·0: silence
	}
	// The statistics start from silence, so a source that starts with a
	// sound (a stream joined mid-phrase, a file that starts on a note)
	// reports that sound's onset like any other.
	o.mean, o.dev, o.since = 0, 0, onsetMinGap
}

func (o *onsetDetector) update(w *window) bool {
	hi := min(len(w.mag), int(9000/w.binHz))
	// flux = Σ max(0, ln v_k − ln prev_k), v = 1+γ|X|, taken as the log of
	// products of the rises in runs of 8 (a rise is at most ~1e3, so a run
	// cannot overflow): one logarithm per run instead of one per bin.
	//
	// Whether a bin rose is close to a coin toss, so the loop has no branch
	// on it: a bin that did not rise multiplies the run by max(1, v/prev) = 1
	// exactly, and counts 0 (half the time of the branching loop).
	flux, run, inRun := 0.0, 1.0, 0
	mag, prev := w.mag[:hi], o.prev[:hi]
	for k := 1; k < hi; k++ {
		v, p := 1+fluxCompression*mag[k], prev[k]
		prev[k] = v
		run *= max(1, v/p) // v, p ≥ 1 and finite
		rose := 0
		if v > p {
			rose = 1
		}
		if inRun += rose; inRun == 8 {
			flux += fastLn(run)
			run, inRun = 1, 0
		}
	}
	flux += fastLn(run)
	flux /= float64(hi - 1)
	o.since++
	th := o.mean + o.sensitivity*o.dev
	hit := flux > th && flux > onsetMinFlux && o.since >= onsetMinGap
	o.flux = flux
	// Clip what the statistics learn from so one big hit does not mask the next.
	learn := min(flux, o.mean+4*o.dev+onsetMinFlux)
	o.dev += onsetAdapt * (math.Abs(learn-o.mean) - o.dev)
	o.mean += onsetAdapt * (learn - o.mean)
	if hit {
		o.since = 0
	}
	return hit
}
