package analysis

import (
	"fmt"
	"math"
)

// levelBlock is the number of newest samples Features.Level measures: one
// 60 fps tick at 48 kHz.
const levelBlock = SampleRate / FrameRate

// Frequency ranges of the windows. Every window weighs every pitch (so it
// can explain all the partials it sees) but reports only its own range:
// the long window, whose 5.9 Hz bins resolve semitones down to E1 and keep
// chord partials apart, reports up to C#5; the mid window, which reacts
// twice as fast, from C3 up. Both report C3–C#5, where most notes are. The
// short window's peaks give PeakHz; its spectrum gives bands, onsets and
// re-attacks. (Notes from the short window alone were tried: at 47 Hz per
// bin its chord partials merge and it reported more overtones than notes.)
const (
	shortPeakLo, shortPeakHi         = 150.0, 9000.0
	midF0Lo, midF0Hi                 = 130.0, 4200.0
	midPeakLo, midPeakHi             = 60.0, 2100.0
	longF0Hi, longPeakLo, longPeakHi = 550.0, 35.0, 1000.0
)

// The fast window: 512 points at 12 kHz (fastDecim, 43 ms, 23 Hz bins). In
// the fastFrames frames from an onset it may start any note from
// fastReportLo up, where its bins resolve the partials; candidates from
// fastF0Lo let a lower note claim its own overtones. Those notes need
// fastMinStrong strong partials, since the attack transient is still in
// it. Above highNoteHz it also starts and carries notes every tick. (The short window was tried for this: in the
// first frames after a sampled instrument's note-on it holds mostly the
// broadband attack, and its notes were nearly all wrong.)
const (
	fastDecim = 4
	fastN     = 512
)

const (
	fastFrames    = 2
	fastF0Lo      = 100.0
	fastReportLo  = 250.0
	fastMinStrong = 3
)

// highNoteHz is the mid window's ceiling: its peaks stop there, where its
// decimation filter lets aliases in. Above it (C#7–C8) the fast window,
// clean to 2.9 kHz (aliases 40 dB down) and within 1 dB to C8, starts and
// carries the notes (Analyzer.highFinder), every tick, with the partial
// count the mid window asks for; candidates from fastF0Lo let a lower note
// claim its partials up there. A note there usually shows one partial in
// the fast window's band (its second lies above 4.8 kHz).
const highNoteHz = midPeakHi

// onsetFrames is for how many frames after an onset peaks may be less
// prominent (see Frame).
const onsetFrames = 3

// onsetProminenceFactor scales PeakProminence in those frames. A note that
// starts inside the window is cut off sharply there, which spreads its
// partials over more bins, so right after an onset they stand out less.
const onsetProminenceFactor = 0.7

// minLongTail is the shortest falling edge of the long window: with less,
// leakage from E1's strong second partial lets E2 outscore it.
const minLongTail = 0.15

// longEvery: the long window is analysed on every longEvery-th frame.
const longEvery = 2

// noisyFlatness is the spectral flatness (0 for a pure tone, 1 for white
// noise) of the short window above which a frame counts as noise-dominated.
const noisyFlatness = 0.3

// loudnessDecay makes the loudness reference fall 6 dB per second.
var loudnessDecay = math.Pow(10, -6.0/20/FrameRate)

// Analyzer turns one source's PCM into Features. It is not safe for
// concurrent use; Write and Frame allocate nothing.
type Analyzer struct {
	cfg Config

	// the DC blocker at the input, the decimation chain 48 → 24 → 12 → 6 → 3 kHz and the rings
	// it fills
	dc                    dcBlocker
	dec                   [4]decimator
	r48, r24, r12, r6, r3 ring
	rings                 [5]*ring // r48 … r3: where the input and each decimator's output go

	attackSeen       int64 // samples written when attack last looked
	sinceAttack      int
	short, mid, long *window
	// fast is a 43 ms window at 12 kHz: a new note dominates it a frame
	// sooner than the mid window. Its notes are searched (fastFinder) in
	// the fastFrames frames after an onset, and above highNoteHz
	// (highFinder) every tick; the note net reads its spectrum every tick.
	fast       *window
	fastFinder pitchFinder
	// highFinder reads the fast window every tick for the notes above the
	// mid window's ceiling (highNoteHz).
	highFinder  pitchFinder
	noteWindows [2]*window // the windows notes come from: mid, long
	finders     [2]pitchFinder
	sinceOnset  int // frames since the last onset
	// minPeak: spectral peaks below it are not picked (peakBelowNoteDB under
	// absMinAmp; the attack detector reads the previous tick's).
	minPeak float64
	written int64
	frames  int64 // Frame calls since New or Reset
	// loudness is the recent RMS peak (falling loudnessDecay per frame);
	// notes must reach loudness × relFloor and absMinAmp. absMinAmp is
	// up to noiseFloorMarginDB above the feed's noise floor (floorMargin),
	// between quietMinAmp (Config.QuietMinNoteDB) and noisyMinAmp
	// (Config.MinNoteDB).
	loudness, relFloor, absMinAmp float64
	quietMinAmp, noisyMinAmp      float64
	floor                         noiseFloor

	tracker tracker
	hum     humDetector
	onset   onsetDetector
	bands   bandMapper
	// net makes the final call on the notes (nil with Config.RuleNotes or
	// SpectrumOnly).
	net *noteNet
}

// New returns an Analyzer for cfg (zero fields take defaults).
func New(cfg Config) (*Analyzer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	a := &Analyzer{cfg: cfg}
	a.dec = [4]decimator{newDecimator(halfband48), newDecimator(halfband24), newDecimator(halfband12), newDecimator(halfband6)}
	a.r48 = newRing(nextPow2(max(levelBlock, attackRef+attackMaxNew)))
	a.r24 = newRing(cfg.ShortFFT / shortDecim)
	a.r6 = newRing(cfg.MidFFT / midDecim)
	a.r12 = newRing(fastN)
	a.fast = newWindow(SampleRate/fastDecim, fastN, cfg.WindowTail)
	a.fast.peakLo, a.fast.peakHi = midPeakLo, 0.8*a.fast.rate/2
	a.fast.f0Lo, a.fast.f0Hi = max(fastF0Lo, cfg.MinHz), cfg.MaxHz
	a.fast.reportLo, a.fast.reportHi = max(fastReportLo, cfg.MinHz), cfg.MaxHz
	a.fastFinder = newPitchFinder(cfg)
	a.highFinder = newPitchFinder(cfg)
	a.r3 = newRing(cfg.LongFFT / longDecim)
	a.rings = [5]*ring{&a.r48, &a.r24, &a.r12, &a.r6, &a.r3}
	a.short = newWindow(SampleRate/shortDecim, cfg.ShortFFT/shortDecim, 0.5)
	a.mid = newWindow(SampleRate/midDecim, cfg.MidFFT/midDecim, cfg.WindowTail)
	a.long = newWindow(SampleRate/longDecim, cfg.LongFFT/longDecim, max(cfg.WindowTail, minLongTail))
	a.short.peakLo, a.short.peakHi = shortPeakLo, min(shortPeakHi, 0.8*a.short.rate/2)
	a.mid.peakLo, a.mid.peakHi = midPeakLo, min(midPeakHi, 0.7*a.mid.rate/2)
	a.mid.f0Lo, a.mid.f0Hi = cfg.MinHz, cfg.MaxHz
	a.mid.reportLo, a.mid.reportHi = max(midF0Lo, cfg.MinHz), min(midF0Hi, cfg.MaxHz)
	a.long.peakLo, a.long.peakHi = longPeakLo, min(longPeakHi, 0.7*a.long.rate/2)
	a.long.f0Lo, a.long.f0Hi = cfg.MinHz, cfg.MaxHz
	a.long.reportLo, a.long.reportHi = cfg.MinHz, min(longF0Hi, cfg.MaxHz)
	a.noteWindows = [2]*window{a.mid, a.long}
	for i := range a.finders {
		a.finders[i] = newPitchFinder(cfg)
	}
	a.sinceOnset = onsetFrames + 1
	a.relFloor = math.Pow(10, cfg.MinNoteRelDB/20)
	a.noisyMinAmp = math.Pow(10, cfg.MinNoteDB/20)
	a.quietMinAmp = math.Pow(10, min(cfg.QuietMinNoteDB, cfg.MinNoteDB)/20)
	a.floor = newNoiseFloor()
	a.tracker = newTracker(cfg)
	a.hum = newHumDetector(cfg.TuningHz)
	a.onset = newOnsetDetector(cfg, len(a.short.mag))
	a.bands = newBandMapper(a.short)
	if !cfg.RuleNotes && !cfg.SpectrumOnly {
		a.net = newNoteNet(a)
	}
	a.setNoteGate(a.noisyMinAmp) // after the tracker and the net, which hold what it derives
	return a, nil
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// Config returns the configuration in use, defaults filled in.
func (a *Analyzer) Config() Config { return a.cfg }

// Write appends 48 kHz mono PCM (full scale ±1) in a block of any size.
func (a *Analyzer) Write(pcm []float32) {
	stages := len(a.dec)
	if a.cfg.SpectrumOnly {
		stages = 1 // only the short window's 24 kHz stream is read
	}
	writeBlock(pcm, &a.dc, a.dec[:stages], a.rings[:stages+1])
	a.written += int64(len(pcm))
}

// Frame computes the Features for the current tick from the newest audio.
func (a *Analyzer) Frame(dst *Features) {
	*dst = Features{T: float64(a.written) / SampleRate}
	dst.Level, dst.AttackLevel = a.levelAndAttack()
	dst.Attack = dst.AttackLevel > 0
	// Note amplitudes are sinusoid peaks; RMS × √2 puts them on one scale.
	level := float64(dst.Level) * math.Sqrt2
	a.loudness = max(level, a.loudness*loudnessDecay)
	floor := a.floor.update(level)
	a.setNoteGate(floor * floorMargin(a.loudness/floor))
	dst.VelocityDepthDB = float32(a.tracker.velocityRangeDB)
	dst.LoudnessDB = ampDB(a.loudness)
	dst.NoiseFloorDB = dst.LoudnessDB
	if !math.IsInf(floor, 1) {
		dst.NoiseFloorDB = min(ampDB(floor), dst.LoudnessDB)
	}

	a.frames++
	// The short window alone gives onsets, bands and PeakHz: all a
	// SpectrumOnly source needs.
	a.short.analyze(&a.r24)
	// The long window moves 1/10 of its length per tick; every other tick
	// is enough, and its last notes stand in between (half the bass cost).
	longDue := a.frames%longEvery == 0
	if !a.cfg.SpectrumOnly {
		a.mid.analyze(&a.r6)
		long := a.long
		if longDue {
			long.analyze(&a.r3)
		} else {
			long = nil
		}
		prefixSums(a.short, a.mid, long)
	}
	a.short.findPeaks(a.cfg.PeakProminence, a.minPeak, lobeRadius)
	dst.Onset = a.onset.update(a.short)
	a.bands.fill(a.short, &dst.Bands)
	dst.PeakHz = float32(a.strongestPeak(dst.Attack || dst.Onset))
	if a.cfg.SpectrumOnly {
		return
	}
	a.sinceOnset++
	if dst.Onset {
		a.sinceOnset = 0
	}
	prominence, lobe := a.cfg.PeakProminence, lobeRadius
	if a.sinceOnset <= onsetFrames {
		prominence = max(1.5, prominence*onsetProminenceFactor)
		lobe = attackLobeRadius
	}
	// While noise dominates (a snare, a crash, hiss) chance alignments of
	// noise peaks can mimic a two-partial series: ask for three.
	minStrong := 1
	if flat := a.short.flatness(); flat > noisyFlatness {
		minStrong = 3
	}
	for i, w := range a.noteWindows {
		if w == a.long && !longDue {
			continue
		}
		w.findPeaks(prominence, a.minPeak, lobe)
		a.finders[i].minStrong = minStrong
		a.finders[i].minAmp = max(a.absMinAmp, a.loudness*a.relFloor)
		a.finders[i].find(w, &a.tracker.on)
	}
	a.fastFinder.nNotes = 0
	var fastWin *window // the fast window, when its onset notes are searched this tick
	a.fast.analyze(&a.r12)
	if a.net != nil {
		a.net.spec.fill(a, longDue)
	}
	// Its peaks serve the onset notes and, when a bin above highNoteHz is
	// near a note's amplitude, the high notes (a peak's interpolated
	// amplitude exceeds its bin's by less than 6 dB).
	if a.sinceOnset <= fastFrames || a.highBin(a.finders[0].minAmp/2) {
		a.fast.findPeaks(prominence, a.minPeak, lobe)
	} else {
		a.fast.nPeaks = 0
	}
	if a.sinceOnset <= fastFrames {
		fastWin = a.fast
		a.fastFinder.minStrong = fastMinStrong
		a.fastFinder.minAmp = a.finders[0].minAmp
		a.fastFinder.find(a.fast, &a.tracker.on)
	}
	// Above the mid window's ceiling the fast window carries the notes,
	// every tick: it is the longest window that resolves them.
	a.highFinder.nNotes = 0
	if a.highPeak(a.finders[0].minAmp) {
		a.highFinder.minStrong = minStrong
		a.highFinder.minAmp = a.finders[0].minAmp
		a.highFinder.find(a.fast, &a.tracker.on)
	}
	a.tracker.update(&a.finders, &a.fastFinder, &a.highFinder, a.short, a.mid, fastWin, dst.Onset, a.onset.flux, dst)
	if a.net != nil {
		a.net.frame(a, dst)
	}
	// Steady mains hum is no note (hum.go), whichever way the notes came.
	a.hum.update(&a.r3, a.finders[0].minAmp/2)
	a.hum.drop(dst, a.sinceOnset)
}

// peakBelowNoteDB: spectral peaks more than this below the quietest
// reportable note cannot matter.
const peakBelowNoteDB = 12

var peakBelowNoteAmp = math.Pow(10, -peakBelowNoteDB/20.0)

// setNoteGate sets the quietest note amplitude reported this tick to amp,
// bounded to [quietMinAmp, noisyMinAmp]: on a quiet feed (a remote musician
// with low gain) notes count down to Config.QuietMinNoteDB, while hiss, hum
// or babble that fills the feed raises the bar up to Config.MinNoteDB.
func (a *Analyzer) setNoteGate(amp float64) {
	amp = min(max(amp, a.quietMinAmp), a.noisyMinAmp)
	if amp == a.absMinAmp {
		return // most ticks: the bar sits at one of its bounds; its logarithms stand
	}
	a.absMinAmp = amp
	a.tracker.velocityRangeDB = max(minVelocityRangeDB, -20*math.Log10(a.absMinAmp))
	a.minPeak = a.absMinAmp * peakBelowNoteAmp
	if a.net != nil {
		a.net.absGate = float32(math.Log(a.absMinAmp))
	}
}

// highPeak reports whether the fast window has a peak above highNoteHz (to
// the finder's tolerance) of at least minAmp: a note there needs its
// fundamental among the peaks, and one partial alone is all its amplitude.
// Without one the high finder has nothing to report.
func (a *Analyzer) highPeak(minAmp float64) bool {
	w := a.fast
	for i := w.nPeaks - 1; i >= 0 && w.peakHz[i] >= highNoteHz*(1-partialTolerance); i-- {
		if w.peakAmp[i] >= minAmp {
			return true
		}
	}
	return false
}

// highBin reports whether a bin of the fast window above highNoteHz (to the
// finder's tolerance) reaches amp.
func (a *Analyzer) highBin(amp float64) bool {
	w := a.fast
	lo := int(highNoteHz * (1 - partialTolerance) / w.binHz)
	hi := min(len(w.mag)-1, int(w.peakHi/w.binHz)+1)
	for _, m := range w.mag[lo : hi+1] {
		if m >= amp {
			return true
		}
	}
	return false
}

// Reset forgets all audio, as if the Analyzer were new.
func (a *Analyzer) Reset() {
	a.dc = dcBlocker{}
	for i := range a.dec {
		a.dec[i].reset()
	}
	a.r48.reset()
	a.attackSeen, a.sinceAttack = 0, 0
	a.r24.reset()
	a.r6.reset()
	a.r12.reset()
	a.fast.reset()
	a.fastFinder.nNotes = 0
	a.highFinder.nNotes = 0
	a.r3.reset()
	a.short.reset()
	for _, w := range a.noteWindows {
		w.reset()
	}
	a.written = 0
	a.frames = 0
	for i := range a.finders {
		a.finders[i].nNotes = 0
	}
	a.loudness = 0
	a.floor.reset()
	a.setNoteGate(a.noisyMinAmp)
	a.sinceOnset = onsetFrames + 1

	a.tracker.reset()
	a.hum.reset()
	a.onset.reset()
	if a.net != nil {
		a.net.reset()
	}
}

// levelAndAttack returns Features.Level and AttackLevel. In the usual tick
// (one tick of new audio, the attack detector not resting) the level's sum
// and the attack reference's run in one loop: the level is one chain of 800
// dependent additions, which otherwise waits alone.
func (a *Analyzer) levelAndAttack() (level, attack float32) {
	fresh := int(min(a.written-a.attackSeen, attackMaxNew))
	a.attackSeen = a.written
	a.sinceAttack++
	n := int(min(int64(levelBlock), a.r48.n))
	if fresh < attackChunk || a.sinceAttack < attackGap {
		return levelOf(sequentialSumSquares(a.r48.view(n)), n), 0
	}
	buf := a.r48.view(attackRef + fresh)
	var levelSum, refSum float64
	if fresh == levelBlock && n == levelBlock { // buf ends with the level's block
		levelSum, refSum = sumSquaresTogether((*[levelBlock]float64)(buf[attackRef:]), (*[attackRef]float64)(buf[:attackRef]))
	} else {
		levelSum, refSum = sequentialSumSquares(a.r48.view(n)), sumSquares(buf[:attackRef])
	}
	return levelOf(levelSum, n), a.attack(buf, refSum)
}

// levelOf is Features.Level from the sum of squares of n samples.
func levelOf(sum float64, n int) float32 {
	if n == 0 {
		return 0
	}
	return float32(min(1, math.Sqrt(sum/float64(n))))
}

// The attack detector compares the loudest 5 ms of the audio that arrived since the last frame
// with the 50 ms before it.
const (
	attackChunk  = SampleRate / 200 // 5 ms
	attackRef    = SampleRate / 20  // 50 ms
	attackMaxNew = 2048             // at most this much new audio is examined (43 ms)
	attackRatio  = 4                // +12 dB over the reference
	attackFloor  = 0.003            // −50 dBFS: quieter rises are not attacks
	attackGap    = 4                // frames between two attacks
	// attackPeakFloor scales the quietest bin PeakHz may fall back to on an attack (−60 dB).
	attackPeakFloor = 1e-3
)

// attack reports a sudden level rise in the newest samples of buf (those after the attackRef
// of reference, whose sum of squares is refSum): the RMS of its loudest chunk, or 0 when there
// was none.
func (a *Analyzer) attack(buf []float64, refSum float64) float32 {
	ref := math.Sqrt(refSum / attackRef)
	// Chunks end at the newest sample, so a note that starts in the last
	// milliseconds of a packet is seen at the first tick after it arrives
	// (the earliest chunk may reach back into the reference).
	loudest := 0.0
	for end := len(buf); end > attackRef; end -= attackChunk {
		loudest = max(loudest, sumSquares(buf[end-attackChunk:end]))
	}
	loudest = math.Sqrt(loudest / attackChunk)
	if loudest > attackFloor && loudest > attackRatio*ref {
		a.sinceAttack = 0
		return float32(min(1, loudest))
	}
	return 0
}

// sequentialSumSquares is Σ x² in one running sum, in order (the level's
// rounding).
func sequentialSumSquares(x []float64) float64 {
	sum := 0.0
	for _, v := range x {
		sum += v * v
	}
	return sum
}

// sumSquaresTogether is (sequentialSumSquares(level), sumSquares(ref)),
// each summed exactly as those do, in one loop.
func sumSquaresTogether(level *[levelBlock]float64, ref *[attackRef]float64) (levelSum, refSum float64) {
	var s0, s1, s2, s3 float64
	for i := range levelBlock / 4 {
		l, r := (*[4]float64)(level[4*i:]), (*[12]float64)(ref[12*i:])
		levelSum += l[0] * l[0]
		s0 += r[0] * r[0]
		s1 += r[1] * r[1]
		s2 += r[2] * r[2]
		s3 += r[3] * r[3]
		levelSum += l[1] * l[1]
		s0 += r[4] * r[4]
		s1 += r[5] * r[5]
		s2 += r[6] * r[6]
		s3 += r[7] * r[7]
		levelSum += l[2] * l[2]
		s0 += r[8] * r[8]
		s1 += r[9] * r[9]
		s2 += r[10] * r[10]
		s3 += r[11] * r[11]
		levelSum += l[3] * l[3]
	}
	return levelSum, (s0 + s1) + (s2 + s3)
}

// sumSquaresTogether's loop takes three groups of four reference samples per
// four level samples.
const (
	_ = uint(attackRef - 3*levelBlock)
	_ = uint(3*levelBlock - attackRef)
	_ = uint(-(levelBlock % 4))
)

// strongestPeak is the frequency of the short window's strongest tonal peak. On an attack, before
// any partial stands out of its neighbourhood, it falls back to the strongest bin, so that the
// first light of a note has a place and a colour (the pitch tracker corrects both a tick or two
// later).
func (a *Analyzer) strongestPeak(attack bool) float64 {
	w := a.short
	best, hz := 0.0, 0.0
	for i := range w.nPeaks {
		if w.peakAmp[i] > best {
			best, hz = w.peakAmp[i], w.peakHz[i]
		}
	}
	if hz != 0 || !attack {
		return hz
	}
	lo := max(1, int(w.peakLo/w.binHz))
	hi := min(len(w.mag)-1, int(w.peakHi/w.binHz))
	// A note that began in the last milliseconds of the audio sits in the
	// window's falling edge, tens of dB down: any bin will do, since at an
	// attack the new sound is most of what changed.
	bestK, bestAmp := 0, a.minPeak*attackPeakFloor
	for k := lo; k <= hi; k++ {
		if w.mag[k] > bestAmp {
			bestK, bestAmp = k, w.mag[k]
		}
	}
	return float64(bestK) * w.binHz
}

// NoteName returns the scientific pitch name of a MIDI note number, such as
// "C4" for 60 or "D#5" for 75. It allocates nothing.
func NoteName(midi int) string {
	if midi < 0 || midi > 127 {
		return fmt.Sprintf("MIDI%d", midi)
	}
	return noteNames[midi]
}

var noteNames = func() (n [128]string) {
	names := [12]string{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"}
	for m := range n {
		n[m] = fmt.Sprintf("%s%d", names[m%12], m/12-1)
	}
	return n
}()

// MIDIToHz returns the equal-tempered frequency of a MIDI note for a tuning
// (the frequency of A4, usually 440 Hz).
func MIDIToHz(midi int, tuningHz float64) float64 {
	return tuningHz * math.Exp2(float64(midi-69)/12)
}

// sumSquares is Σ x² in four interleaved partial sums: four independent chains of additions
// instead of one (the attack detector sums about 3200 squares per tick). Its rounding differs
// from a single running sum in the last bits, which only the attack decision sees.
func sumSquares(x []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * x[i]
		s1 += x[i+1] * x[i+1]
		s2 += x[i+2] * x[i+2]
		s3 += x[i+3] * x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}
