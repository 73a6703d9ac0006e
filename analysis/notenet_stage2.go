package analysis

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The note net's second stage. The first stage judges each pitch on its own
// spectra; the second reads the first's two logits for the pitch, for the
// pitches harmonically related to it and for the last ticks, and makes the
// final call. What it adds is context the first stage cannot see: whether
// the octave below started too (an overtone, not a note), whether the pitch
// already sounded a few ticks ago (a re-flag of a held note, not a
// re-attack), whether its sounding logit just dipped for a tick (flicker).
// testdata/notebench-train/stage2.py fits it on the first stage's outputs
// (docs/benchmarks/analysis.md, "Second stage of the note net").

// The first stage's logits are clipped to this range before the second
// stage reads them; a pitch the first stage did not judge reads s2Low.
const s2Low, s2High = -8, 12

// s2Clip clips a first-stage logit for the second stage. NaN, which no
// input reaches today (the analyser cleans its PCM), would read s2Low
// rather than sit in the history for s2Ago ticks.
func s2Clip(v float32) float32 {
	if !(v >= s2Low) {
		return s2Low
	}
	return min(v, s2High)
}

// s2Offsets are the related pitches whose logits the second stage reads, in
// semitones: neighbours (the coarse windows' smear), fourths and fifths,
// octaves and twelfths.
var s2Offsets = [...]int{-24, -19, -12, -7, -5, -1, 1, 5, 7, 12, 19, 24}

const (
	s2Pad = 24 // the largest |offset|: z is padded by it on both sides
	s2Ago = 8  // ticks of history the second stage reads
	s2Own = 11 // inputs from the pitch's own logits: now, 1–4 ticks ago, the largest sounding of the last s2Ago
	s2In  = s2Own + 2*len(s2Offsets) + 2
	// s2Scale brings the logits to about unit range for training; a power
	// of two, so folding it into the weights (s2W1Scaled) is exact.
	s2Scale = 0.25
)

// stage2 is the second stage's per-source state.
type stage2 struct {
	// z is this tick's clipped first-stage logits (sounding, starting) per
	// pitch, with s2Pad pitches of s2Low on either side.
	z [netPitches + 2*s2Pad][2]float32
	// ago is a ring of the last s2Ago ticks' z (unpadded); ago[newest] is
	// last tick's.
	ago    [s2Ago][netPitches][2]float32
	newest int
	x      [netPitches * s2In]float32 // the judged pitches' inputs, one row of s2In each
	h1     [netPitches * s2H1]float32 // their first hidden layer, one row of s2H1 each
	h2     [netPitches * s2H2]float32 // their second
}

func (s *stage2) reset() {
	for i := range s.z {
		s.z[i] = [2]float32{s2Low, s2Low}
	}
	for t := range s.ago {
		for p := range s.ago[t] {
			s.ago[t][p] = [2]float32{s2Low, s2Low}
		}
	}
	s.newest = 0
}

// back is the first stage's logits d ticks ago (1 ≤ d ≤ s2Ago).
func (s *stage2) back(d int) *[netPitches][2]float32 {
	return &s.ago[(s.newest-(d-1)+s2Ago)%s2Ago]
}

// run replaces the first stage's logits in n.pa and n.po, for the pitches
// it judged (n.passed[:rows]), with the second stage's, and pushes this
// tick's first-stage logits into the history: it runs once a tick.
func (s *stage2) run(n *noteNet, rows int) {
	z := s.z[s2Pad : s2Pad+netPitches]
	for p := range z {
		z[p] = [2]float32{s2Low, s2Low}
	}
	for _, p := range n.passed[:rows] {
		z[p] = [2]float32{s2Clip(n.pa[p]), s2Clip(n.po[p])}
	}
	// The frame's largest and second largest starting logits.
	top1, top2 := float32(s2Low), float32(s2Low)
	for _, v := range z {
		if v[1] > top1 {
			top1, top2 = v[1], top1
		} else if v[1] > top2 {
			top2 = v[1]
		}
	}
	var ago [s2Ago + 1]*[netPitches][2]float32 // ago[d]: d ticks back, looked up once a tick
	for d := 1; d <= s2Ago; d++ {
		ago[d] = s.back(d)
	}
	b1, b2, b3, b4 := ago[1], ago[2], ago[3], ago[4]
	for k, p := range n.passed[:rows] {
		x := (*[s2In]float32)(s.x[k*s2In : (k+1)*s2In])
		// The pitch now and over the last ticks.
		x[0], x[1] = z[p][0], z[p][1]
		// (Tick 2's pair is starting, then sounding, unlike the others: the
		// order the weights were trained with, stage2.py's features().)
		x[2], x[3], x[4] = b1[p][0], b1[p][1], b2[p][1]
		x[5], x[6], x[7], x[8], x[9] = b2[p][0], b3[p][0], b3[p][1], b4[p][0], b4[p][1]
		// The most it sounded in the last s2Ago ticks: a held note, whose
		// re-flag is rarely a re-attack.
		maxSounding := b1[p][0]
		for _, b := range ago[2:] {
			maxSounding = max(maxSounding, b[p][0])
		}
		x[10] = maxSounding
		// The related pitches now.
		i := s2Own
		for _, d := range s2Offsets {
			v := s.z[s2Pad+p+d]
			x[i], x[i+1] = v[0], v[1]
			i += 2
		}
		x[i], x[i+1] = top1, top2
	}
	if rows > 0 {
		var impl gonum.Implementation
		impl.Sgemm(blas.NoTrans, blas.Trans, rows, s2H1, s2In, 1, s.x[:rows*s2In], s2In,
			s2W1Scaled[:], s2In, 0, s.h1[:rows*s2H1], s2H1)
	}
	for k := range rows {
		h1 := s.h1[k*s2H1 : (k+1)*s2H1]
		for j := range h1 {
			h1[j] = max(0, h1[j]+s2B1[j])
		}
	}
	heads(n.passed[:rows], s.h1[:rows*s2H1], s.h2[:rows*s2H2], s2W2Flat, s2B2[:], s2W3[0][:], s2W3[1][:], s2B3, &n.pa, &n.po)
	s.newest = (s.newest + 1) % s2Ago
	s.ago[s.newest] = [netPitches][2]float32(z)
}

var s2W2Flat = unitMajor(s2H2, s2H1, func(j, i int) float32 { return s2W2[j][i] })

// s2W1Scaled is s2W1 with s2Scale folded in: the inputs go to layer 1 as
// they are.
var s2W1Scaled = func() (w [s2H1 * s2In]float32) {
	for i, v := range s2W1 {
		w[i] = v * s2Scale
	}
	return w
}()
