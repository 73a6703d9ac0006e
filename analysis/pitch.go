package analysis

import "math"

// maxHarmonics bounds Config.Harmonics.
const maxHarmonics = 16

// maxCandidates bounds the candidate pitches scored per window and frame.
const maxCandidates = 128

const (
	// partialTolerance is how far (relative) a peak may sit from a predicted
	// partial and still belong to it: half a semitone is 2.9 %.
	partialTolerance = 0.04
	// binTolerance widens that to a fraction of a bin in coarse windows.
	binTolerance = 0.3
	// pitchFitCents is the spread of the penalty for an f0 estimate off the
	// candidate's equal-tempered pitch; it decides between neighbours.
	pitchFitCents = 35.0
	// lowNoteHz: below it a note needs two partials; a kick drum's thump is a
	// lone low sinusoid, a bass note is not.
	lowNoteHz = 110.0
	// singlePartialProminence is the prominence a note with one partial needs.
	singlePartialProminence = 15.0
	// strongPartialRatio: partials weaker than this fraction (-20 dB) of a
	// note's strongest partial do not count towards its partial count.
	strongPartialRatio = 0.1
	// strongPartialProminence: noise peaks rarely stand 3× above their
	// neighbourhood; partials of a real tone do.
	strongPartialProminence = 3.0
	// fundamentalFloor: the fundamental must be present at this fraction of
	// the strongest matched partial, so a sub-octave is never chosen for a
	// note whose even partials it happens to match.
	fundamentalFloor = 0.05
	// lowerOwnShare and lowerScoreShare decide when a lower pitch explains
	// the winner (see preferLower): the partials only the lower pitch has
	// must carry this share of its score, and its score this share of the
	// winner's.
	lowerOwnShare   = 0.25
	lowerScoreShare = 0.5
	// harmonicWeightExp weights partial h by h^-exp in the score.
	harmonicWeightExp = 0.5
	// activeBonus favours pitches that are already sounding, which keeps
	// vibrato and slight detuning from flickering between neighbours.
	activeBonus = 1.3
)

// subharmonicSemis[d] is 12·log2(d): how far below a peak its d-th
// subharmonic lies, in semitones.
var subharmonicSemis = [4]float64{0, 0, 12, 12 * math.Log2(3)}

// candidate is one pitch hypothesis in one window.
type candidate struct {
	midi    int
	hz      float64                // f0 estimated from the matched partials
	fit     float64                // pitch-fit factor 0–1
	partial [maxHarmonics + 1]int8 // peak index of partial h, or -1
	nh      int                    // partials considered
	matched int
	taken   bool
}

// windowNote is a pitch one window found in the current frame.
type windowNote struct {
	midi int
	hz   float64
	amp  float64 // amplitude of the note's partials explained, linear
	lone bool    // only one partial was found (a sine-like tone)
}

// pitchFinder groups one window's peaks into notes by iterative
// estimate-and-cancel: take the best-scoring harmonic series, subtract its
// partials (assuming a smooth spectral envelope, so shared partials keep
// what the next note needs), and repeat.
type pitchFinder struct {
	tuning    float64
	harmonics int
	relThresh float64
	minAmp    float64
	maxPoly   int
	// prominence is what a partial needs to count towards a note's
	// partial count: the stricter of Config.PeakProminence and
	// strongPartialProminence, never relaxed after onsets.
	prominence float64
	// minStrong is the fewest strong partials a note needs in this frame
	// (more while the spectrum is noise-like; see Analyzer.Frame).
	minStrong int
	weight    [maxHarmonics + 1]float64
	hz        [128]float64 // midiHz, computed once

	cands  [maxCandidates]candidate
	nCands int
	seen   [128]bool
	// residual[p+1] is what is left of peak p; residual[0] stays 0 and
	// stands for a partial not found (partial -1), so that the scores add
	// every partial without a branch on whether it was found.
	residual [maxPeaks + 1]float64
	notes    [MaxNotes]windowNote
	nNotes   int
}

func newPitchFinder(cfg Config) pitchFinder {
	pf := pitchFinder{
		tuning:     cfg.TuningHz,
		harmonics:  cfg.Harmonics,
		relThresh:  cfg.RelThreshold,
		minAmp:     math.Pow(10, cfg.MinNoteDB/20),
		maxPoly:    cfg.MaxPolyphony,
		prominence: max(cfg.PeakProminence, strongPartialProminence),
	}
	for h := 1; h <= maxHarmonics; h++ {
		pf.weight[h] = math.Pow(float64(h), -harmonicWeightExp)
	}
	for m := range pf.hz {
		pf.hz[m] = pf.tuning * math.Exp2(float64(m-69)/12)
	}
	return pf
}

// midiHz is the equal-tempered frequency of MIDI note m (0–127).
func (pf *pitchFinder) midiHz(m int) float64 { return pf.hz[m] }

// find fills pf.notes from the peaks of w. active[m] tells which pitches
// are sounding now.
func (pf *pitchFinder) find(w *window, active *[128]bool) {
	pf.nNotes = 0
	pf.nCands = 0
	clear(pf.seen[:])
	if w.nPeaks == 0 {
		return
	}
	// Candidates: every peak as partial 1, 2 or 3 of some pitch in range.
	for p := 0; p < w.nPeaks && pf.nCands < maxCandidates; p++ {
		semis := 69 + 12/math.Ln2*fastLn(w.peakHz[p]/pf.tuning) // the peak as partial 1
		for d := 1; d <= 3; d++ {
			f0 := w.peakHz[p] / float64(d)
			if f0 < w.f0Lo || f0 > w.f0Hi {
				continue
			}
			m := int(math.Round(semis - subharmonicSemis[d]))
			if m < 0 || m > 127 || pf.seen[m] {
				continue
			}
			pf.seen[m] = true
			if pf.match(w, m) && pf.nCands < maxCandidates {
				pf.nCands++
			}
		}
	}
	copy(pf.residual[1:w.nPeaks+1], w.peakAmp[:w.nPeaks])
	firstBest := 0.0
	for iter := 0; iter < pf.maxPoly; iter++ {
		bi, bs := -1, 0.0
		for i := range pf.cands[:pf.nCands] {
			c := &pf.cands[i]
			if c.taken {
				continue
			}
			s := pf.score(c, w)
			if active[c.midi] {
				s *= activeBonus
			}
			if s > bs {
				bi, bs = i, s
			}
		}
		if bi < 0 || (firstBest > 0 && bs < pf.relThresh*firstBest) {
			break
		}
		bi = pf.preferLower(bi, bs, w)
		c := &pf.cands[bi]
		c.taken = true
		// The fundamental has to be there in what is left of the spectrum.
		if c.partial[1] < 0 || pf.residual[c.partial[1]+1] < fundamentalFloor*pf.maxResidual(c) {
			continue
		}
		if firstBest == 0 {
			firstBest = bs
		}
		amp := pf.cancel(c)
		if amp < pf.minAmp {
			continue
		}
		if c.hz >= w.reportLo && c.hz <= w.reportHi {
			pf.notes[pf.nNotes] = windowNote{midi: c.midi, hz: c.hz, amp: amp, lone: c.matched == 1}
			pf.nNotes++
		}
		// A neighbouring semitone sharing these partials is the same note.
		for i := range pf.cands[:pf.nCands] {
			if d := pf.cands[i].midi - c.midi; d == 1 || d == -1 {
				pf.cands[i].taken = true
			}
		}
		if pf.nNotes == MaxNotes {
			break
		}
	}
}

// preferLower checks the octave and twelfth below the winner: when that
// pitch also has real energy at the partials the winner cannot explain (its
// fundamental and odd partials), the winner was an overtone series of it.
func (pf *pitchFinder) preferLower(bi int, bs float64, w *window) int {
	c := &pf.cands[bi]
	for _, down := range [...]int{12, 19, 24} {
		low := pf.candidateFor(c.midi - down)
		if low < 0 || pf.cands[low].taken {
			continue
		}
		lc := &pf.cands[low]
		step := 2
		if down == 19 {
			step = 3
		} else if down == 24 {
			step = 4
		}
		own, total := 0.0, 0.0
		for h := 1; h <= lc.nh; h++ {
			p := lc.partial[h]
			if p < 0 {
				continue
			}
			v := pf.weight[h] * pf.residual[p+1]
			total += v
			if h%step != 0 {
				own += v
			}
		}
		if lc.partial[1] >= 0 && own >= lowerOwnShare*total && pf.score(lc, w) >= lowerScoreShare*bs {
			return low
		}
	}
	return bi
}

func (pf *pitchFinder) candidateFor(m int) int {
	if m < 0 || m > 127 || !pf.seen[m] {
		return -1
	}
	for i := range pf.cands[:pf.nCands] {
		if pf.cands[i].midi == m {
			return i
		}
	}
	return -1
}

// match finds the partials of pitch m among w's peaks and stores the
// candidate; it reports false when the series is implausible (and leaves
// the candidate's slot as it was).
func (pf *pitchFinder) match(w *window, m int) bool {
	// The candidate is built in locals and stored only when it is kept: the
	// loops below then read and write no memory the compiler must assume
	// the window's fields share.
	partial := noPartials
	nh, matched := 0, 0
	peakHz := w.peakHz[:w.nPeaks]
	nPeaks := len(peakHz)
	harmonics := min(pf.harmonics, maxHarmonics)
	peakHi, binTol := w.peakHi, binTolerance*w.binHz
	nominal := pf.midiHz(m)
	est := nominal
	sumW, sumF := 0.0, 0.0
	// found lists the peaks matched, in order; strongest is the largest of
	// their amplitudes (kept as they are found: the same maximum).
	var found [maxHarmonics]int8
	strongest := 0.0
	next := 0 // targets rise with h, so the peak search walks forward
	for h := 1; h <= harmonics; h++ {
		target := float64(h) * est
		if target > peakHi {
			break
		}
		nh = h
		for next < nPeaks && peakHz[next] < target {
			next++
		}
		p := next
		if p == nPeaks || (p > 0 && target-peakHz[p-1] < peakHz[p]-target) {
			p--
		}
		if p < 0 {
			continue
		}
		// max(partialTolerance*target, binTol): both are positive
		tol := partialTolerance * target
		if binTol > tol {
			tol = binTol
		}
		if math.Abs(peakHz[p]-target) > tol {
			continue
		}
		// Do not let two partials claim one peak.
		if partial[h-1] == int8(p) {
			continue
		}
		partial[h] = int8(p)
		found[matched] = int8(p)
		matched++
		est = peakHz[p] / float64(h)
		a := w.peakAmp[p]
		strongest = max(strongest, a)
		sumW += a
		sumF += a * est
	}
	if matched == 0 || sumW == 0 {
		return false
	}
	// Count only partials within -20 dB of the strongest that pass the full
	// prominence test (it is relaxed after onsets): in a noisy spectrum (a
	// snare) weak or flat peaks line up with any series by chance.
	strong := 0
	for _, p := range found[:matched] {
		if w.peakAmp[p] >= strongPartialRatio*strongest && w.peakPro[p] >= pf.prominence {
			strong++
		}
	}
	matched = strong
	hz := sumF / sumW
	if matched < pf.minStrong {
		return false
	}
	if matched < 2 {
		// A lone partial is a note only below the kick-drum range and when
		// it is a clean sinusoid (a flute, a sine); cymbals and noise ring
		// with sharp but not clean peaks.
		if hz < lowNoteHz || partial[1] < 0 || w.peakPro[partial[1]] < singlePartialProminence {
			return false
		}
	}
	cents := 1200 / math.Ln2 * fastLn(hz/nominal)
	pf.cands[pf.nCands] = candidate{
		midi:    m,
		hz:      hz,
		fit:     math.Exp(-(cents * cents) / (2 * pitchFitCents * pitchFitCents)),
		partial: partial,
		nh:      nh,
		matched: matched,
	}
	return true
}

// noPartials is a candidate's partial array before matching: none found.
var noPartials = func() (p [maxHarmonics + 1]int8) {
	for h := range p {
		p[h] = -1
	}
	return p
}()

// score is Σ weight[h]·residual over the partials found, times the pitch
// fit. A partial not found adds weight·0 = +0, which leaves the sum as it
// is (residuals are ≥ 0): no branch on the partials, whose pattern differs
// from candidate to candidate. Each product is rounded before it is added
// (the float64 conversion forbids fusing it into an FMA, which GOAMD64=v3
// and arm64 would otherwise do), so the score is the same bits on every
// GOARCH and GOAMD64 level.
func (pf *pitchFinder) score(c *candidate, w *window) float64 {
	s := 0.0
	for h, p := range c.partial[1 : c.nh+1] {
		s += float64(pf.weight[h+1] * pf.residual[int(p)+1])
	}
	return s * c.fit
}

// maxResidual is the largest residual among the partials found (0 for none).
func (pf *pitchFinder) maxResidual(c *candidate) float64 {
	m := 0.0
	for _, p := range c.partial[1 : c.nh+1] {
		m = max(m, pf.residual[int(p)+1])
	}
	return m
}

// cancel subtracts the note's partials from the residual, each limited to
// the mean of its neighbours (spectral smoothness), and returns the RMS
// amplitude of what was removed.
func (pf *pitchFinder) cancel(c *candidate) float64 {
	var a [maxHarmonics + 2]float64
	for h := 1; h <= c.nh; h++ {
		if p := c.partial[h]; p >= 0 {
			a[h] = pf.residual[p+1]
		}
	}
	energy := 0.0
	for h := 1; h <= c.nh; h++ {
		p := c.partial[h]
		if p < 0 {
			continue
		}
		n := 1.0
		s := a[h]
		if h > 1 {
			s += a[h-1]
			n++
		}
		if h < c.nh {
			s += a[h+1]
			n++
		}
		remove := min(a[h], s/n)
		if h == 1 {
			remove = a[h] // the fundamental belongs to this note
		}
		pf.residual[p+1] -= remove
		energy += remove * remove
	}
	return math.Sqrt(energy)
}
