package analysis

import "math"

// Two logistic regressions decide which of the tracker's onset events to
// trust: re-attack flags, and births (a pitch turning on). The scorer counts
// both as onsets, and at this detector's precision (about one event in four
// is right) an event only pays when it is right more often than about F1/2.
//
// The weights were fitted with numpy on a training corpus that shares no
// clip with notebench's set B (set T from testdata/notebench-train: other
// seeds and the other half of the real MIDI files), each event labelled by
// the scorer's rule (a ground-truth onset of the same pitch within ±50 ms),
// and checked on set B and on a second held-out set (V); the cut-offs were
// chosen on set T. docs/benchmarks/analysis.md has the method and figures.
// An event's log-odds of being right is bias + Σ weight × feature, from
// values the analyser already has at that tick.

// Re-attack flags (a sounding note at an onset that the partial-rise rule,
// ReattackRatio, let through) are kept when the odds reach
// reattackMinProbability. In words: a strong onset whose rise is the
// note's own (its partials rose more than the whole short spectrum) on a
// note that has sounded a while; bass notes, whose partials share the short
// window's wide bins with everything else, need more.
const (
	reattackOddsBias       = -0.0950
	reattackOddsLnFlux     = 1.3807  // ln of the onset's spectral flux (mean log rise per bin)
	reattackOddsLnNoteRise = 1.0646  // ln of the note's short-window partials / last tick's
	reattackOddsLnSpecRise = -1.5046 // ln of the whole short spectrum (100 Hz–9 kHz) / last tick's
	reattackOddsLnAge      = 0.2947  // ln of frames since the note's birth (at most oddsMaxAge)
	reattackOddsBelowC3    = -1.2204
	reattackOddsFromC5     = -0.2850
	reattackMinProbability = 0.10
)

// Births judged less likely than birthMinProbability are deferred by one
// frame: the pitch turns on only if it is found again in the next frame.
// Most such births are one-frame artefacts of an attack (a partial of the
// new note, a lone peak), and deferred they never show. In words: a pitch
// the fast window (43 ms, newest audio) sees as strongly as the mid window
// does is new; a weak one beside a strong note, a lone partial, a bass or
// high pitch, or one among many sounding notes is suspect.
const (
	birthOddsBias        = -0.0954
	birthOddsLnFlux      = 0.1585  // ln of this tick's spectral flux
	birthOddsQuiet       = -0.2945 // no onset in the last lowOnsetWindowFrames frames
	birthOddsBelowC3     = -1.3796
	birthOddsFromC5      = -0.7223
	birthOddsLnRelMax    = 0.9810  // ln of the note's amplitude / the strongest sounding note's
	birthOddsLonePartial = -1.1358 // only one partial was found
	birthOddsPerNoteOn   = -0.1672 // per note sounding, this tick's births included
	birthOddsLnFastMid   = 1.3219  // ln of its partials in the fast window / in the mid window, within ±3; 0 when the fast window was not analysed
	birthMinProbability  = 0.15
)

// Clamps that keep the features' logarithms finite.
const (
	oddsMinFlux     = 1e-4
	oddsMinRatio    = 1e-3
	oddsMinAmp      = 1e-9
	oddsMaxAge      = 120
	oddsMaxLnWindow = 3
)

// onsetContext is what the odds need about the tick as a whole.
type onsetContext struct {
	lnFlux, lnSpecRise float64
	maxAmp             float64 // strongest sounding note
	notesOn            int
	mid                *window
	fast               *window // nil when the fast window was not analysed this tick
}

// The features, in the order of the weight arrays below (and of the
// training dump's columns, see onsetodds_dump_test.go).
const (
	reattackFeatures = 6 // lnFlux, lnNoteRise, lnSpecRise, lnAge, belowC3, fromC5
	birthFeatures    = 8 // lnFlux, quiet, belowC3, fromC5, lnRelMax, lonePartial, notesOn, lnFastMid
)

var (
	reattackWeights = [reattackFeatures]float64{reattackOddsLnFlux, reattackOddsLnNoteRise,
		reattackOddsLnSpecRise, reattackOddsLnAge, reattackOddsBelowC3, reattackOddsFromC5}
	birthWeights = [birthFeatures]float64{birthOddsLnFlux, birthOddsQuiet, birthOddsBelowC3,
		birthOddsFromC5, birthOddsLnRelMax, birthOddsLonePartial, birthOddsPerNoteOn, birthOddsLnFastMid}
)

// onsetEvent is one judged event, kept only while the training dump asks
// for them (tracker.events non-nil).
type onsetEvent struct {
	midi     int
	reattack bool // else a birth
	features [max(reattackFeatures, birthFeatures)]float64
	p        float64
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func lnRatio(a, b float64) float64 { return math.Log(max(a, oddsMinAmp) / max(b, oddsMinAmp)) }

// odds returns the probability bias + w·x maps to, recording the event when
// the training dump asks for it.
func (t *tracker) odds(m int, reattack bool, bias float64, w, x []float64) float64 {
	z := bias
	for i := range w {
		z += w[i] * x[i]
	}
	p := 1 / (1 + math.Exp(-z))
	if t.events != nil {
		e := onsetEvent{midi: m, reattack: reattack, p: p}
		copy(e.features[:], x)
		t.events = append(t.events, e)
	}
	return p
}

// reattackProbability is the chance that a re-attack flag on note m is a
// real note-on; lnNoteRise is the ln of its short-window partials against
// last tick's.
func (t *tracker) reattackProbability(c *onsetContext, m int, lnNoteRise float64) float64 {
	x := [reattackFeatures]float64{
		c.lnFlux,
		lnNoteRise,
		c.lnSpecRise,
		math.Log(float64(min(max(t.age[m], 1), oddsMaxAge))),
		b2f(m < lowOnsetMIDI),
		b2f(m >= highOnsetMIDI),
	}
	return t.odds(m, true, reattackOddsBias, reattackWeights[:], x[:])
}

// birthProbability is the chance that note m, turning on now, is a real
// note-on.
func (t *tracker) birthProbability(c *onsetContext, m int) float64 {
	lnFastMid := 0.0
	if c.fast != nil {
		if fa := partialAmplitude(c.fast, t.hz[m]); fa > 0 {
			lnFastMid = max(-oddsMaxLnWindow, min(oddsMaxLnWindow, lnRatio(fa, partialAmplitude(c.mid, t.hz[m]))))
		}
	}
	x := [birthFeatures]float64{
		c.lnFlux,
		b2f(t.sinceOnset > lowOnsetWindowFrames),
		b2f(m < lowOnsetMIDI),
		b2f(m >= highOnsetMIDI),
		lnRatio(t.amp[m], c.maxAmp),
		b2f(t.detLone[m]),
		float64(c.notesOn),
		lnFastMid,
	}
	return t.odds(m, false, birthOddsBias, birthWeights[:], x[:])
}

// partialAmplitude sums w's magnitude at the first four partials of hz (the
// strongest of three bins each), up to the window's Nyquist frequency.
func partialAmplitude(w *window, hz float64) float64 {
	s := 0.0
	for h := 1; h <= 4; h++ {
		k := int(math.Round(float64(h) * hz / w.binHz))
		if k < 1 || k >= len(w.mag)-1 {
			break
		}
		s += max(w.mag[k-1], w.mag[k], w.mag[k+1])
	}
	return s
}
