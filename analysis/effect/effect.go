// Package effect renders one strip's pixel Frame per 60 fps tick: from the
// analysed Features of every source (effects notes, pulse, spectrum), from the
// host's led-update colours (broadcast), or an idle look, crossfading between
// them, then applying gamma, brightness, RGBW white extraction, the strip's
// current limit and the photosensitive-epilepsy flash limit (at most three
// whole-strip flashes in any second, whatever the look). A Renderer is made
// once per strip and renders without allocating.
package effect

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
)

// Effect selects how analysed audio becomes light.
type Effect int

const (
	// EffectUnknown is the zero value: use the configured default (notes).
	EffectUnknown Effect = iota
	// EffectNotes lights a region per sounding note, placed along the strip by pitch.
	EffectNotes
	// EffectPulse flashes the whole strip with the colour of the note just played
	// on every attack (a note's onset, or a hit: once for a held note) and decays
	// within a beat of the room's tempo (the flash guard holds it to three full
	// flashes a second).
	EffectPulse
	// EffectSpectrum shows the 16 analysis bands as bars, low to high along the strip.
	EffectSpectrum
)

func (e Effect) String() string {
	switch e {
	case EffectNotes:
		return "notes"
	case EffectPulse:
		return "pulse"
	case EffectSpectrum:
		return "spectrum"
	}
	return "unknown"
}

// EffectNames are the effect names ParseEffect reads, as a config file spells them.
var EffectNames = []string{"notes", "pulse", "spectrum"}

// ParseEffect reads an effect name as the config file spells it ("" = notes).
func ParseEffect(s string) (Effect, error) {
	switch s {
	case "notes", "":
		return EffectNotes, nil
	case "pulse":
		return EffectPulse, nil
	case "spectrum":
		return EffectSpectrum, nil
	}
	return EffectUnknown, fmt.Errorf("effect: parse effect %q: %w", s, ErrBadConfig)
}

// IdleLook is what a strip shows when there is neither audio nor a host frame,
// or while playback is stopped.
type IdleLook int

const (
	// IdleUnknown is the zero value: use IdleBreathing.
	IdleUnknown IdleLook = iota
	// IdleBreathing slowly swells and fades IdleColor, one breath per BeatsPerBreath beats.
	IdleBreathing
	// IdleOff turns the strip dark.
	IdleOff
	// IdleSolid holds IdleColor at IdleBrightness.
	IdleSolid
)

func (l IdleLook) String() string {
	switch l {
	case IdleBreathing:
		return "breathing"
	case IdleOff:
		return "off"
	case IdleSolid:
		return "solid"
	}
	return "unknown"
}

// IdleLookNames are the idle look names ParseIdleLook reads.
var IdleLookNames = []string{"breathing", "solid", "off"}

// ParseIdleLook reads an idle look name ("" = breathing).
func ParseIdleLook(s string) (IdleLook, error) {
	switch s {
	case "breathing", "":
		return IdleBreathing, nil
	case "off":
		return IdleOff, nil
	case "solid":
		return IdleSolid, nil
	}
	return IdleUnknown, fmt.Errorf("effect: parse idle look %q: %w", s, ErrBadConfig)
}

// Resample selects how a led-update colour array is stretched to a strip.
type Resample int

const (
	// ResampleUnknown is the zero value: use ResampleNearest.
	ResampleUnknown Resample = iota
	// ResampleNearest gives every LED the colour of the entry it falls on, so
	// N colours make N equal blocks (what a host drawing "one colour per
	// musician" means).
	ResampleNearest
	// ResampleLinear interpolates between neighbouring entries: gradients.
	ResampleLinear
)

func (r Resample) String() string {
	switch r {
	case ResampleNearest:
		return "nearest"
	case ResampleLinear:
		return "linear"
	}
	return "unknown"
}

// ResampleNames are the resampling names ParseResample reads.
var ResampleNames = []string{"nearest", "linear"}

// ParseResample reads a resampling name ("" = nearest).
func ParseResample(s string) (Resample, error) {
	switch s {
	case "nearest", "":
		return ResampleNearest, nil
	case "linear":
		return ResampleLinear, nil
	}
	return ResampleUnknown, fmt.Errorf("effect: parse resample %q: %w", s, ErrBadConfig)
}

// Limits.
const (
	// MaxLEDs bounds a strip's length: the most the WLED outputs drive
	// (wled.MaxLEDs), which also keeps a typo from allocating gigabytes.
	MaxLEDs = 16384
	// MaxSources is how many sources keep their own pulse and spectrum state
	// (the loudest, when there are more); slots go to musicians as they are
	// heard.
	MaxSources = 16
)

// Defaults used for zero Config fields.
const (
	DefaultBrightnessCap  = 0.8
	DefaultAttack         = 10 * time.Millisecond
	DefaultDecay          = 250 * time.Millisecond
	DefaultPulseFloor     = 0.1
	DefaultNoteLow        = 28 // E1, a bass guitar's lowest string
	DefaultNoteHigh       = 100
	DefaultNoteWidth      = 1   // semitones either side: a minor third apart still shows a gap
	DefaultIdleBrightness = 0.4 // at the default cap and gamma: amber R27 G8 B1 at the swell
	DefaultBeatsPerBreath = 4
	DefaultCrossfade      = 300 * time.Millisecond
	DefaultTempo          = 120 // BPM until the room says otherwise (PROTOCOL.md §3)
)

// Explicit zeros. A zero Config field means its default, so a caller whose zero is the value
// itself (a config file, whose unset keys already hold the defaults: brightness_cap: 0 means
// dark, crossfade_ms: 0 means a cut) passes these instead.
const (
	// Dark is the smallest brightness above zero: a BrightnessCap or IdleBrightness of Dark
	// renders every LED off (its duty rounds to 0), where 0 would mean the default.
	Dark float32 = math.SmallestNonzeroFloat32
	// Instant is an Attack, Decay or Crossfade that takes no time (any negative one does).
	Instant time.Duration = -1
)

// DefaultIdleColor is a warm amber: reads as "stage lights waiting", not as a
// note colour.
var DefaultIdleColor = color.RGB{R: 255, G: 150, B: 60}

// Errors.
var (
	// ErrBadConfig indicates a configuration value outside its documented range.
	ErrBadConfig = errors.New("invalid effect configuration")
	// ErrBadStrip indicates a strip description that cannot be rendered (length outside 1–MaxLEDs).
	ErrBadStrip = errors.New("invalid strip description")
	// ErrShortFrame indicates a destination buffer smaller than the strip's frame.
	ErrShortFrame = errors.New("frame buffer shorter than the strip's frame")
)

// Config holds the settings shared by every strip. Zero fields mean the defaults above.
type Config struct {
	Effect  Effect
	Palette color.Palette // colour mode and musician hue spread
	// BrightnessCap scales every LED's duty, 0–1 (applied after gamma, like
	// WLED's brightness, so 0.5 also halves the current drawn).
	// Zero means DefaultBrightnessCap; Dark keeps every strip off.
	BrightnessCap float32
	Gamma         float32 // 0.1–5; 1 is linear
	// Attack and Decay smooth note and band levels; negative means instant.
	Attack, Decay time.Duration
	// PulseFloor is the fraction of a pulse's brightness left one beat after
	// its onset, 0–1 exclusive.
	PulseFloor float32
	// NoteLow and NoteHigh are the MIDI notes at the strip's two ends in the
	// notes effect; notes outside are placed at the nearer end.
	NoteLow, NoteHigh int
	// NoteWidth is a note region's half-width in semitones (at least one LED).
	NoteWidth float32

	Idle           IdleLook
	IdleColor      color.RGB // zero means DefaultIdleColor; for a black idle set IdleBrightness Dark (or Idle IdleOff)
	IdleBrightness float32   // 0–1; zero means DefaultIdleBrightness, Dark keeps the idle look off
	BeatsPerBreath float32   // beats per idle breath

	// Crossfade is how long a switch between looks (local, broadcast, idle)
	// takes; negative means cut.
	Crossfade time.Duration
	Resample  Resample
	Current   color.CurrentModel // per-LED current figures for Strip.MaxMilliamps
}

// Strip describes one LED run to render for (LedFx's "virtual").
type Strip struct {
	LEDs int  // 1–MaxLEDs
	RGBW bool // 4 bytes per LED with a white channel, else 3
	// Effect and ColorMode override Config's for this strip when non-zero.
	Effect    Effect
	ColorMode color.Mode
	// Brightness scales this strip below Config.BrightnessCap, 0–1; 0 means 1.
	Brightness float32
	// MaxMilliamps caps the strip's estimated current (WLED-style ABL); 0 is off.
	MaxMilliamps float32
	// Reverse puts the effect's start at the last LED.
	Reverse bool
	// Mirror renders the effect on half the strip and reflects it, so that it
	// grows from the centre outwards (low notes in the middle).
	// Reverse and Mirror describe how the strip is mounted, so they apply to
	// every look: effects, the host's broadcast frames and the idle look.
	Mirror bool
}

// BytesPerLED is 4 for RGBW strips and 3 otherwise.
func (s Strip) BytesPerLED() int {
	if s.RGBW {
		return 4
	}
	return 3
}

// FrameSize is the length in bytes of the strip's Frame.
func (s Strip) FrameSize() int { return s.LEDs * s.BytesPerLED() }

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	bad := func(what string, v any) (Config, error) {
		return c, fmt.Errorf("effect: config %s = %v: %w", what, v, ErrBadConfig)
	}
	if c.Effect == EffectUnknown {
		c.Effect = EffectNotes
	}
	if c.Effect < EffectNotes || c.Effect > EffectSpectrum {
		return bad("effect", int(c.Effect))
	}
	if c.Palette.Mode == color.ModeUnknown {
		c.Palette.Mode = color.ModeNote
	}
	if c.Palette.Mode < color.ModeNote || c.Palette.Mode > color.ModeSpectrum {
		return bad("color mode", int(c.Palette.Mode))
	}
	if c.BrightnessCap == 0 {
		c.BrightnessCap = DefaultBrightnessCap
	}
	if !(c.BrightnessCap > 0 && c.BrightnessCap <= 1) {
		return bad("brightness cap", c.BrightnessCap)
	}
	if c.Attack == 0 {
		c.Attack = DefaultAttack
	}
	if c.Decay == 0 {
		c.Decay = DefaultDecay
	}
	if c.PulseFloor == 0 {
		c.PulseFloor = DefaultPulseFloor
	}
	if !(c.PulseFloor > 0 && c.PulseFloor < 1) {
		return bad("pulse floor", c.PulseFloor)
	}
	if c.NoteLow == 0 && c.NoteHigh == 0 {
		c.NoteLow, c.NoteHigh = DefaultNoteLow, DefaultNoteHigh
	}
	if c.NoteLow < 0 || c.NoteHigh > 127 || c.NoteLow >= c.NoteHigh {
		return bad("note range", fmt.Sprintf("%d–%d", c.NoteLow, c.NoteHigh))
	}
	if c.NoteWidth == 0 {
		c.NoteWidth = DefaultNoteWidth
	}
	if !(c.NoteWidth > 0 && c.NoteWidth <= 24) {
		return bad("note width", c.NoteWidth)
	}
	if c.Idle == IdleUnknown {
		c.Idle = IdleBreathing
	}
	if c.Idle < IdleBreathing || c.Idle > IdleSolid {
		return bad("idle look", int(c.Idle))
	}
	if c.IdleColor == (color.RGB{}) {
		c.IdleColor = DefaultIdleColor
	}
	if c.IdleBrightness == 0 {
		c.IdleBrightness = DefaultIdleBrightness
	}
	if !(c.IdleBrightness > 0 && c.IdleBrightness <= 1) {
		return bad("idle brightness", c.IdleBrightness)
	}
	if c.BeatsPerBreath == 0 {
		c.BeatsPerBreath = DefaultBeatsPerBreath
	}
	if !(c.BeatsPerBreath >= 0.25 && c.BeatsPerBreath <= 64) {
		return bad("beats per breath", c.BeatsPerBreath)
	}
	if c.Crossfade == 0 {
		c.Crossfade = DefaultCrossfade
	}
	if c.Crossfade > 10*time.Second {
		return bad("crossfade", c.Crossfade)
	}
	if c.Resample == ResampleUnknown {
		c.Resample = ResampleNearest
	}
	if c.Resample < ResampleNearest || c.Resample > ResampleLinear {
		return bad("resample", int(c.Resample))
	}
	if c.Gamma == 0 {
		c.Gamma = color.DefaultGamma
	}
	if err := color.CheckGamma(c.Gamma); err != nil {
		return c, fmt.Errorf("effect: config: %w: %w", ErrBadConfig, err)
	}
	if !(c.Palette.MusicianSpread >= 0 && c.Palette.MusicianSpread <= 360) {
		return bad("musician hue spread", c.Palette.MusicianSpread)
	}
	// IdleMilliamps may be negative (no idle draw) but not NaN, which would make every
	// estimate NaN and the current limit blank the strip.
	if !(c.Current.ChannelMilliamps >= 0 && c.Current.ChannelMilliamps < 1000) || !(c.Current.IdleMilliamps <= 1000) ||
		!(c.Current.ControllerMilliamps >= 0 && c.Current.ControllerMilliamps < 10000) {
		return bad("current model", c.Current)
	}
	return c, nil
}

// Validate reports whether cfg, with defaults filled, is usable.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}
