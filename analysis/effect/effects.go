package effect

import (
	"math"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// visible is the level below which a note or pulse is treated as finished.
const visible = 1.0 / 1024

// noteState is the notes effect's memory: one envelope per MIDI note, merged
// over all sources, with the colour given by the loudest source playing it.
type noteState struct {
	level  [128]float32
	target [128]float32
	color  [128]color.RGBF
	active [128]uint8 // scratch: sounding notes, loudest first
	// provisional counts down the time an attack's light (placed by the
	// spectral peak before any pitch is known) may stay without a detected
	// note confirming it; when it runs out the light goes dark, so drum hits
	// only flicker. A time, not a frame count: three frames were 50 ms at
	// 60 fps but 300 ms at output.fps 10.
	provisional [128]time.Duration
	confirmed   [128]bool // scratch: a detected note sounds this frame
	// owner is the musician (index + 1, 0 for none) whose colour the note shows; loudest is the
	// musician brightest on it this frame and ownerLevel the owner's brightness on it (scratch).
	owner      [128]int
	loudest    [128]int
	ownerLevel [128]float32
}

// ownerMargin is how much brighter than a note's owner another musician must play it to take
// its colour over: 3 dB on an ordinary feed's 60 dB velocity scale. Two musicians on one note
// otherwise swapped colours with every hair of loudness (a ±10 % tremolo: 26 switches in 3.5 s,
// one-frame blips). The note keeps one musician's hue rather than a blend of the two: in the
// musician colour mode the hue says who plays, and a blend (red and green make yellow) is
// nobody's, and would shimmer with the tremolo.
const ownerMargin = 0.05

func numNotes(f *analysis.Features) int { return min(max(f.NumNotes, 0), analysis.MaxNotes) }

// provisionalHold is how long an attack's light waits for a detected note
// (sampled instruments show their pitch 20–35 ms after the hit). At a low
// output.fps it lasts at least the one frame that shows it.
const provisionalHold = 50 * time.Millisecond

func (r *Renderer) updateNotes(step color.EnvelopeStep, dt time.Duration) {
	ns := &r.notes
	clear(ns.target[:])
	clear(ns.confirmed[:])
	clear(ns.ownerLevel[:])
	for i, s := range r.sorted[:r.nSorted] { // loudest source first
		f := s.Features
		lift := noteLift(f, r.refDB[i])
		for _, note := range f.Notes[:numNotes(f)] {
			r.noteOn(s.Musician, note.MIDI, lift.brightness(note.Velocity), note.Onset)
			if note.MIDI >= 0 && note.MIDI < len(ns.confirmed) {
				ns.confirmed[note.MIDI] = true
			}
		}
	}
	// Lights placed by earlier attacks: a detected note confirms them, or
	// their time runs out and they go dark.
	for m, left := range ns.provisional {
		switch {
		case ns.confirmed[m]:
			ns.provisional[m] = 0
		case left > 0:
			ns.provisional[m] = max(left-dt, 0)
			if ns.provisional[m] == 0 {
				ns.level[m] = 0
			}
		}
	}
	// An attack heard before its pitch is known (the short-window onset path)
	// lights the spectral peak's position at once; the real note takes over
	// when the pitch arrives a few frames later, and a light no note confirms
	// (a drum hit, a harmonic) goes dark after provisionalHold.
	for i, s := range r.sorted[:r.nSorted] {
		f := s.Features
		if numNotes(f) > 0 || !(f.Onset || f.Attack) || !(f.PeakHz > 0) || math.IsInf(float64(f.PeakHz), 0) {
			continue
		}
		m := int(math.Round(69 + 12*math.Log2(float64(f.PeakHz)/440)))
		if m < 0 || m >= len(ns.level) || ns.confirmed[m] {
			continue
		}
		if ns.level[m] < visible {
			ns.provisional[m] = provisionalHold
		}
		r.noteOn(s.Musician, m, hitBrightness(f, r.refDB[i]), true)
	}
	for m := range ns.level {
		if ns.target[m] > 0 && !(ns.ownerLevel[m] > 0 && ns.target[m] < ns.ownerLevel[m]+ownerMargin) {
			ns.owner[m] = ns.loudest[m] // the owner stopped playing it, or another is clearly louder
			ns.color[m] = r.palette.Note(ns.owner[m]-1, m)
		}
		ns.level[m] = step.Apply(ns.level[m], ns.target[m])
	}
}

// noteOn raises note m's target to brightness v for this frame and notes who plays it: the
// brightest musician on it (sources arrive loudest first, so the first to reach a level) takes
// its colour unless its owner plays it nearly as bright (see ownerMargin).
func (r *Renderer) noteOn(musician, m int, v float32, onset bool) {
	if m < 0 || m > 127 {
		return
	}
	ns := &r.notes
	who := max(musician, 0) + 1
	if v > ns.target[m] {
		ns.target[m] = v
		ns.loudest[m] = who
	}
	if who == ns.owner[m] {
		ns.ownerLevel[m] = max(ns.ownerLevel[m], v)
	}
	// An onset lights the note at once: the first light must not wait for
	// the attack (the latency budget is tight).
	if onset && v > ns.level[m] {
		ns.level[m] = v
	}
}

func (r *Renderer) drawNotes() {
	ns := &r.notes
	n := 0
	for m, lv := range ns.level {
		if lv < visible {
			continue
		}
		ns.active[n] = uint8(m)
		n++
		for j := n - 1; j > 0 && ns.level[ns.active[j]] > ns.level[ns.active[j-1]]; j-- {
			ns.active[j], ns.active[j-1] = ns.active[j-1], ns.active[j]
		}
	}
	low, high := float32(r.cfg.NoteLow), float32(r.cfg.NoteHigh)
	perSemitone := float32(r.logical-1) / (high - low)
	hw := max(1, r.cfg.NoteWidth*perSemitone)
	for _, m := range ns.active[:n] {
		pos := (min(max(float32(m), low), high) - low) * perSemitone
		lo := max(int(math.Ceil(float64(pos-hw))), 0)
		hi := min(int(math.Floor(float64(pos+hw))), r.logical-1)
		for i := lo; i <= hi; i++ {
			r.over(i, ns.color[m], ns.level[m]*regionShape(float32(i)-pos, hw))
		}
	}
}

// regionShape is a note region's opacity at distance d from its centre:
// full over the inner half of the half-width hw, then a raised-cosine edge to
// zero at hw. The plateau keeps narrow regions visible after gamma, the soft
// edge keeps a moving pitch from stepping.
func regionShape(d, hw float32) float32 {
	d = float32(math.Abs(float64(d)))
	inner := hw / 2
	switch {
	case d <= inner:
		return 1
	case d >= hw:
		return 0
	}
	return float32(0.5 * (1 + math.Cos(math.Pi*float64(d-inner)/float64(hw-inner))))
}

// pulseState is one source's flash: its brightness and colour.
type pulseState struct {
	level float32
	color color.RGBF
	// provisional counts down the time a flash coloured by the spectral peak
	// (a hit heard before its pitch) waits for the hit's note to recolour it.
	provisional time.Duration
	// refractory counts down hitRefractory from the pulse's last flash (see hitRefractory).
	refractory time.Duration
	// peaks is each band's recent peak, falling at bandPeakFall, and peaksFrame the frame it
	// was last followed on (see attackRise).
	peaks      [analysis.NumBands]float32
	peaksFrame uint64
}

// A beat flag while a note sounds is a new attack only when the spectrum rises clearly above
// what was just heard: the analyser's flag adapts its threshold to a steady tone and then fires
// on it (every 16 frames on a held E1, 33 times for the 4 chords of a strings pad), while a note
// struck over others ringing (a piano arpeggio) raises its bands at once, a tick or two before
// the analyser names its pitch. attackRise is that rise, summed over the bands above each
// band's recent peak; the peaks fall at bandPeakFall, so that they follow a fading note. Both
// are in band units (60 dB each). Measured on notebench's set B: spurious flashes 159 → 113
// (strings pad 29 → 16, choir 15 → 9, held bass 8 → 1), attacks lit 1548 → 1526 of 1642,
// where flashing on note onsets and Attack alone lit 1432.
const (
	attackRise   = 20.0 / 60 // 20 dB
	bandPeakFall = 60.0 / 60 // 60 dB a second
)

// hitRefractory is how long after a flash a bare beat flag with no note sounding is not a hit by
// itself: it must show attackRise as a flag over a note must. The analyser raises such flags
// during a hit's own decay (a snare: 50, 100 and 150 ms after it); each re-flashed the fading
// hit, a swing the flash guard counted, and at 2 Hz the guard then held down every fifth hit. A
// hit 200 ms after the last is five a second, more than the guard lets flash anyway.
const hitRefractory = 200 * time.Millisecond

// bandRise follows f's bands for the pulse p and returns how far they rose above their recent
// peaks, in band units. frame is the Renderer's frame count: peaks not followed on the frame
// before (the source was not heard) start again from silence.
func (p *pulseState) bandRise(f *analysis.Features, dt time.Duration, frame uint64) float32 {
	if p.peaksFrame+1 != frame {
		clear(p.peaks[:])
	}
	p.peaksFrame = frame
	fall := float32(bandPeakFall * dt.Seconds())
	var rise float32
	for b, v := range f.Bands {
		v = color.Clamp01(v)
		rise += max(0, v-p.peaks[b])
		p.peaks[b] = max(v, p.peaks[b]-fall)
	}
	return rise
}

// pulseDecay is the factor a pulse keeps over dt so that one beat at tempo
// leaves floor of it: exponential, so it looks the same at any frame rate.
func pulseDecay(floor float32, dt time.Duration, tempo float32) float32 {
	beats := dt.Seconds() * float64(tempo) / 60
	return float32(math.Pow(float64(floor), beats))
}

func (r *Renderer) updatePulses(dt time.Duration, tempo float32) {
	k := pulseDecay(r.cfg.PulseFloor, dt, tempo)
	for i := range r.pulses {
		r.pulses[i].level *= k
		r.pulses[i].provisional = max(r.pulses[i].provisional-dt, 0)
		r.pulses[i].refractory = max(r.pulses[i].refractory-dt, 0)
	}
	for i, s := range r.sorted[:r.nSorted] {
		f := s.Features
		notes := f.Notes[:numNotes(f)]
		// The flash is the note just played, not the loudest one held under it: the loudest
		// note whose onset this is (notes are loudest first).
		played := -1
		for j, n := range notes {
			if n.Onset {
				played = j
				break
			}
		}
		p := &r.pulses[r.slotFor(s.Musician)]
		rise := p.bandRise(f, dt, r.slots.frame)
		// A note's onset (new or re-attacked) and a sudden rise of the level are attacks; the
		// bare beat flag is one when the spectrum rose clearly, or when no note sounds (drums)
		// and the last flash is past hitRefractory.
		if !(played >= 0 || f.Attack || f.Onset && (rise >= attackRise || len(notes) == 0 && p.refractory == 0)) {
			continue
		}
		p.refractory = hitRefractory
		var v float32
		var c color.RGBF
		if played >= 0 {
			v, c = noteLift(f, r.refDB[i]).brightness(notes[played].Velocity), r.palette.Note(s.Musician, notes[played].MIDI)
		} else { // a hit whose pitch is not known (yet): its level and the spectral peak's colour
			v, c = hitBrightness(f, r.refDB[i]), r.palette.Freq(s.Musician, f.PeakHz)
		}
		switch {
		case played >= 0 && p.provisional > 0:
			// The pitch of the hit this pulse flashed for, which the analyser
			// hears a few frames after the attack: its colour replaces the
			// spectral peak's (a harmonic, for bass notes) even when it is
			// quieter than the flash, as the notes effect's real note takes
			// over its provisional light. Only within provisionalHold of the
			// flash: later, a lit flash keeps its colour as it decays.
			p.level, p.color, p.provisional = max(p.level, v), c, 0
		case played < 0 && p.provisional > 0:
			// The same hit heard again (the spectral onset a tick after the attack) while
			// its pitch is still on the way: brighter, not recoloured.
			p.level = max(p.level, v)
		case v > p.level:
			p.level, p.color, p.provisional = v, c, 0
			if played < 0 {
				p.provisional = provisionalHold
			}
		}
	}
}

func (r *Renderer) drawPulses() {
	// The flash is uniform: composite the sources once, brightest first, on LED 0.
	var order [MaxSources]uint8
	n := 0
	for i := range r.pulses {
		if r.pulses[i].level < visible {
			continue
		}
		order[n] = uint8(i)
		n++
		for j := n - 1; j > 0 && r.pulses[order[j]].level > r.pulses[order[j-1]].level; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	for _, i := range order[:n] {
		r.over(0, r.pulses[i].color, r.pulses[i].level)
	}
	for i := 1; i < len(r.scratch); i++ {
		r.scratch[i] = r.scratch[0]
	}
}

// spectrumState is one source's smoothed bands.
type spectrumState struct {
	bands    [analysis.NumBands]float32
	loud     float32 // smoothed level, for loudest-first ordering
	musician int
}

func (r *Renderer) updateSpectra(step color.EnvelopeStep) {
	var seen [MaxSources]bool
	for i, s := range r.sorted[:r.nSorted] {
		slot := r.slotFor(s.Musician)
		if seen[slot] {
			continue // two sources on one slot: the louder (first) one keeps it
		}
		seen[slot] = true
		st := &r.spectra[slot]
		st.musician = s.Musician
		lift := noiseLift(s.Features, r.refDB[i])
		for b, v := range s.Features.Bands {
			st.bands[b] = step.Apply(st.bands[b], lift.band(v))
		}
		st.loud = step.Apply(st.loud, level(s))
	}
	for slot := range r.spectra {
		if seen[slot] {
			continue
		}
		st := &r.spectra[slot] // a source that went away fades out
		for b := range st.bands {
			st.bands[b] = step.Apply(st.bands[b], 0)
		}
		st.loud = step.Apply(st.loud, 0)
	}
	r.orderBars()
}

// barsAhead is how much louder (in smoothed level) than a source drawn in front of it a source
// must be to have its bars drawn in front: 3 dB. Bars are opaque, so the source in front
// colours every LED both light; ordered by loudness alone, two musicians about as loud (one
// with a ±10 % tremolo) swapped the colour of every lit LED every 10–20 frames.
const barsAhead = 1.41

// orderBars orders the sources with bars to draw, front first, into r.barOrder: last frame's
// order, sources new to it behind, each moved ahead of every source in front of it that it is
// clearly louder than.
func (r *Renderer) orderBars() {
	var placed [MaxSources]bool
	n := 0
	for _, slot := range r.barOrder[:r.nBars] {
		if anyAbove(r.spectra[slot].bands[:], visible) {
			r.barOrder[n], placed[slot] = slot, true
			n++
		}
	}
	for slot := range r.spectra {
		if !placed[slot] && anyAbove(r.spectra[slot].bands[:], visible) {
			r.barOrder[n] = uint8(slot)
			n++
		}
	}
	// Each source goes ahead of the first source in front of it that it is clearly louder than,
	// not only of its neighbour: the margin is not transitive, and compared only with the one in
	// front, a source 1.8× the front's level stayed behind for good whenever a source between
	// them was within the margin of both.
	o := &r.barOrder
	for i := 1; i < n; i++ {
		slot := o[i]
		for k := range i {
			if r.spectra[slot].loud > barsAhead*r.spectra[o[k]].loud {
				copy(o[k+1:i+1], o[k:i])
				o[k] = slot
				break
			}
		}
	}
	r.nBars = n
}

func (r *Renderer) drawSpectra() {
	const nb = analysis.NumBands
	seg := float32(r.logical) / nb // LEDs per band
	for _, slot := range r.barOrder[:r.nBars] {
		st := &r.spectra[slot]
		var colors [nb]color.RGBF
		for b := range colors {
			colors[b] = r.barPalette.Freq(st.musician, r.bandHz[b])
		}
		for i := range r.logical {
			var b int
			var a float32
			if seg >= 1 {
				x := (float32(i) + 0.5) / seg // band coordinate of the LED's centre
				b = min(int(x), nb-1)
				// The bar grows from the band's first LED; its top LED is lit by
				// the fraction of it the bar covers (no stepping as it moves).
				pos := (x - float32(b)) * seg // LED centre within the band, in LEDs
				a = color.Clamp01(st.bands[b]*seg - pos + 0.5)
			} else {
				// Fewer LEDs than bands: each LED shows the strongest band it covers.
				first, last := int(float32(i)/seg), min(int(float32(i+1)/seg), nb)
				b = first
				for k := first; k < last; k++ {
					if st.bands[k] > st.bands[b] {
						b = k
					}
				}
				a = st.bands[b]
			}
			if a > 0 {
				r.over(i, colors[b], a)
			}
		}
	}
}

func (r *Renderer) drawIdle() {
	var b float32
	switch r.cfg.Idle {
	case IdleOff:
		return
	case IdleSolid:
		b = r.cfg.IdleBrightness
	default:
		// Never quite dark: "waiting", not "off". The swell, floor included, is
		// in light (LED duty), which gamma and the brightness cap only scale, so
		// the floor holds to the output: as perceptual brightness 0.2 it was 3%
		// of the peak's duty, and at the default brightness that rounds to black.
		swell := 0.5 - 0.5*math.Cos(2*math.Pi*r.breath)
		floor := r.breathFloor()
		light := floor + (1-floor)*swell
		b = r.cfg.IdleBrightness * float32(math.Pow(light, 1/float64(r.gamma.Exponent())))
	}
	c := r.cfg.IdleColor.Float().Scale(b)
	for i := range r.scratch {
		r.scratch[i] = c
	}
}

// Breathing floor. At the defaults a floor of 0.2 of the swell's light was red 3, green 1, blue 0
// of 255: a muddy near-black, reached in visible 8-bit steps. The floor is instead at least
// breathFloorByte on the idle colour's strongest channel (as far as the swell allows: between
// 0.2 and 0.6 of its light), where an LED's steps are small against its level.
const (
	breathFloorByte     = 8
	breathFloorMinLight = 0.2
	breathFloorMaxLight = 0.6
)

// breathFloor is the breath's lowest light as a fraction of its swell's.
func (r *Renderer) breathFloor() float64 {
	c := r.cfg.IdleColor.Float()
	peak := r.gamma.Linear(r.cfg.IdleBrightness*max(c.R, c.G, c.B)) * r.duty // the swell's strongest channel, in duty
	if !(peak > 0) {
		return breathFloorMinLight
	}
	return min(max((breathFloorByte+0.5)/255/float64(peak), breathFloorMinLight), breathFloorMaxLight)
}

func anyAbove(v []float32, limit float32) bool {
	for _, x := range v {
		if x >= limit {
			return true
		}
	}
	return false
}
