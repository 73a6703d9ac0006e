package effect

import (
	"fmt"
	"math"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// Source is one analysed audio source for one tick.
type Source struct {
	// Musician is the source's stable 0-based index: it picks the hue in the
	// musician colour mode and keys the source's pulse and spectrum state.
	Musician int
	// Features is the source's analysis for this tick; nil sources are skipped.
	Features *analysis.Features
}

// Input is everything a Renderer needs for one tick. It is read, never kept.
type Input struct {
	Now time.Time
	// Look is the look the session chose (see ChooseLook).
	Look Look
	// Playing is the room's playback state; false fades every strip to idle.
	Playing bool
	// Tempo is the room's tempo in BPM (20–300); 0 means DefaultTempo.
	Tempo float32
	// Sources are the analysed sources, in any order; at most MaxSources are used.
	Sources []Source
	// Broadcast holds the host's latest led-update colours (see color.ParseColors).
	Broadcast []color.RGB
}

// Renderer turns Inputs into one strip's Frames. It keeps the strip's
// envelopes and crossfade state, so use one Renderer per strip, from one
// goroutine at a time.
type Renderer struct {
	// Constant after construction.
	cfg     Config
	strip   Strip
	effect  Effect
	palette color.Palette
	// barPalette colours the spectrum's bars. A bar is a range of frequencies, not a note: in
	// the note colour mode (the default) its pitch class, the band's centre's, made neighbouring
	// bars alternate blue, orange, blue, red; it takes the spectrum mode's frequency colours.
	barPalette color.Palette
	gamma      *color.Gamma
	bpp        int
	logical    int      // LEDs the effect draws: half the strip when mirrored
	physToLog  []uint16 // logical LED shown by each physical LED
	duty       float32  // brightness cap × strip brightness
	env        color.Envelope
	bandHz     [analysis.NumBands]float32

	// Buffers, allocated once.
	acc     []color.RGBF // the blended picture in perceptual units
	scratch []color.RGBF // one look while crossfading
	cover   []float32    // front-to-back coverage for compositing

	// State.
	started bool
	last    time.Time
	weights [numLooks]float32
	breath  float64 // idle breathing phase in breaths
	notes   noteState
	pulses  [MaxSources]pulseState
	spectra [MaxSources]spectrumState
	// barOrder holds the slots whose spectrum bars are drawn, front first (see orderBars).
	barOrder [MaxSources]uint8
	nBars    int
	sorted   [MaxSources]Source
	nSorted  int
	// loudness is each slot's loudness reference for the automatic gain; refDB holds it for
	// sorted's sources, this frame.
	loudness [MaxSources]loudnessRef
	refDB    [MaxSources]float32
	slots    slotTable
	milliamp float32
	// guard holds every frame to the flash limit; guardBefore is its state before the last
	// Render's frame, for Overlay, whose frame replaces that one on the strip.
	guard, guardBefore flashGuard
	// handover is the previous Renderer's last picture (see Continue), faded out over the
	// crossfade at handoverWeight.
	handover       []color.RGBF
	handoverWeight float32
}

// NewRenderer prepares a Renderer for strip with cfg (zero fields: defaults).
func NewRenderer(cfg Config, strip Strip) (*Renderer, error) {
	if strip.LEDs < 1 || strip.LEDs > MaxLEDs {
		return nil, fmt.Errorf("effect: strip of %d LEDs (want 1–%d): %w", strip.LEDs, MaxLEDs, ErrBadStrip)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if strip.Brightness == 0 {
		strip.Brightness = 1
	}
	if !(strip.Brightness > 0 && strip.Brightness <= 1) {
		return nil, fmt.Errorf("effect: strip brightness %v (want 0–1): %w", strip.Brightness, ErrBadStrip)
	}
	if !(strip.MaxMilliamps >= 0) {
		return nil, fmt.Errorf("effect: strip max current %v mA: %w", strip.MaxMilliamps, ErrBadStrip)
	}
	if strip.Effect == EffectUnknown {
		strip.Effect = cfg.Effect
	}
	if strip.Effect < EffectNotes || strip.Effect > EffectSpectrum {
		return nil, fmt.Errorf("effect: strip effect %d: %w", strip.Effect, ErrBadStrip)
	}
	// The palette is laid out for this strip's gamma, once: in the musician colour mode the
	// musicians' hues and notes keep their spacing as the strip shows them at any gamma.
	palette := cfg.Palette.ForGamma(cfg.Gamma)
	if strip.ColorMode != color.ModeUnknown {
		palette.Mode = strip.ColorMode
	}
	if palette.Mode < color.ModeNote || palette.Mode > color.ModeSpectrum {
		return nil, fmt.Errorf("effect: strip colour mode %d: %w", strip.ColorMode, ErrBadStrip)
	}
	gamma, err := color.NewGamma(cfg.Gamma)
	if err != nil {
		return nil, err
	}
	r := &Renderer{
		cfg:        cfg,
		strip:      strip,
		effect:     strip.Effect,
		palette:    palette,
		barPalette: palette,
		gamma:      gamma,
		bpp:        strip.BytesPerLED(),
		logical:    strip.LEDs,
		duty:       cfg.BrightnessCap * strip.Brightness,
		env:        color.Envelope{Attack: max(cfg.Attack, 0), Decay: max(cfg.Decay, 0)},
	}
	if palette.Mode == color.ModeNote {
		r.barPalette.Mode = color.ModeSpectrum
	}
	if strip.Mirror {
		r.logical = (strip.LEDs + 1) / 2
	}
	r.physToLog = make([]uint16, strip.LEDs)
	for p := range r.physToLog {
		l := p
		if strip.Mirror {
			// The centre LED(s) show logical 0; both ends show the last.
			if edge := strip.LEDs - r.logical; p >= edge {
				l = p - edge
			} else {
				l = r.logical - 1 - p
			}
		}
		q := p
		if strip.Reverse {
			q = strip.LEDs - 1 - p
		}
		r.physToLog[q] = uint16(l)
	}
	r.acc = make([]color.RGBF, r.logical)
	r.scratch = make([]color.RGBF, r.logical)
	r.cover = make([]float32, r.logical)
	for b := range r.bandHz {
		// Geometric band centres across the analysis range; used for colour only.
		t := (float64(b) + 0.5) / analysis.NumBands
		r.bandHz[b] = float32(color.SpectrumLowHz * math.Pow(color.SpectrumHighHz/color.SpectrumLowHz, t))
	}
	return r, nil
}

// Reconfigure applies cfg to r in place when it differs from r's settings at
// most in BrightnessCap, and returns true: the envelopes, pulses, crossfade
// and the idle breath's phase carry on, only the output is rescaled. The
// status page's brightness control and a config reload that changes nothing
// else must not restart what the strips show, as a new Renderer would. It
// returns false, changing nothing, when cfg needs a new Renderer, and an
// error when cfg is unusable. It is not for the hot path: call it when the
// settings change.
func (r *Renderer) Reconfigure(cfg Config) (bool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return false, err
	}
	rest := cfg
	rest.BrightnessCap = r.cfg.BrightnessCap
	if rest != r.cfg {
		return false, nil
	}
	r.cfg.BrightnessCap = cfg.BrightnessCap
	r.duty = cfg.BrightnessCap * r.strip.Brightness
	return true, nil
}

// Strip returns the strip description with defaults filled in.
func (r *Renderer) Strip() Strip { return r.strip }

// Palette returns the palette this strip colours notes with, laid out for a screen
// (whose gamma is about the default) instead of the strip's gamma: the status page
// can use it to show notes in the hues the strip shows them.
func (r *Renderer) Palette() color.Palette { return r.palette.ForGamma(0) }

// Showing returns the look that dominates the last frame (the one being
// faded to once a crossfade is past half way), for the status page.
func (r *Renderer) Showing() Look {
	best := LookIdle
	for l := LookLocal; l < numLooks; l++ {
		if r.weights[l] > r.weights[best] {
			best = l
		}
	}
	return best
}

// Milliamps returns the estimated current of the last rendered frame, after
// the strip's limit was applied.
func (r *Renderer) Milliamps() float32 { return r.milliamp }

// Render writes the strip's Frame for in into dst (which must hold at least
// Strip().FrameSize() bytes) and returns the number of bytes written. It
// allocates nothing.
func (r *Renderer) Render(dst []byte, in Input) (int, error) {
	need := r.strip.LEDs * r.bpp
	if len(dst) < need {
		return 0, fmt.Errorf("effect: render %d LEDs into %d bytes: %w", r.strip.LEDs, len(dst), ErrShortFrame)
	}
	dt := time.Second / analysis.FrameRate
	if r.started {
		dt = min(max(in.Now.Sub(r.last), 0), 250*time.Millisecond)
	}
	r.started, r.last = true, in.Now
	tempo := in.Tempo
	if tempo == 0 || tempo != tempo {
		tempo = DefaultTempo
	}
	tempo = min(max(tempo, 20), 300)

	target := in.Look
	if target <= LookUnknown || target >= numLooks || !in.Playing {
		target = LookIdle
	}
	r.fadeTowards(target, dt)

	// State advances every tick, shown or not, so that a fade-in starts live.
	r.slots.frame++
	r.sortSources(in.Sources)
	for i, s := range r.sorted[:r.nSorted] {
		r.refDB[i] = r.loudness[r.slotFor(s.Musician)].update(s.Features, r.slots.frame)
	}
	step := r.env.Step(dt)
	switch r.effect {
	case EffectNotes:
		r.updateNotes(step, dt)
	case EffectPulse:
		r.updatePulses(dt, tempo)
	case EffectSpectrum:
		r.updateSpectra(step)
	}
	r.breath += dt.Seconds() * float64(tempo) / 60 / float64(r.cfg.BeatsPerBreath)
	r.breath -= math.Floor(r.breath)

	clear(r.acc)
	for look := LookLocal; look < numLooks; look++ {
		w := r.weights[look]
		if w <= 0 || look == LookLocal && target == LookLocal {
			continue
		}
		clear(r.scratch)
		clear(r.cover)
		r.draw(look, in.Broadcast)
		for i, c := range r.scratch {
			r.acc[i].R += w * c.R
			r.acc[i].G += w * c.G
			r.acc[i].B += w * c.B
		}
	}
	// The old Renderer's picture fades out with the looks being left, beneath local shown at once:
	// mixed in after it, the handover's weight (near 1 on the first frames) hid a note struck then.
	r.fadeHandover(dt)
	if target == LookLocal {
		r.showLocalAtOnce(in.Broadcast)
	}
	frame := dst[:need]
	r.output(frame)
	_, r.milliamp = r.cfg.Current.Limit(frame, r.bpp, r.strip.MaxMilliamps)
	r.guardBefore = r.guard
	r.limitFlashes(frame)
	return need, nil
}

// fadeTowards moves the look weights a step of dt towards target, keeping
// their sum at 1 so that a fade interrupted by another switch stays smooth.
// (A switch to local shows local at full weight at once: see showLocalAtOnce.)
func (r *Renderer) fadeTowards(target Look, dt time.Duration) {
	var others float32
	for l := range r.weights {
		if Look(l) != target {
			others += r.weights[l]
		}
	}
	if others <= 0 || r.cfg.Crossfade < 0 {
		clear(r.weights[:])
		r.weights[target] = 1
		return
	}
	wt := min(r.weights[target]+float32(dt)/float32(r.cfg.Crossfade), 1)
	k := (1 - wt) / others
	for l := range r.weights {
		r.weights[l] *= k
	}
	r.weights[target] = wt
}

// Continue makes r, just made for new settings, carry on from old, the Renderer it replaces on
// the same strip: a config reload must fade the strip to the new look, not cut it (a new
// Renderer's looks, envelopes and idle breath start from nothing: the breathing amber dropped
// from its swell to its floor in one frame, lit notes vanished for a frame). r takes over old's
// look weights, idle breath, clock, flash guard and each source's automatic gain, and
// crossfades from old's last picture over the crossfade time. It is not for the hot path; call
// it before r's first Render.
func (r *Renderer) Continue(old *Renderer) {
	if old == nil || !old.started {
		return
	}
	r.started, r.last = true, old.last
	r.weights, r.breath = old.weights, old.breath
	r.guard, r.guardBefore = old.guard, old.guardBefore
	// The gain follows each musician's loudness over the last ten seconds, whatever the settings
	// or the strip: started afresh, a quiet passage after a reload was judged on its own and lit
	// twice as bright. The slots go with it, so each reference stays its musician's; their
	// pulses and spectrum bars start from nothing, as the rest of a new Renderer's picture.
	r.loudness, r.slots, r.refDB = old.loudness, old.slots, old.refDB
	if old.logical != r.logical || old.strip.Mirror != r.strip.Mirror || old.strip.Reverse != r.strip.Reverse || r.cfg.Crossfade < 0 {
		return // another shape: the old picture does not map onto this strip
	}
	r.handover = append(r.handover[:0], old.acc...)
	r.handoverWeight = 1
}

// fadeHandover mixes the previous Renderer's last picture into r.acc while it fades out.
func (r *Renderer) fadeHandover(dt time.Duration) {
	if r.handoverWeight <= 0 {
		return
	}
	r.handoverWeight = max(r.handoverWeight-float32(dt)/float32(max(r.cfg.Crossfade, 1)), 0)
	w := r.handoverWeight
	for i, c := range r.handover {
		a := &r.acc[i]
		a.R += w * (c.R - a.R)
		a.G += w * (c.G - a.G)
		a.B += w * (c.B - a.B)
	}
}

// showLocalAtOnce draws the local look at full weight over the looks being faded out (already in
// r.acc at their weights), the brighter of the two per channel. Audio arriving is the one switch
// the eye expects to be instant: crossfaded like the others, the first note of a song would fade
// in over the crossfade instead of lighting on its attack. The old look still fades out beneath it.
func (r *Renderer) showLocalAtOnce(broadcast []color.RGB) {
	clear(r.scratch)
	clear(r.cover)
	r.draw(LookLocal, broadcast)
	for i, c := range r.scratch {
		a := &r.acc[i]
		a.R, a.G, a.B = max(a.R, c.R), max(a.G, c.G), max(a.B, c.B)
	}
}

// draw renders one look into r.scratch.
func (r *Renderer) draw(look Look, broadcast []color.RGB) {
	switch look {
	case LookLocal:
		switch r.effect {
		case EffectNotes:
			r.drawNotes()
		case EffectPulse:
			r.drawPulses()
		case EffectSpectrum:
			r.drawSpectra()
		}
	case LookBroadcast:
		scaleFloat(r.scratch, broadcast, r.cfg.Resample)
	case LookIdle:
		r.drawIdle()
	}
}

// over composites colour c at opacity a onto LED i behind what is already
// there: sources and notes are drawn loudest first, so the loudest wins where
// they overlap and quieter ones fill what is left.
func (r *Renderer) over(i int, c color.RGBF, a float32) {
	a = color.Clamp01(a) * (1 - r.cover[i])
	r.scratch[i].R += c.R * a
	r.scratch[i].G += c.G * a
	r.scratch[i].B += c.B * a
	r.cover[i] += a
}

// Overlay finishes a frame the caller drew over a rendered one (a test
// pattern, an identify flash, a blackout) the way Render finishes its own:
// scaled by the brightness cap, held to the strip's current limit, so that
// nothing sent to a strip draws more than its power supply's budget, and
// held to the flash limit in place of the frame Render made this tick.
func (r *Renderer) Overlay(frame []byte) {
	frame = frame[:min(len(frame), r.strip.LEDs*r.bpp)]
	if r.duty < 1 {
		for i, v := range frame {
			frame[i] = uint8(float32(v)*r.duty + 0.5)
		}
	}
	_, r.milliamp = r.cfg.Current.Limit(frame, r.bpp, r.strip.MaxMilliamps)
	// The overlay is what the strip shows this tick, not the frame Render made: judge it in
	// that frame's place.
	r.guard = r.guardBefore
	r.limitFlashes(frame)
}

// limitFlashes is the output's last stage: the flash guard, on the bytes as the strip will
// show them. It comes after gamma, the brightness cap and the current limit because LED duty is
// linear in emitted light, as relative luminance is, and those stages only dim: judged before
// them a frame would count swings the strip never shows. Scaling down keeps the current limit.
func (r *Renderer) limitFlashes(frame []byte) {
	if r.guard.apply(frame, r.bpp, r.last) {
		r.milliamp = r.cfg.Current.Estimate(frame, r.bpp)
	}
}

// output converts r.acc to the strip's bytes: mirror/reverse mapping, gamma,
// brightness, and white extraction for RGBW.
func (r *Renderer) output(frame []byte) {
	for p, l := range r.physToLog {
		c := r.acc[l]
		rr := r.toByte(c.R)
		gg := r.toByte(c.G)
		bb := r.toByte(c.B)
		o := p * r.bpp
		if r.bpp == 4 {
			var w uint8
			rr, gg, bb, w = color.WhiteAccurate(rr, gg, bb)
			frame[o+3] = w
		}
		frame[o], frame[o+1], frame[o+2] = rr, gg, bb
	}
}

func (r *Renderer) toByte(v float32) uint8 {
	return uint8(r.gamma.Linear(v)*r.duty*255 + 0.5)
}

// sortSources copies the usable sources, loudest first, into r.sorted.
func (r *Renderer) sortSources(src []Source) {
	n := 0
	for _, s := range src {
		if s.Features == nil {
			continue
		}
		// Insertion by level, descending, keeping the MaxSources loudest: a
		// loud source late in the list must not lose its place to quiet ones.
		j := n
		if n == MaxSources {
			if level(s) <= level(r.sorted[n-1]) {
				continue
			}
			j = n - 1
		} else {
			n++
		}
		r.sorted[j] = s
		for ; j > 0 && level(r.sorted[j]) > level(r.sorted[j-1]); j-- {
			r.sorted[j], r.sorted[j-1] = r.sorted[j-1], r.sorted[j]
		}
	}
	clear(r.sorted[n:max(n, r.nSorted)]) // a source that left is not kept reachable by a strip's renderer (past nSorted all is clear already)
	r.nSorted = n
}

func level(s Source) float32 { return color.Clamp01(s.Features.Level) }

// slotTable gives musicians the per-source state slots (pulses, spectrum
// bars): a musician keeps its slot while it is heard, a new one takes a free
// slot or else the one unheard the longest. Musician indices only grow in a
// long session, so a fixed index → slot mapping would make two musicians share
// one slot and the quieter vanish.
type slotTable struct {
	owner [MaxSources]int    // musician index + 1; 0 = free
	seen  [MaxSources]uint64 // frame the slot was last asked for
	frame uint64
}

// slotFor returns musician's slot, clearing the state of a slot it takes over.
func (r *Renderer) slotFor(musician int) int {
	t := &r.slots
	key := max(musician, 0) + 1
	pick := -1
	for i, o := range t.owner {
		if o == key {
			t.seen[i] = t.frame
			return i
		}
		switch {
		case pick < 0:
			pick = i
		case o == 0 && t.owner[pick] != 0:
			pick = i // a free slot beats any taken one
		case (o == 0) == (t.owner[pick] == 0) && t.seen[i] < t.seen[pick]:
			pick = i
		}
	}
	t.owner[pick], t.seen[pick] = key, t.frame
	r.pulses[pick], r.spectra[pick], r.loudness[pick] = pulseState{}, spectrumState{}, loudnessRef{}
	return pick
}
