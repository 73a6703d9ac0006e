package analysis

import "math"

// reattackHistory is how many past frames a note's short-window amplitude is
// compared with to recognise a re-attack.
const reattackHistory = 3

// reattackMinAge is how many frames a note must have sounded before it can
// be flagged as re-attacked: the attack that started it keeps raising its
// partials for a few frames, and a real repetition is further apart.
const reattackMinAge = 3

// reflagFrames is the fewest frames between two onset flags of one note: an
// attack often trips the onset detector twice (the pluck, then the tone),
// and a real repetition is further apart than 67 ms.
const reflagFrames = 4

const (
	// onsetWindowFrames: a pitch that appears within this many frames of an
	// attack is born at once (ConfirmFrames). Later than that it is too
	// late to be a timely onset and more often an artefact. Notes below
	// lowOnsetMIDI come from the long window only, which needs longer to
	// see them: lowOnsetWindowFrames.
	onsetWindowFrames    = 2
	lowOnsetWindowFrames = 4
	lowOnsetMIDI         = 48
	// highOnsetMIDI: from C5 up, notes come from the mid and fast windows
	// only, whose partials at an attack are often another note's.
	highOnsetMIDI = 72
	// quietBirthFrames: a pitch that appears without an attack (a swell, or
	// more often an artefact that flickers) must persist this long first.
	quietBirthFrames = 4
)

// tracker turns per-frame pitch estimates into notes with a lifetime:
// a pitch turns on after ConfirmFrames detections in a row, stays on through
// up to HoldFrames missing frames, and is flagged as an onset when it turns
// on or when a re-attack raises its short-window amplitude at an onset.
type tracker struct {
	confirm, hold int
	reattack      float64
	tuning        float64
	// velocityRangeDB is how many dB below full scale velocity 0 lies: the
	// note bar's depth this tick, at least minVelocityRangeDB (setNoteGate).
	velocityRangeDB float64

	on  [128]bool
	age [128]int // frames since the note was born
	// sinceFlag counts frames since the note was last flagged as an onset
	// (birth or re-attack).
	sinceFlag [128]int
	hits      [128]int
	miss      [128]int
	amp       [128]float64
	hz        [128]float64
	hist      [128][reattackHistory]float64

	det     [128]float64
	detHz   [128]float64
	detLone [128]bool
	// deferred: the note's birth was deferred one frame (birthProbability);
	// it is born at its next detection in a row.
	deferred [128]bool
	// shortSum is the short window's summed magnitude 100 Hz–9 kHz last tick.
	shortSum float64
	// minReattackP and minBirthP are the cut-offs of the onset odds
	// (reattackMinProbability, birthMinProbability); the training dump sets
	// them to 0, which turns the odds off, and events non-nil to record them.
	minReattackP, minBirthP float64
	events                  []onsetEvent
	// sinceOnset counts frames since the onset detector last fired.
	sinceOnset int
	// highMIDI is the lowest pitch above highNoteHz.
	highMIDI int
	// present: the pitch sounds or a finder found it this tick (scratch).
	present [128]bool
}

// partialSemis are the distances in semitones from a pitch up to its
// partials 2–8.
var partialSemis = [...]int{12, 19, 24, 28, 31, 34, 36}

// overtone reports whether pitch m is a partial (2–8) of a present pitch.
func (t *tracker) overtone(m int) bool {
	for _, d := range partialSemis {
		if m-d >= 0 && t.present[m-d] {
			return true
		}
	}
	return false
}

const (
	// lonePartialBirthFrames: a note seen as a single partial is born only
	// after this many frames in a row.
	lonePartialBirthFrames = 3
	// highLoneBirthFrames: above highNoteHz, where a note's second partial
	// lies beyond the fast window's band, a lone partial is born sooner.
	highLoneBirthFrames = 2
)

func newTracker(cfg Config) tracker {
	return tracker{confirm: cfg.ConfirmFrames, hold: cfg.HoldFrames, reattack: cfg.ReattackRatio, tuning: cfg.TuningHz,
		sinceOnset: lowOnsetWindowFrames + 1, minReattackP: reattackMinProbability, minBirthP: birthMinProbability,
		highMIDI: int(math.Floor(69+12*math.Log2(highNoteHz/cfg.TuningHz))) + 1}
}

func (t *tracker) reset() {
	*t = tracker{confirm: t.confirm, hold: t.hold, reattack: t.reattack, tuning: t.tuning, sinceOnset: lowOnsetWindowFrames + 1,
		minReattackP: t.minReattackP, minBirthP: t.minBirthP, events: t.events[:0:cap(t.events)], highMIDI: t.highMIDI,
		velocityRangeDB: t.velocityRangeDB}
}

// update advances the notes by one tick. flux is the onset detector's for
// this tick; mid is the mid window, fastWin the fast one or nil when it was
// not analysed this tick (both for birthProbability).
func (t *tracker) update(finders *[2]pitchFinder, fast, high *pitchFinder, short, mid, fastWin *window, onset bool, flux float64, dst *Features) {
	clear(t.det[:])
	// Above highNoteHz the fast window's notes start and carry notes. A
	// lone partial there at a partial of a pitch that sounds or is found
	// this tick is that pitch's overtone (a vibraphone's fourth partial, a
	// piano's third), which the finder's smooth-envelope cancel can leave.
	t.present = t.on
	for _, f := range [...]*pitchFinder{&finders[0], &finders[1], fast, high} {
		for _, n := range f.notes[:f.nNotes] {
			t.present[n.midi] = true
		}
	}
	for _, n := range high.notes[:high.nNotes] {
		if n.hz >= highNoteHz && !(n.lone && t.overtone(n.midi)) {
			t.det[n.midi] = n.amp
			t.detLone[n.midi] = n.lone
			t.detHz[n.midi] = n.hz
		}
	}
	// Below highNoteHz fast-window notes only start notes; the mid and
	// long windows then carry them (or the hold ends them).
	for _, n := range fast.notes[:fast.nNotes] {
		if !t.on[n.midi] && n.amp > t.det[n.midi] {
			t.det[n.midi] = n.amp
			t.detLone[n.midi] = n.lone
			t.detHz[n.midi] = n.hz
		}
	}
	// finders[1] is the long window: where it has the note, its finer bins
	// give the better frequency, so it is read last and its Hz wins.
	for i := range finders {
		f := &finders[i]
		for _, n := range f.notes[:f.nNotes] {
			if n.amp > t.det[n.midi] {
				t.det[n.midi] = n.amp
				t.detLone[n.midi] = n.lone
			}
			t.detHz[n.midi] = n.hz
		}
	}
	// Two windows may round one tone between semitones differently: keep
	// the stronger of two neighbours.
	for m := 1; m < 127; m++ {
		if t.det[m] > 0 && (t.det[m-1] > t.det[m] || t.det[m+1] > t.det[m]) {
			t.det[m] = -t.det[m] // marked; cleared below so m±1 still compare
		}
	}
	for m := range t.det {
		t.det[m] = max(0, t.det[m])
	}
	var onsetNow [128]bool
	t.sinceOnset++
	if onset {
		t.sinceOnset = 0
	}
	need, lowNeed := t.confirm, t.confirm
	if t.sinceOnset > onsetWindowFrames {
		need = max(need, quietBirthFrames)
	}
	if t.sinceOnset > lowOnsetWindowFrames {
		lowNeed = max(lowNeed, quietBirthFrames)
	}
	for m := range t.det {
		if t.det[m] > 0 {
			t.hits[m]++
			t.miss[m] = 0
			t.amp[m] = t.det[m]
			t.hz[m] = t.detHz[m]
			if t.on[m] {
				t.age[m]++
			}
			// A lone partial (a snare's body, a tom) must last longer than
			// a drum's ring before it counts as a note.
			birth := need
			if m < lowOnsetMIDI {
				birth = lowNeed
			}
			// Above highNoteHz a lone partial is the rule (the fast window's
			// band ends before the second partial), not a sign of a drum.
			due := t.hits[m] >= birth && (!t.detLone[m] || t.hits[m] >= lonePartialBirthFrames ||
				(m >= t.highMIDI && t.hits[m] >= highLoneBirthFrames))
			if !t.on[m] && (due || t.deferred[m]) {
				t.on[m] = true
				t.age[m] = 1
				onsetNow[m] = true
				t.hist[m] = [reattackHistory]float64{}
			}
			continue
		}
		if t.on[m] {
			t.miss[m]++
			t.amp[m] *= 0.8
			// A note born in the last frame and not seen again gets no
			// hold: it was most likely a transient artefact.
			if t.miss[m] > t.hold || t.age[m] == 1 {
				t.on[m] = false
			}
		}
		t.hits[m] = 0
		t.deferred[m] = false
	}
	// The odds of this tick's births (judged with every birth on, as when
	// they were fitted); an unlikely one is deferred a frame.
	shortSum := 0.0
	for _, v := range short.mag[int(100/short.binHz):min(len(short.mag), int(9000/short.binHz))] {
		shortSum += v
	}
	ctx := onsetContext{
		lnFlux:     math.Log(max(flux, oddsMinFlux)),
		lnSpecRise: math.Log(max(shortSum/max(t.shortSum, oddsMinAmp), oddsMinRatio)),
		mid:        mid,
		fast:       fastWin,
	}
	t.shortSum = shortSum
	for m := range t.on {
		if t.on[m] {
			ctx.maxAmp = max(ctx.maxAmp, t.amp[m])
			ctx.notesOn++
		}
	}
	for m := range t.on {
		if !onsetNow[m] {
			continue
		}
		if t.deferred[m] {
			t.deferred[m] = false
			continue
		}
		// A note sounding alone is never deferred: the deferral is for
		// artefacts beside other notes, and a note struck in silence must
		// light at once.
		if p := t.birthProbability(&ctx, m); ctx.notesOn > 1 && p < t.minBirthP {
			t.on[m], onsetNow[m], t.deferred[m] = false, false, true
		}
	}
	// Re-attacks and the output, loudest first.
	for m := range t.on {
		if !t.on[m] {
			continue
		}
		sa := shortAmplitude(short, t.hz[m])
		t.sinceFlag[m]++
		if onset && !onsetNow[m] && t.age[m] >= reattackMinAge && t.sinceFlag[m] >= reflagFrames {
			lowest := math.Inf(1)
			for _, h := range t.hist[m] {
				lowest = min(lowest, h)
			}
			if lowest > 0 && sa >= t.reattack*lowest &&
				t.reattackProbability(&ctx, m, lnRatio(sa, t.hist[m][0])) >= t.minReattackP {
				onsetNow[m] = true
			}
		}
		if onsetNow[m] {
			t.sinceFlag[m] = 0
		}
		copy(t.hist[m][1:], t.hist[m][:reattackHistory-1])
		t.hist[m][0] = sa
		insertNote(dst, Note{
			MIDI:     m,
			Hz:       float32(t.hz[m]),
			Velocity: velocity(t.amp[m], t.velocityRangeDB),
			Onset:    onsetNow[m],
		})
	}
}

// shortAmplitude sums the short window's magnitude at the first four
// partials of hz: it reacts within a tick when a note is struck again.
func shortAmplitude(w *window, hz float64) float64 {
	s := 0.0
	for h := 1; h <= 4; h++ {
		f := float64(h) * hz
		if f < 100 {
			continue
		}
		k := int(math.Round(f / w.binHz))
		if k < 1 || k >= len(w.mag)-1 {
			break
		}
		s += max(w.mag[k-1], w.mag[k], w.mag[k+1])
	}
	return s
}

// minVelocityRangeDB is the velocity scale's depth on an ordinary feed:
// -60…0 dBFS. On a quiet feed, whose note bar follows its noise floor down
// to Config.QuietMinNoteDB, the scale reaches down with the bar, so that a
// note the bar lets through is lit, not reported at velocity 0.
const minVelocityRangeDB = 60

// velocity maps a linear amplitude to 0–1 over -rangeDB…0 dBFS.
func velocity(amp, rangeDB float64) float32 {
	if amp <= 0 {
		return 0
	}
	v := 1 + 20*math.Log10(amp)/rangeDB
	return float32(max(0, min(1, v)))
}

// insertNote adds n to dst.Notes keeping them loudest first; when full, the
// quietest note is dropped.
func insertNote(dst *Features, n Note) {
	i := dst.NumNotes
	if i == MaxNotes {
		if n.Velocity <= dst.Notes[MaxNotes-1].Velocity {
			return
		}
		i = MaxNotes - 1
	} else {
		dst.NumNotes++
	}
	for i > 0 && dst.Notes[i-1].Velocity < n.Velocity {
		dst.Notes[i] = dst.Notes[i-1]
		i--
	}
	dst.Notes[i] = n
}
