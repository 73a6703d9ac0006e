package analysis

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidConfig reports a Config field outside its allowed range.
var ErrInvalidConfig = errors.New("analysis: invalid config")

// Config tunes an Analyzer. Every zero field means its default, so the zero
// Config is the recommended one; nothing needs tuning to get a good look.
type Config struct {
	// TuningHz is the frequency of A4 (MIDI 69). Default 440.
	TuningHz float64
	// MinHz and MaxHz bound the fundamental frequencies reported as notes.
	// Defaults 40 (just below E1) and 4200 (just above C8).
	MinHz, MaxHz float64

	// ShortFFT, MidFFT and LongFFT are the three analysis window lengths in
	// samples at 48 kHz (powers of two). The short window (default 1024,
	// 21 ms) feeds onsets, re-attacks, bands and PeakHz; the mid window
	// (default 4096, 85 ms) reports notes from C3 up; the long window
	// (default 8192, 171 ms) notes up to C#5, down to E1.
	ShortFFT, MidFFT, LongFFT int
	// WindowTail is the fraction of the mid window (and of the 43 ms window
	// that starts notes right after onsets) that is its falling edge (0.5 =
	// symmetric Hann). Smaller values weight the newest audio more, so a new
	// note dominates the spectrum sooner, at some cost in leakage. The long
	// window keeps a tail of at least 0.15, which its lowest notes need.
	// Default 0.1 (notebench onset F1 +0.6 over 0.15, note F1 unchanged).
	WindowTail float64

	// PeakProminence is how far a spectral peak must rise above the mean of
	// its neighbourhood to count as tonal (ratio of magnitudes). Noise and
	// drums rarely reach it. Default 2.
	PeakProminence float64
	// MinNoteDB is the quietest note amplitude reported while the feed's
	// noise floor (its quietest level over the last 6 s) is high, in dBFS: hiss,
	// hum or babble that never leaves. Default -60.
	MinNoteDB float64
	// QuietMinNoteDB is the quietest note amplitude reported on a quiet feed,
	// in dBFS: the bar follows the noise floor (up to 6 dB above it while the
	// feed stays within 12–18 dB of its floor), from QuietMinNoteDB to
	// MinNoteDB, so a remote musician's low-gain feed (peaks at -30 to -45
	// dBFS) keeps its notes. Default -75 (at most MinNoteDB).
	QuietMinNoteDB float64
	// MinNoteRelDB is the quietest note reported relative to the source's
	// recent loudness (the RMS peak of the last seconds, falling 6 dB/s), in
	// dB. It keeps the quiet ringing of drums and reverberation dark while a
	// band plays loudly. Default -24.
	MinNoteRelDB float64
	// RelThreshold is the weakest note reported, relative to the strongest
	// harmonic-series score in the same window (0–1). Default 0.25.
	RelThreshold float64
	// MaxPolyphony bounds the notes one window may yield per frame. Default 6.
	MaxPolyphony int
	// Harmonics is how many partials are matched per candidate pitch. Default 10.
	Harmonics int

	// ConfirmFrames is how many consecutive frames a pitch must be detected
	// before it is reported. Default 1 (report at once).
	ConfirmFrames int
	// HoldFrames is how many frames a note stays on after it was last
	// detected, bridging short dropouts. Default 4.
	HoldFrames int
	// OnsetSensitivity scales the adaptive threshold of the onset detector:
	// larger values report fewer onsets. Default 2.
	OnsetSensitivity float64
	// ReattackRatio: at an onset, a note sounding for 3 frames or more is
	// flagged as re-attacked when its short-window amplitude is at least
	// this multiple of the lowest of its last 3 frames. Values above 1 ask
	// for a rise; the default 0.5 flags every sounding note that did not
	// fall by more than 6 dB, because in a mix a re-struck note often
	// rises little and a missed re-strike costs more than a wrong flag
	// (notebench onset F1 +1.7, median onset latency -10 ms over 1.3).
	ReattackRatio float64

	// SpectrumOnly analyses the short window alone: Level, Bands, PeakHz,
	// Onset and Attack, but no notes. For sources whose notes nobody reads
	// (the room's mix feeds only WLED's sound sync); it skips the mid, long
	// and fast windows and the decimation below 24 kHz, most of the cost.
	SpectrumOnly bool
	// RuleNotes reports the notes of the pitch finders and tracker as they
	// are, without the note net's final call (notenet.go): about 40 % less
	// analysis CPU, and on notebench's set B about 3 points of note F1 and
	// 8 of onset F1 worse. With the net (the default), ConfirmFrames,
	// HoldFrames, MaxPolyphony, ReattackRatio and RelThreshold tune the
	// tracker whose verdicts are the net's inputs, not the notes reported;
	// the net was trained with the default window sizes and shapes.
	RuleNotes bool
}

// DefaultConfig returns the defaults spelled out.
func DefaultConfig() Config {
	return Config{
		TuningHz:         440,
		MinHz:            40,
		MaxHz:            4200,
		ShortFFT:         1024,
		MidFFT:           4096,
		LongFFT:          8192,
		WindowTail:       0.1,
		PeakProminence:   2,
		MinNoteDB:        -60,
		QuietMinNoteDB:   -75,
		MinNoteRelDB:     -24,
		RelThreshold:     0.25,
		MaxPolyphony:     6,
		Harmonics:        10,
		ConfirmFrames:    1,
		HoldFrames:       4,
		OnsetSensitivity: 2,
		ReattackRatio:    0.5,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setF := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setI := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setF(&c.TuningHz, d.TuningHz)
	setF(&c.MinHz, d.MinHz)
	setF(&c.MaxHz, d.MaxHz)
	setI(&c.ShortFFT, d.ShortFFT)
	setI(&c.MidFFT, d.MidFFT)
	setI(&c.LongFFT, d.LongFFT)
	setF(&c.WindowTail, d.WindowTail)
	setF(&c.PeakProminence, d.PeakProminence)
	setF(&c.MinNoteDB, d.MinNoteDB)
	setF(&c.QuietMinNoteDB, d.QuietMinNoteDB)
	setF(&c.MinNoteRelDB, d.MinNoteRelDB)
	setF(&c.RelThreshold, d.RelThreshold)
	setI(&c.MaxPolyphony, d.MaxPolyphony)
	setI(&c.Harmonics, d.Harmonics)
	setI(&c.ConfirmFrames, d.ConfirmFrames)
	setI(&c.HoldFrames, d.HoldFrames)
	setF(&c.OnsetSensitivity, d.OnsetSensitivity)
	setF(&c.ReattackRatio, d.ReattackRatio)
	return c
}

// FieldError is a Config field outside its allowed range. It names the field as Go spells it
// ("ConfirmFrames"), so that a caller with its own names for the fields (bridge/config's YAML
// keys) can name it, and carries the rule it broke, so that the caller need not repeat the ranges.
// It wraps ErrInvalidConfig.
type FieldError struct {
	Field string  // the Config field
	Value float64 // its value, defaults filled in (a zero field is never refused)
	// Min and Max bound the value, both included. With Above set, Min is that field's value
	// (which Value must exceed) and Max is +Inf.
	Min, Max float64
	// PowerOfTwo is set for the window lengths, which must also be powers of two.
	PowerOfTwo bool
	// Above names the field this one must be above (MaxHz over MinHz), or is "".
	Above string
}

func (e *FieldError) Error() string {
	switch {
	case e.Above != "":
		return fmt.Sprintf("%v: %s (%g) must be above %s (%g)", ErrInvalidConfig, e.Field, e.Value, e.Above, e.Min)
	case e.PowerOfTwo:
		return fmt.Sprintf("%v: %s is %g, want a power of two from %g to %g", ErrInvalidConfig, e.Field, e.Value, e.Min, e.Max)
	}
	return fmt.Sprintf("%v: %s is %g, want %g to %g", ErrInvalidConfig, e.Field, e.Value, e.Min, e.Max)
}

// Unwrap makes errors.Is(err, ErrInvalidConfig) hold.
func (e *FieldError) Unwrap() error { return ErrInvalidConfig }

// Validate fills defaults and reports the first field out of range as a *FieldError.
func (c Config) Validate() error {
	c = c.withDefaults()
	for _, r := range []struct {
		field    string
		v        float64
		min, max float64
	}{
		{"TuningHz", c.TuningHz, 400, 480},
		{"MinHz", c.MinHz, 20, 1000},
		{"MaxHz", c.MaxHz, 200, 12000},
		{"WindowTail", c.WindowTail, 0.02, 0.5},
		{"PeakProminence", c.PeakProminence, 1, 100},
		{"MinNoteDB", c.MinNoteDB, -120, 0},
		{"QuietMinNoteDB", c.QuietMinNoteDB, -120, 0},
		{"MinNoteRelDB", c.MinNoteRelDB, -120, 0},
		{"RelThreshold", c.RelThreshold, 0, 1},
		{"MaxPolyphony", float64(c.MaxPolyphony), 1, MaxNotes},
		{"Harmonics", float64(c.Harmonics), 1, maxHarmonics},
		{"ConfirmFrames", float64(c.ConfirmFrames), 1, 30},
		{"HoldFrames", float64(c.HoldFrames), 0, 60},
		{"OnsetSensitivity", c.OnsetSensitivity, 0.1, 20},
		{"ReattackRatio", c.ReattackRatio, 0.1, 100},
	} {
		if math.IsNaN(r.v) || r.v < r.min || r.v > r.max {
			return &FieldError{Field: r.field, Value: r.v, Min: r.min, Max: r.max}
		}
	}
	if c.MaxHz <= c.MinHz {
		return &FieldError{Field: "MaxHz", Value: c.MaxHz, Min: c.MinHz, Max: math.Inf(1), Above: "MinHz"}
	}
	for _, w := range []struct {
		field  string
		n, dec int
	}{{"ShortFFT", c.ShortFFT, shortDecim}, {"MidFFT", c.MidFFT, midDecim}, {"LongFFT", c.LongFFT, longDecim}} {
		if w.n < 64*w.dec || w.n > 1<<17 || w.n&(w.n-1) != 0 {
			return &FieldError{Field: w.field, Value: float64(w.n), Min: float64(64 * w.dec), Max: 1 << 17, PowerOfTwo: true}
		}
	}
	return nil
}
