package analysis

import (
	"math"
	"math/cmplx"
)

// Mains hum (a ground loop, a lamp dimmer, an unbalanced cable) is a tone at
// 50 or 60 Hz with partials, steady for as long as the venue is powered. Its
// fundamental sits between G1 and G#1 (50 Hz) or at B1 (60 Hz), and without
// this check it is reported as a note for good. A real note there is tuned
// (G1 is 49.0 Hz at A4 = 440, 35 cents below 50 Hz), starts with an attack
// and changes in level; hum drifts by a fraction of a percent and holds its
// level. So a tone within humMaxDrift of 50 or 60 Hz whose level stays
// within ±humSteadyDB for 2.5 s, with no note at the pitch's own tuned
// frequency, is hum, and its pitch is not reported while that holds.
//
// The detector demodulates the 3 kHz stream at each mains frequency (3 kHz
// holds a whole number of periods of both, so the reference phasors come
// from short tables and never drift), smooths it over a triangular 1 s
// window (two 0.5 s running sums: nulls every 2 Hz, where the hum's own
// partials and most semitones near it fall, sidelobes 1/f²), samples that
// every 0.1 s and checks the last humSteps samples: level, and the rotation
// of the phasor, which is the tone's offset from the mains frequency.
const (
	humRate      = SampleRate / longDecim // the 3 kHz stream's rate
	humBoxTicks  = FrameRate / 2          // 0.5 s running sums
	humStepTicks = FrameRate / 10         // a sample of the smoothed phasor every 0.1 s
	humSteps     = 15                     // 1.5 s of samples: with the 1 s window, 2.5 s of audio
	// humMaxDrift is the largest offset from the mains frequency (relative)
	// over the span, and humMaxStepDrift the largest within one step.
	humMaxDrift     = 0.005
	humMaxStepDrift = 0.01
	humSteadyDB     = 1.0 // level within ±1 dB
	// humBreak: between steps, a phasor this far (relative) from where the
	// hum's steady turn would have taken it ends the hum at once.
	humBreak = 0.06
	// humNoteDB: at the pitch's tuned frequency the hum shows at −8 dB
	// (G1, 1 Hz from 50 Hz) to −17 dB (B1, 1.7 Hz from 60 Hz), −5 dB with
	// the mains at 49.8 Hz; more than −3 dB there is a note.
	humNoteDB = -3.0
)

// mainsHz are the mains frequencies; humRate is a multiple of both.
var mainsHz = [2]int{50, 60}

// Both divide the stream's rate.
const (
	_ = uint(-(humRate % 50))
	_ = uint(-(humRate % 60))
)

// humTone follows one mains frequency.
type humTone struct {
	ref   []complex128 // e^(−j·2π·f·n/humRate) for n mod the period
	pitch int          // the MIDI pitch the tone is reported as
	box1  [humBoxTicks]complex128
	box2  [humBoxTicks]complex128
	i1    int // next slot of box1 and box2
	hist  [humSteps + 1]complex128
	iHist int // next slot of hist
	nHist int // samples in hist
	ticks int
	// hum: the tone has been steady for the span; its pitch is not reported.
	hum bool
	// turnPerTick is the hum's phasor's turn per tick over the span at the
	// last step.
	turnPerTick float64
	// The same window at the pitch's tuned frequency: noteStep turns
	// noteRot by one sample; noted: the pitch's level there is a note's.
	noteStep, noteRot  complex128
	noteBox1, noteBox2 [humBoxTicks]complex128
	noted              bool
	// dropped: the pitch was sounding and not reported last tick;
	// sinceFlag counts ticks since its last onset flag (while dropped).
	dropped   bool
	sinceFlag int
}

// humOnsetTicks: a note struck over the hum breaks its steadiness within a
// step or two; if its pitch was flagged as starting, or the onset detector
// fired, in the last humOnsetTicks ticks while it was not reported, the
// first tick that reports it carries the flag (the net, which held the
// pitch all along, need not flag it again).
const humOnsetTicks = 2 * humStepTicks

// humDetector finds steady mains hum in the 3 kHz stream.
type humDetector struct {
	tones [len(mainsHz)]humTone
	seen  int64 // samples of the stream read so far
}

// humRefs are the reference phasors of mainsHz, one period each.
var humRefs = func() (r [len(mainsHz)][]complex128) {
	for k, f := range mainsHz {
		r[k] = make([]complex128, humRate/f)
		for n := range r[k] {
			r[k][n] = cmplx.Rect(1, -2*math.Pi*float64(f*n)/humRate)
		}
	}
	return r
}()

func newHumDetector(tuning float64) humDetector {
	var h humDetector
	for k, f := range mainsHz {
		m := int(math.Round(69 + 12*math.Log2(float64(f)/tuning)))
		h.tones[k] = humTone{ref: humRefs[k], pitch: m, sinceFlag: humOnsetTicks + 1, noteRot: 1,
			noteStep: cmplx.Rect(1, -2*math.Pi*MIDIToHz(m, tuning)/humRate)}
	}
	return h
}

func (h *humDetector) reset() {
	for k := range h.tones {
		t := &h.tones[k]
		*t = humTone{ref: t.ref, pitch: t.pitch, sinceFlag: humOnsetTicks + 1, noteStep: t.noteStep, noteRot: 1}
	}
	h.seen = 0
}

// update reads the samples r received since the last tick. minAmp is the
// quietest hum that counts: half the quietest note the finders report now
// (quieter hum is no note anyway, and a quiet, steady-looking phasor may be
// the leakage of music nearby).
func (h *humDetector) update(r *ring, minAmp float64) {
	n := int(min(r.n-h.seen, int64(r.mask+1)))
	x := r.view(n)
	start := r.n - int64(n)
	h.seen = r.n
	for k := range h.tones {
		t := &h.tones[k]
		i := int(start % int64(len(t.ref)))
		var re, im float64
		for _, v := range x {
			c := t.ref[i]
			re += v * real(c)
			im += v * imag(c)
			if i++; i == len(t.ref) {
				i = 0
			}
		}
		// The pitch's own tuned frequency, through a rotating phasor (only
		// its level is read, so its phase may start anywhere).
		var nre, nim float64
		rot := t.noteRot
		for _, v := range x {
			nre += v * real(rot)
			nim += v * imag(rot)
			rot *= t.noteStep
		}
		t.noteRot = rot / complex(cmplx.Abs(rot), 0)
		t.advance(complex(re, im), complex(nre, nim), minAmp, mainsHz[k])
	}
}

// triangle adds a tick's sum to a triangular window's two running sums and
// returns the window's sum.
func triangle(box1, box2 *[humBoxTicks]complex128, i int, sum complex128) complex128 {
	box1[i] = sum
	var s1 complex128
	for _, v := range box1 {
		s1 += v
	}
	box2[i] = s1
	var s2 complex128
	for _, v := range box2 {
		s2 += v
	}
	return s2
}

// advance adds one tick's demodulated sums, at the mains frequency and at
// the pitch's.
func (t *humTone) advance(sum, noteSum complex128, minAmp float64, hz int) {
	s2 := triangle(&t.box1, &t.box2, t.i1, sum)
	// The pitch's own frequency lies 1–2 Hz from the hum's, where the
	// window lets in 8–17 dB of the hum: a note there at the hum's level
	// or louder (a B1 over 60 Hz hum, which hardly moves the hum's phasor)
	// ends the hum.
	noteAmp := 2 * cmplx.Abs(triangle(&t.noteBox1, &t.noteBox2, t.i1, noteSum)) / humWeight
	t.i1 = (t.i1 + 1) % humBoxTicks
	if a := 2 * cmplx.Abs(s2) / humWeight; noteAmp > a*humNoteRatio {
		t.hum = false
		t.noted = true
	} else {
		t.noted = false
	}
	if t.ticks++; t.ticks%humStepTicks != 0 {
		// Between steps a note struck over the hum ends it as soon as the
		// phasor leaves the hum's course by humBreak (two ticks for a note
		// 30 dB above the hum), not at the next step.
		if t.hum {
			newest := t.hist[(t.iHist+len(t.hist)-1)%len(t.hist)]
			pred := newest * cmplx.Rect(1, t.turnPerTick*float64(t.ticks%humStepTicks))
			t.hum = cmplx.Abs(s2-pred) <= humBreak*cmplx.Abs(pred)
		}
		return
	}
	t.hist[t.iHist] = s2
	t.iHist = (t.iHist + 1) % len(t.hist)
	t.nHist = min(t.nHist+1, len(t.hist))
	t.hum = t.nHist == len(t.hist) && !t.noted && t.steady(minAmp, float64(hz))
}

// humWeight is the triangular window's total weight for 800-sample ticks:
// a tone of amplitude A gives a phasor of magnitude A·humWeight/2.
const humWeight = humBoxTicks * humBoxTicks * humRate / FrameRate

// steady reports whether the samples in hist are one tone of at least
// minAmp, steady in level and within humMaxDrift of hz.
func (t *humTone) steady(minAmp, hz float64) bool {
	lo, hi := math.Inf(1), 0.0
	turn, maxStep := 0.0, 2*math.Pi*hz*humMaxStepDrift*humStepTicks/FrameRate
	var prev complex128
	for k := range len(t.hist) { // oldest first
		z := t.hist[(t.iHist+k)%len(t.hist)]
		a := 2 * cmplx.Abs(z) / humWeight
		lo, hi = min(lo, a), max(hi, a)
		if k > 0 {
			step := cmplx.Phase(z * cmplx.Conj(prev))
			if math.Abs(step) > maxStep {
				return false
			}
			turn += step
		}
		prev = z
	}
	t.turnPerTick = turn / (humSteps * humStepTicks)
	span := float64(humSteps*humStepTicks) / FrameRate
	drift := turn / (2 * math.Pi * span) // Hz
	return lo >= minAmp && hi <= lo*humSteadyRatio && math.Abs(drift) <= humMaxDrift*hz
}

// humSteadyRatio is the widest ratio of levels within ±humSteadyDB;
// humNoteRatio is humNoteDB as a ratio.
var humSteadyRatio, humNoteRatio = math.Pow(10, 2*humSteadyDB/20), math.Pow(10, humNoteDB/20)

// drop removes from dst the notes at the pitches of the hum found.
// sinceOnset is the ticks since the onset detector last fired.
func (h *humDetector) drop(dst *Features, sinceOnset int) {
	for k := range h.tones {
		t := &h.tones[k]
		t.sinceFlag++
		i := noteIndex(dst, t.pitch)
		switch {
		case i < 0:
			t.dropped = false
		case t.hum:
			if dst.Notes[i].Onset {
				t.sinceFlag = 0
			}
			copy(dst.Notes[i:dst.NumNotes], dst.Notes[i+1:dst.NumNotes])
			dst.NumNotes--
			dst.Notes[dst.NumNotes] = Note{}
			t.dropped = true
		default:
			if t.dropped && min(t.sinceFlag, sinceOnset) <= humOnsetTicks {
				dst.Notes[i].Onset = true
			}
			t.dropped = false
		}
	}
}

// noteIndex is the index of the note at MIDI pitch m in dst, or -1.
func noteIndex(dst *Features, m int) int {
	for i := range dst.NumNotes {
		if dst.Notes[i].MIDI == m {
			return i
		}
	}
	return -1
}
