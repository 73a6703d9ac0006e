package analysis

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The note net: a small per-pitch neural network that makes the final call
// on which notes sound and which just started, from the four windows'
// spectra read at the pitch's harmonics (harmonic stacking: the same
// weights serve every pitch, shifted along a semitone axis) and from what
// the pitch finders and the tracker concluded. It was trained offline on
// generated audio that shares no clip with notebench's set B
// (testdata/notebench-train); notenet_weights.go holds the weights.

// Pitches the net judges: E1 to C8.
const (
	netLoMIDI  = 28
	netHiMIDI  = 108
	netPitches = netHiMIDI - netLoMIDI + 1
)

// The semitone spectra span a sub-twelfth below the lowest pitch to well
// above the fifth partial of the highest (the gathers reach +28 semitones;
// the rest feeds only the frame's mean rises).
const (
	semiLo = netLoMIDI - 19
	semiHi = netHiMIDI + 37 // exclusive
	nSemis = semiHi - semiLo
)

// semiFloorMag is the magnitude floor: a semitone band with nothing in
// it, or outside the window's range.
const semiFloorMag = 1e-6

// semiFloor is ln(semiFloorMag), the floor as the semitone map stores it.
var semiFloor = float32(math.Log(semiFloorMag))

// semitoneMap reads a window's magnitudes as one value per semitone: the
// largest bin within a quarter tone of the semitone's centre (the nearest
// bin when the band falls between two bins).
type semitoneMap struct {
	// runs are the semitones in order, neighbours that read the same bins
	// grouped (below a few hundred Hz several semitones read one bin), so
	// that each range's maximum and logarithm are taken once.
	runs  [nSemis]semitoneRun
	nRuns int
}

// semitoneRun is n semitones that read the bins lo to hi; hi < lo: outside
// the window's range.
type semitoneRun struct {
	lo, hi int16
	n      int16
}

func newSemitoneMap(w *window, tuning float64) semitoneMap {
	var s semitoneMap
	for i := range nSemis {
		f := tuning * math.Exp2(float64(semiLo+i-69)/12)
		lo, hi := 0, -1
		if f >= 1.5*w.binHz && f <= 0.45*w.rate {
			lo = int(math.Ceil(f * math.Exp2(-1.0/24) / w.binHz))
			hi = int(math.Ceil(f*math.Exp2(1.0/24)/w.binHz)) - 1
			if hi < lo {
				lo = int(math.Round(f / w.binHz))
				hi = lo
			}
			hi = min(hi, len(w.mag)-1)
		}
		if r := &s.runs[max(0, s.nRuns-1)]; s.nRuns > 0 && int(r.lo) == lo && int(r.hi) == hi {
			r.n++
			continue
		}
		s.runs[s.nRuns] = semitoneRun{lo: int16(lo), hi: int16(hi), n: 1}
		s.nRuns++
	}
	return s
}

// fill writes ln(magnitude) per semitone into dst.
func (s *semitoneMap) fill(w *window, dst *[nSemis]float32) {
	i := 0
	for _, r := range s.runs[:s.nRuns] {
		v := semiFloor
		if r.hi >= r.lo {
			// The largest bin, compared as bit patterns: magnitudes are
			// never negative, -0 or NaN, and for such floats the patterns
			// order as the values do. An integer maximum is a compare and
			// a conditional move, a much shorter chain than a float max.
			var mb uint64 // 0.0
			for _, x := range w.mag[r.lo : r.hi+1] {
				mb = max(mb, math.Float64bits(x))
			}
			v = lnTable(math.Float64frombits(mb) + semiFloorMag)
		}
		run := dst[i : i+int(r.n)]
		for j := range run {
			run[j] = v
		}
		i += len(run)
	}
}

// Indices of the four windows in netSpectra.
const (
	netShort = iota
	netFast
	netMid
	netLong
	netWindows
)

// netSpectra is what the net reads from the windows at one tick.
type netSpectra struct {
	maps [netWindows]semitoneMap
	cur  [netWindows][nSemis]float32
}

// fill reads the windows analysed this tick; the long window's spectrum
// stays as it was on the ticks it is not analysed.
func (ns *netSpectra) fill(a *Analyzer, longDue bool) {
	ns.maps[netShort].fill(a.short, &ns.cur[netShort])
	ns.maps[netFast].fill(a.fast, &ns.cur[netFast])
	ns.maps[netMid].fill(a.mid, &ns.cur[netMid])
	if longDue || a.frames <= longEvery {
		ns.maps[netLong].fill(a.long, &ns.cur[netLong])
	}
}

// The net's inputs. Per pitch m (in this order, which the trainer mirrors):
//   - ln magnitude relative to the loudness reference at m+shift, for each
//     window and each of netShift (sub-twelfth, sub-octave, partials 1–5);
//   - its rise since 1 tick (short, fast, mid), 2 ticks (short, fast) and
//     3 ticks (mid) at each of netDeltaShift;
//   - the fast, mid and long finders' amplitude for m;
//   - the tracker's verdict: sounding, flagged as onset, ln(1+age)/3;
//   - m's rise (short, fast; 1 and 2 ticks) and level (fast, mid, long)
//     against the pitch that rose most or is loudest in the frame;
//   - the register, (m−60)/24.
//
// Then the frame's values: ln(flux)/3, the onset flag, ticks since the
// onset (≤ 10)/10, the level against the loudness reference, the attack,
// and the mean rise of the short, fast and mid spectra.
var (
	netShift      = [...]int{-19, -12, 0, 12, 19, 24, 28}
	netDeltaShift = [...]int{-12, 0, 12, 19}
)

// Layer 1 runs as one gonum Sgemm, which goes parallel (goroutines) from
// four 64×64 blocks: with at most 81 rows, netH1 ≤ 64 keeps it serial.
const _ = uint(64 - netH1)

const (
	netPerPitch = netWindows*len(netShift) + 6*len(netDeltaShift) + 3 + 3 + 4 + 3 + 1
	netGlobals  = 8
	netIn       = netPerPitch + netGlobals
	// netK is the per-pitch inputs that go through the matrix product: all
	// but the register, whose share is a per-pitch constant (regBias).
	netK = netPerPitch - 1
	// Relative levels are clipped to this range (ln units, about −87…+26 dB).
	netRelLo, netRelHi = -10, 3
	netDeltaMax        = 5
	// netGate: a pitch none of the fast, mid and long windows hears within
	// this (ln) of the loudness reference, and that the tracker does not
	// hold, is not judged.
	netGate = -3.5
)

// noteNet holds the net's per-source state: the last spectra, and the
// decoder that turns its per-tick probabilities into notes.
type noteNet struct {
	spec   netSpectra
	hist   [3][netWindows][nSemis]float32 // the spectra of the last 3 ticks, a ring
	newest int                            // hist[newest] is last tick's
	frames int

	// x holds the inputs of the pitches the screen passed, one row of
	// netK each; passed[k] is row k's pitch. Layer 1 is one matrix product
	// over the rows (gonum's BLAS: vectorised on amd64).
	x         [netPitches * netK]float32
	passed    [netPitches]int
	h1All     [netPitches * netH1]float32
	h2All     [netPitches * netH2]float32
	glob      [netGlobals]float32
	pa, po    [netPitches]float32 // logits of P(sounding) and P(starting now); netLogitOff when not judged
	stage2    stage2              // turns the first stage's pa and po into the final ones
	prevPo    [netPitches]float32
	levels    [3]float32 // Features.Level of the last 3 ticks, a ring
	levelAt   int        // levels[levelAt] is last tick's
	onsetNear bool       // this tick has an attack or the onset detector fired

	on         [netPitches]bool
	low        [netPitches]int     // ticks in a row below netOffP
	since      [netPitches]int     // ticks since the last onset flag
	offFor     [netPitches]int     // ticks since the pitch stopped
	offLevel   [netPitches]float32 // the lowest level since it stopped
	onsetNow   [netPitches]bool
	wasOnset   [netPitches]bool           // last tick's onsetNow
	born       [netPitches]bool           // would start this tick, before the neighbour check
	suppressed [netPitches]bool           // scratch for the neighbour check
	regBias    [netPitches][netH1]float32 // the register's share of layer 1, per pitch
	regScreen  [netPitches]float32
	globH1     [netH1]float32
	globScreen float32
	// this tick's clipped relative levels and rises over all semitones
	rel         [netWindows][nSemis]float32
	rise1       [3][nSemis]float32 // short, fast, mid: since 1 tick
	rise2       [2][nSemis]float32 // short, fast: since 2 ticks
	rise3       [nSemis]float32    // mid: since 3 ticks
	maxRise     [4]float32
	maxRel      [3]float32
	oldFlag     [netPitches]bool       // the tracker's onset flags this tick
	det         [3][netPitches]float32 // the finders' relative amplitudes
	screenCutLn float32
	absGate     float32 // ln of the note bar's amplitude (Analyzer.setNoteGate)
	// report[p]: the pitch lies within Config.MinHz–MaxHz
	report [netPitches]bool
	// high[p]: the pitch lies above highNoteHz, where the mid window, whose
	// spectrum the net leans on, no longer sees it: the tracker's notes
	// (from the fast window) start and hold it too.
	high [netPitches]bool

	// last tick's rises: the fast window's since 1 and 2 ticks, the short
	// window's since 2 (see drumHit)
	lastFast1, lastFast2, lastShort2 [nSemis]float32
}

func newNoteNet(a *Analyzer) *noteNet {
	n := &noteNet{}
	for i, w := range [netWindows]*window{a.short, a.fast, a.mid, a.long} {
		n.spec.maps[i] = newSemitoneMap(w, a.cfg.TuningHz)
	}
	n.screenCutLn = logit32(netScreenCut)
	for p := range netPitches {
		hz := MIDIToHz(p+netLoMIDI, a.cfg.TuningHz)
		n.report[p] = hz >= a.cfg.MinHz && hz <= a.cfg.MaxHz
		n.high[p] = hz > highNoteHz
	}
	for p := range netPitches {
		reg := float32(p+netLoMIDI-60) / 24
		for j := range netH1 {
			n.regBias[p][j] = reg * netW1[j*netIn+netK]
		}
		n.regScreen[p] = reg * netScreenW[netPerPitch-1]
	}
	n.reset()
	return n
}

func (n *noteNet) reset() {
	maps := n.spec.maps
	regBias, regScreen, cut, absGate, report, high := n.regBias, n.regScreen, n.screenCutLn, n.absGate, n.report, n.high
	*n = noteNet{}
	n.spec.maps, n.regBias, n.regScreen, n.screenCutLn, n.absGate, n.report, n.high = maps, regBias, regScreen, cut, absGate, report, high
	for p := range n.since {
		n.since[p] = 99
		n.offFor[p] = 99
		n.prevPo[p] = netLogitOff
	}
	n.stage2.reset()
}

// lnTable is ln x for positive, normal x to about 2e-6 (absolute): the
// exponent, plus ln of the mantissa interpolated in a 1024-entry table.
// The net's inputs need no more, and the semitone spectra take hundreds a
// tick.
func lnTable(x float64) float32 {
	bits := math.Float64bits(x)
	exp := int((bits>>52)&0x7ff) - 1023
	frac := bits & (1<<52 - 1)
	i := frac >> (52 - lnTableBits)
	t := float32(frac&(1<<(52-lnTableBits)-1)) * (1.0 / (1 << (52 - lnTableBits)))
	lo, hi := lnMantissa[i], lnMantissa[i+1]
	return float32(exp)*math.Ln2 + lo + t*(hi-lo)
}

const lnTableBits = 10

// lnMantissa[i] is ln(1 + i/1024).
var lnMantissa = func() (t [1<<lnTableBits + 1]float32) {
	for i := range t {
		t[i] = float32(math.Log1p(float64(i) / (1 << lnTableBits)))
	}
	return t
}()

// netAgeFeature is ln(1+age)/3, from a table for the ages that matter.
func netAgeFeature(age int) float32 {
	if age >= 0 && age < len(netAgeTable) {
		return netAgeTable[age]
	}
	return float32(math.Log1p(float64(max(0, age)))) / 3
}

var netAgeTable = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(math.Log1p(float64(i))) / 3
	}
	return t
}()

// clip32 is max(lo, min(hi, v)) for lo < hi, both non-zero (NaN stays NaN,
// ±0 stays as it is), in two comparisons instead of four min/max
// sequences: it runs about 1400 times a tick.
func clip32(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// ln32 is ln for the net's inputs (magnitudes, levels): fastLn in float32.
func ln32(v float64) float32 { return float32(fastLn(v)) }

// frame runs the net on this tick and replaces dst's notes with its call.
// The finders and the tracker have run; their notes in dst are inputs.
func (n *noteNet) frame(a *Analyzer, dst *Features) {
	cur := &n.spec.cur
	if n.frames == 0 {
		n.hist = [3][netWindows][nSemis]float32{*cur, *cur, *cur}
	}
	ago := func(back int) *[netWindows][nSemis]float32 { return &n.hist[(n.newest+3-(back-1))%3] }
	n.frames++
	loudL := ln32(a.loudness + semiFloorMag)
	base := netLoMIDI - semiLo
	for w := range netWindows {
		for q, v := range cur[w] {
			n.rel[w][q] = clip32(v-loudL, netRelLo, netRelHi)
		}
	}
	rise := func(dst *[nSemis]float32, back, w int) {
		old := &ago(back)[w]
		for q, v := range cur[w] {
			dst[q] = clip32(v-old[q], -netDeltaMax, netDeltaMax)
		}
	}
	for w := range 3 {
		rise(&n.rise1[w], 1, w)
	}
	for w := range 2 {
		rise(&n.rise2[w], 2, w)
	}
	rise(&n.rise3, 3, netMid)

	// The finders' notes: the fast, mid and long windows' amplitude per pitch.
	floorRel := clip32(semiFloor-loudL, netRelLo, netRelHi)
	for d, pf := range [3]*pitchFinder{&a.fastFinder, &a.finders[0], &a.finders[1]} {
		for p := range n.det[d] {
			n.det[d][p] = floorRel
		}
		for _, wn := range pf.notes[:pf.nNotes] {
			if wn.midi >= netLoMIDI && wn.midi <= netHiMIDI {
				n.det[d][wn.midi-netLoMIDI] = clip32(ln32(wn.amp+semiFloorMag)-loudL, netRelLo, netRelHi)
			}
		}
	}

	// The frame's values and the cross-pitch references.
	flagOld := &n.oldFlag
	clear(flagOld[:])
	for _, nt := range dst.ActiveNotes() {
		if nt.Onset && nt.MIDI >= netLoMIDI && nt.MIDI <= netHiMIDI {
			flagOld[nt.MIDI-netLoMIDI] = true
		}
	}
	g := &n.glob
	g[0] = ln32(a.onset.flux+1e-4) / 3
	g[1] = 0
	if dst.Onset {
		g[1] = 1
	}
	g[2] = float32(min(a.sinceOnset, 10)) / 10
	g[3] = clip32(ln32(float64(dst.Level)+semiFloorMag)-loudL, netRelLo, netRelHi) / 3
	g[4] = 0
	if dst.AttackLevel > 0 {
		g[4] = clip32(ln32(float64(dst.AttackLevel)+semiFloorMag)-loudL, netRelLo, netRelHi)/3 + 1
	}
	// The three sums in one loop: three chains of additions side by side
	// instead of one after another (each in its own order, as before).
	var rs0, rs1, rs2 float32
	r0, r1, r2 := &n.rise1[0], &n.rise1[1], &n.rise1[2]
	for q := range nSemis {
		rs0 += max(0, r0[q])
		rs1 += max(0, r1[q])
		rs2 += max(0, r2[q])
	}
	g[5], g[6], g[7] = rs0/nSemis, rs1/nSemis, rs2/nSemis
	// The seven maxima in registers (as fields, each step went through
	// memory): maxRise is short and fast since 1 and 2 ticks, maxRel the
	// fast, mid and long levels, over the pitches' semitones.
	ms1, ms2, mf1, mf2 := float32(-netDeltaMax), float32(-netDeltaMax), float32(-netDeltaMax), float32(-netDeltaMax)
	mlf, mlm, mll := float32(netRelLo), float32(netRelLo), float32(netRelLo)
	s1, s2, f1, f2 := &n.rise1[netShort], &n.rise2[netShort], &n.rise1[netFast], &n.rise2[netFast]
	fr, mr, lr := &n.rel[netFast], &n.rel[netMid], &n.rel[netLong]
	for q := base; q < base+netPitches; q++ {
		ms1, ms2, mf1, mf2 = max(ms1, s1[q]), max(ms2, s2[q]), max(mf1, f1[q]), max(mf2, f2[q])
		mlf, mlm, mll = max(mlf, fr[q]), max(mlm, mr[q]), max(mll, lr[q])
	}
	n.maxRise = [4]float32{ms1, ms2, mf1, mf2}
	n.maxRel = [3]float32{mlf, mlm, mll}
	// The frame's share of layer 1 and of the screen.
	n.globScreen = netScreenB
	for i, v := range g {
		n.globScreen += netScreenW[netPerPitch+i] * v
	}
	for j := range netH1 {
		s := netB1[j]
		for i, v := range g {
			s += netW1[j*netIn+netPerPitch+i] * v
		}
		n.globH1[j] = s
	}

	rows := 0
	for p := range netPitches {
		n.pa[p], n.po[p] = netLogitOff, netLogitOff
		m := p + netLoMIDI
		q := base + p
		fund := max(n.rel[netFast][q], n.rel[netMid][q], n.rel[netLong][q])
		// In silence the loudness reference falls with the signal, and every
		// pitch would be near it: the fundamental must also reach the
		// quietest reportable note in absolute terms.
		loud := max(cur[netFast][q], cur[netMid][q], cur[netLong][q]) > n.absGate
		if (fund <= netGate || !loud) && !a.tracker.on[m] {
			continue
		}
		x := (*[netK]float32)(n.x[rows*netK : (rows+1)*netK])
		for w := range netWindows {
			gatherShifts(x[w*len(netShift):], n.rel[w][q-shiftBelow:q+shiftAbove+1])
		}
		i := netWindows * len(netShift)
		for w := range 3 {
			gatherDeltaShifts(x[i:], n.rise1[w][q-shiftBelow:q+shiftAbove+1])
			i += len(netDeltaShift)
		}
		for w := range 2 {
			gatherDeltaShifts(x[i:], n.rise2[w][q-shiftBelow:q+shiftAbove+1])
			i += len(netDeltaShift)
		}
		gatherDeltaShifts(x[i:], n.rise3[q-shiftBelow:q+shiftAbove+1])
		i += len(netDeltaShift)
		x[i], x[i+1], x[i+2] = n.det[0][p], n.det[1][p], n.det[2][p]
		i += 3
		x[i], x[i+1] = 0, 0
		if a.tracker.on[m] {
			x[i] = 1
		}
		if flagOld[p] {
			x[i+1] = 1
		}
		x[i+2] = netAgeFeature(a.tracker.age[m])
		i += 3
		x[i] = n.rise1[netShort][q] - n.maxRise[0]
		x[i+1] = n.rise2[netShort][q] - n.maxRise[1]
		x[i+2] = n.rise1[netFast][q] - n.maxRise[2]
		x[i+3] = n.rise2[netFast][q] - n.maxRise[3]
		i += 4
		for w := 1; w < netWindows; w++ {
			x[i] = n.rel[w][q] - n.maxRel[w-1]
			i++
		}
		// x[i] would be the register: it is folded into regBias and regScreen.
		if dot32(x, (*[netK]float32)(netScreenW[:]))+n.globScreen+n.regScreen[p] < n.screenCutLn {
			continue
		}
		n.passed[rows] = p
		rows++
	}
	if rows > 0 {
		var impl gonum.Implementation
		impl.Sgemm(blas.NoTrans, blas.Trans, rows, netH1, netK, 1, n.x[:rows*netK], netK,
			netW1[:], netIn, 0, n.h1All[:rows*netH1], netH1)
	}
	for k, p := range n.passed[:rows] {
		h1 := n.h1All[k*netH1 : (k+1)*netH1]
		for j := range h1 {
			h1[j] = max(0, h1[j]+n.globH1[j]+n.regBias[p][j])
		}
	}
	heads(n.passed[:rows], n.h1All[:rows*netH1], n.h2All[:rows*netH2], netW2Flat, netB2[:], netW3[0][:], netW3[1][:], netB3, &n.pa, &n.po)
	n.stage2.run(n, rows)
	n.newest = (n.newest + 1) % 3
	n.hist[n.newest] = *cur
	n.decode(a, dst)
}

// decode turns the tick's probabilities into notes: a pitch starts when
// its onset probability rises through netOnsetP, its sounding probability
// reaches netBirthP, or the tracker starts it and the sounding probability
// reaches netAssistP (a netAssistP above 1, as tuned for the second stage,
// turns that rule off); it stops after more than netHold ticks
// below netOffP; a sounding note is flagged as re-attacked when its onset
// probability rises through netReonsetP, at most once in netReflag ticks.
// (All compared as logits.) Above highNoteHz the tracker's note (from the
// fast window) also starts a pitch and holds it while it sounds: the net's
// mid-window inputs end there, and its training audio held few such notes,
// so on its own it lit them for a tick or two at most.
func (n *noteNet) decode(a *Analyzer, dst *Features) {
	// A tick whose level is below reonsetMinLevel, or has fallen by more than
	// reonsetFall since the last, is a note stopping, not one struck again.
	level := dst.Level
	dying := level < reonsetMinLevel || level < n.levels[n.levelAt]*reonsetFall
	n.onsetNear = dst.Attack || dst.Onset
	born := &n.born
	for p := range netPitches {
		o, pa := n.po[p], n.pa[p]
		fire := o >= netOnsetZ && n.prevPo[p] < netOnsetZ
		born[p] = !n.on[p] && (fire || pa >= netBirthZ || (n.oldFlag[p] && pa >= netAssistZ) ||
			(n.high[p] && a.tracker.on[p+netLoMIDI]))
	}
	// A pitch starting beside a more likely neighbour (a semitone away) that
	// sounds or starts too is that neighbour smeared over the coarse
	// windows' bins, not a note (notebench: fewer wrong onsets on every set).
	for p := range netPitches {
		if !born[p] {
			continue
		}
		for _, q := range [2]int{p - 1, p + 1} {
			if q >= 0 && q < netPitches && n.pa[q] > n.pa[p] && (n.on[q] || born[q]) {
				n.suppressed[p] = true
			}
		}
	}
	for p := range netPitches {
		if n.suppressed[p] {
			born[p], n.suppressed[p] = false, false
		}
	}
	for p := range netPitches {
		o, pa := n.po[p], n.pa[p]
		n.since[p]++
		n.onsetNow[p] = false
		if !n.on[p] {
			if !born[p] {
				n.offFor[p], n.offLevel[p] = min(n.offFor[p]+1, 99), min(n.offLevel[p], level)
				continue
			}
			// A pitch that stopped moments ago and comes back while nothing
			// got louder is a decaying note hovering at the threshold, not
			// one struck again.
			resumed := n.offFor[p] < netResumeTicks && (level < reonsetMinLevel || !n.struck(p, level))
			n.on[p], n.low[p], n.since[p], n.onsetNow[p] = true, 0, 0, !resumed && !n.overtone(p)
			continue
		}
		if pa < netOffZ && !(n.high[p] && a.tracker.on[p+netLoMIDI]) {
			n.low[p]++
			if n.low[p] > netHold {
				n.on[p], n.offFor[p], n.offLevel[p] = false, 0, level
				continue
			}
		} else {
			n.low[p] = 0
		}
		if o >= netReonsetZ && n.prevPo[p] < netReonsetZ && n.since[p] >= netReflag && !dying && n.rose(p, level) && !n.drumHit(p) {
			n.since[p], n.onsetNow[p] = 0, true
		}
	}
	n.prevPo = n.po
	n.wasOnset = n.onsetNow
	n.lastFast1, n.lastFast2, n.lastShort2 = n.rise1[netFast], n.rise2[netFast], n.rise2[netShort]
	n.levelAt = (n.levelAt + 1) % len(n.levels)
	n.levels[n.levelAt] = level
	dst.NumNotes = 0
	cur := &n.spec.cur
	for p := range netPitches {
		if !n.on[p] || !n.report[p] {
			continue
		}
		m := p + netLoMIDI
		hz := a.tracker.hz[m]
		if !(math.Abs(12*math.Log2(hz/MIDIToHz(m, a.cfg.TuningHz))) <= 0.5) { // also 0 and NaN
			hz = MIDIToHz(m, a.cfg.TuningHz)
		}
		q := netLoMIDI - semiLo + p
		amp := math.Exp(float64(max(cur[netFast][q], cur[netMid][q], cur[netLong][q])))
		if a.tracker.on[m] {
			amp = max(amp, a.tracker.amp[m])
		}
		// In a note's first tick the windows hold only milliseconds of it;
		// the attack's level is the better measure of how hard it was struck
		// (effects light a new note at once, at this velocity).
		if n.onsetNow[p] && dst.AttackLevel > 0 {
			amp = max(amp, float64(dst.AttackLevel)*math.Sqrt2)
		}
		insertNote(dst, Note{MIDI: m, Hz: float32(hz), Velocity: velocity(amp, a.tracker.velocityRangeDB), Onset: n.onsetNow[p]})
	}
}

// struck tells whether pitch p, born again soon after it stopped, was
// struck again: the tick's level rose by netResumeRise over the lowest
// level since it stopped, or the pitch's own fast-window amplitude rose by
// netStrikeRise in two ticks (one instrument of a band, which need not lift
// the level), or the tracker flagged it.
func (n *noteNet) struck(p int, level float32) bool {
	return level >= n.offLevel[p]*netResumeRise || n.rise2[netFast][netLoMIDI-semiLo+p] >= netStrikeRiseLn || n.oldFlag[p]
}

// rose tells whether a sounding pitch p whose onset odds rose through
// netReonsetP was struck again. A note flagged within netHeldTicks is taken
// at the net's word (a run of repeated notes). One held longer, a string
// section or a pad whose odds wander as it swells and sinks, needs more:
// the tracker flagged it, the tick has an attack or a frame onset, or the
// level rose netReonsetRise times over the lowest of the last three ticks.
func (n *noteNet) rose(p int, level float32) bool {
	return n.since[p] <= netHeldTicks || n.oldFlag[p] || n.onsetNear ||
		level >= min(n.levels[0], n.levels[1], n.levels[2])*netReonsetRise
}

// drumHit tells whether a re-onset of sounding pitch p is a broadband hit
// (a kick, snare or hi-hat) over the held note rather than the note struck
// again: the net is not sure (onset odds below netDrumOddsP); this tick or
// the last, the short window's bins around p but between its partials
// (from an octave below p to three above, less p, +12, +19, +24 and their
// neighbours) rose netBroadRise in two ticks, on a geometric average; and neither p's own bin nor
// its octave rose within netOwnShortfall of that in the fast window, in one
// tick or two, this tick or the last. A drum raises the bins between a
// held note's partials far more than the note's own, which the note masks;
// a note struck again raises its own as much as the others.
func (n *noteNet) drumHit(p int) bool {
	if n.po[p] >= netDrumOddsZ {
		return false
	}
	q := netLoMIDI - semiLo + p
	var now, last float32
	for k := q - 12; k <= q+36; k++ {
		if d := k - q; d >= -1 && d <= 1 || d >= 11 && d <= 13 || d >= 18 && d <= 20 || d >= 23 && d <= 25 {
			continue
		}
		now += n.rise2[netShort][k]
		last += n.lastShort2[k]
	}
	broad := max(now, last) / netBroadBins
	own := max(n.rise2[netFast][q], n.rise1[netFast][q], n.lastFast2[q], n.lastFast1[q],
		n.rise2[netFast][q+12], n.rise1[netFast][q+12], n.lastFast2[q+12], n.lastFast1[q+12])
	return broad >= netBroadRiseLn && own < broad-netOwnShortfallLn
}

// overtone tells whether pitch p, born this tick, is the second partial
// of a note an octave below struck with it: the lower note was flagged
// this tick or the last, is the likelier of the two, had the higher onset
// odds (a held guitar E3 whose odds a played E4 stirred into a re-flag
// must not take E4's flag), and p's amplitude is within netOctaveRatio of
// its. A low piano note's stretched second partial, as loud as its
// fundamental, lit the octave above with its own flag on nearly every
// strike (review 263: FluidR3's C3, D3, E3, MuseScore's E3 and A3,
// TimGM6mb's C3 and D3; C4 at 0.71 beside C3 at 0.63). Such a p still
// sounds, so a played octave keeps its note; it loses only its flag, and
// the lower note's flag lights the strike.
func (n *noteNet) overtone(p int) bool {
	lo := p - 12
	if lo < 0 || !n.on[lo] || !(n.onsetNow[lo] || n.wasOnset[lo]) || n.pa[p] >= n.pa[lo] || n.po[p] >= max(n.po[lo], n.prevPo[lo]) {
		return false
	}
	cur := &n.spec.cur
	q := netLoMIDI - semiLo + p
	amp := max(cur[netFast][q], cur[netMid][q], cur[netLong][q])
	ampLo := max(cur[netFast][q-12], cur[netMid][q-12], cur[netLong][q-12])
	return amp-ampLo < netOctaveRatioLn
}

// dot32 is Σ a[i]·b[i] in four interleaved sums.
func dot32(a, b *[netK]float32) float32 {
	var s0, s1, s2, s3 float32
	for i := range netK / 4 {
		x, y := (*[4]float32)(a[4*i:]), (*[4]float32)(b[4*i:])
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
	}
	for i := netK / 4 * 4; i < netK; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// The gathers read the semitones from shiftBelow below the pitch to
// shiftAbove above it: the extremes of netShift and netDeltaShift.
const shiftBelow, shiftAbove = 19, 28

// gatherShifts copies around[shiftBelow+s] for each s of netShift into dst:
// the offsets are spelled out so that the compiler can drop the bounds
// checks (TestGatherMatchesShifts holds them to netShift).
func gatherShifts(dst []float32, around []float32) {
	r := (*[shiftBelow + shiftAbove + 1]float32)(around)
	d := (*[len(netShift)]float32)(dst)
	d[0], d[1], d[2], d[3] = r[shiftBelow-19], r[shiftBelow-12], r[shiftBelow], r[shiftBelow+12]
	d[4], d[5], d[6] = r[shiftBelow+19], r[shiftBelow+24], r[shiftBelow+28]
}

// gatherDeltaShifts is gatherShifts for netDeltaShift.
func gatherDeltaShifts(dst []float32, around []float32) {
	r := (*[shiftBelow + shiftAbove + 1]float32)(around)
	d := (*[len(netDeltaShift)]float32)(dst)
	d[0], d[1], d[2], d[3] = r[shiftBelow-12], r[shiftBelow], r[shiftBelow+12], r[shiftBelow+19]
}

// heads runs a net's last two layers for every judged pitch: h1 holds
// their first hidden layers after the ReLU, one row each; w2 is layer 2's
// weights, unit by unit (w2[j*len(b2)+i]: input i into unit j). Layer 2
// is one matrix product, as layer 1 is.
func heads(passed []int, h1, h2 []float32, w2, b2, wa, wo []float32, b3 [2]float32, pa, po *[netPitches]float32) {
	rows := len(passed)
	if rows == 0 {
		return
	}
	nh2 := len(b2)
	nh1 := len(h1) / rows
	var impl gonum.Implementation
	impl.Sgemm(blas.NoTrans, blas.Trans, rows, nh2, nh1, 1, h1, nh1, w2, nh1, 0, h2, nh2)
	wa, wo = wa[:nh2], wo[:nh2]
	for k, p := range passed {
		row := h2[k*nh2 : (k+1)*nh2]
		za, zo := b3[0], b3[1]
		for j, v := range row {
			v = max(0, v+b2[j])
			za += v * wa[j]
			zo += v * wo[j]
		}
		pa[p], po[p] = za, zo
	}
}

var netW2Flat = unitMajor(netH2, netH1, func(j, i int) float32 { return netW2[j][i] })

// unitMajor lays out the weights w(j, i) of input i into unit j, unit by
// unit, for heads.
func unitMajor(units, inputs int, w func(j, i int) float32) []float32 {
	t := make([]float32, units*inputs)
	for j := range units {
		for i := range inputs {
			t[j*inputs+i] = w(j, i)
		}
	}
	return t
}

// The decoder's thresholds as logits, and the logit of a pitch not judged.
var (
	netOnsetZ, netBirthZ, netOffZ, netReonsetZ = logit32(netOnsetP), logit32(netBirthP), logit32(netOffP), logit32(netReonsetP)
	netAssistZ                                 = logit32(min(netAssistP, 1-1e-7))
	netLogitOff                                = logit32(1e-6)
)

func logit32(p float64) float32 { return float32(math.Log(p / (1 - p))) }

// reonsetMinLevel is the tick's level (−60 dBFS) below which a sounding note is
// not flagged as re-attacked: when a note stops dead (muted, a mic cut), the
// net's onset odds rise with the change, and the flag would flash the lights
// on the silence.
const reonsetMinLevel = 1e-3

// reonsetFall: a tick whose level falls below this share of the last tick's
// (−6 dB) holds a note's end; its onset odds rise with the change too.
const reonsetFall = 0.5

// netResumeTicks (500 ms): a pitch born again within this many ticks of
// stopping that was not struck again (see struck) resumes without an onset
// flag. A decaying piano or e-piano chord note hovers at the net's
// threshold: FluidR3's piano C4 dropped out for 10 to 21 ticks and came
// back, each time flagged, though the level had not risen.
const netResumeTicks = 30

// netResumeRise (+1.6 dB) and netStrikeRise (+12 dB in two ticks): see
// struck. FluidR3's hovering piano C4 and e-piano E4 came back with the
// level at most 1.08 times what it was when they stopped and their own
// fast-window amplitude at most 2.6 times what it was two ticks before.
// The lowest level since, not the level at the stop: a note of an arpeggio
// stops as the next one is struck, and returns no louder than that.
const netResumeRise, netStrikeRise = 1.2, 4

var netStrikeRiseLn = float32(math.Log(netStrikeRise))

// netHeldTicks (1 s) and netReonsetRise (+6 dB): see rose. FluidR3's and
// MuseScore's strings held 10 s (A3-C4-E4-A4) were re-flagged 34 and 27
// times; their level swung up to 1.84 times in three ticks. In a band one
// instrument's strike need not lift the level: the frame onset and the
// tracker carry it. A 30-tick hold lost re-attacks of one note at 90 bpm.
const (
	netHeldTicks   = 60
	netReonsetRise = 2
)

// netOctaveRatio (+8 dB): see overtone. The review's low piano notes' second
// partials stood at 0.97 to 1.95 times their fundamentals; on notebench B
// and V, born an octave above a note struck with them and less likely,
// real notes and phantoms alike mostly stood below 2.5 times: no amplitude
// tells them apart, and a real octave keeps its note, unflagged.
const netOctaveRatio = 2.5

var netOctaveRatioLn = float32(math.Log(netOctaveRatio))

// netDrumOddsP, netBroadRise (3.5x, +11 dB) and netOwnShortfall (2.46x,
// +7.8 dB): see drumHit. The three were chosen together by a search over
// the re-onset candidates logged on notebench sets B and V, the drum clips
// and the repeated-note clips, for the most wrong flags dropped per right
// one with no onset F1 lost on B or V (so V is not held out for them). Held piano, bass, strings and organ notes under
// kick, snare and hi-hat 8ths were re-flagged on the hits (review 263: 83
// re-flags in 12 clips; 49 with drumHit). One pitch struck again at 8ths
// and 16ths (piano, bass, guitar), its gap lowering the whole spectrum,
// kept every flag. A first form, without the odds test and with the fast
// window's bins as the reference, dropped real re-strikes of chord notes
// on drum hits (notebench B onset F1 44.1 -> 43.2); this one drops four to
// five wrong flags for each right one (B 56 and 14, V 49 and 9).
const (
	netDrumOddsP    = 0.62
	netBroadRise    = 3.5
	netOwnShortfall = 2.46
)

// netBroadBins: the bins drumHit averages, 49 from an octave below the
// pitch to three above less the 12 of its partials and their neighbours.
const netBroadBins = 49 - 12

var (
	netDrumOddsZ      = logit32(netDrumOddsP)
	netBroadRiseLn    = float32(math.Log(netBroadRise))
	netOwnShortfallLn = float32(math.Log(netOwnShortfall))
)
