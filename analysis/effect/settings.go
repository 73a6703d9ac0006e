package effect

import (
	"fmt"
	"math"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
)

// Settings is Config as a config file spells it: names instead of enums,
// milliseconds instead of durations. Zero fields mean the defaults, as in
// Config. The tags are the keys bridge/config can decode with viper.
type Settings struct {
	Effect            string  `mapstructure:"effect" json:"effect,omitempty"`                           // notes | pulse | spectrum
	ColorMode         string  `mapstructure:"color_mode" json:"color_mode,omitempty"`                   // note | musician | spectrum
	MusicianHueSpread float32 `mapstructure:"musician_hue_spread" json:"musician_hue_spread,omitempty"` // degrees
	BrightnessCap     float32 `mapstructure:"brightness_cap" json:"brightness_cap,omitempty"`           // 0–1
	Gamma             float32 `mapstructure:"gamma" json:"gamma,omitempty"`
	AttackMs          float64 `mapstructure:"attack_ms" json:"attack_ms,omitempty"` // negative: instant
	DecayMs           float64 `mapstructure:"decay_ms" json:"decay_ms,omitempty"`   // negative: instant
	PulseFloor        float32 `mapstructure:"pulse_floor" json:"pulse_floor,omitempty"`
	NoteLow           int     `mapstructure:"note_low" json:"note_low,omitempty"`   // MIDI
	NoteHigh          int     `mapstructure:"note_high" json:"note_high,omitempty"` // MIDI
	NoteWidth         float32 `mapstructure:"note_width" json:"note_width,omitempty"`
	Idle              string  `mapstructure:"idle" json:"idle,omitempty"`             // breathing | off | solid
	IdleColor         string  `mapstructure:"idle_color" json:"idle_color,omitempty"` // "#rrggbb"
	IdleBrightness    float32 `mapstructure:"idle_brightness" json:"idle_brightness,omitempty"`
	BeatsPerBreath    float32 `mapstructure:"beats_per_breath" json:"beats_per_breath,omitempty"`
	CrossfadeMs       float64 `mapstructure:"crossfade_ms" json:"crossfade_ms,omitempty"` // negative: cut
	Resample          string  `mapstructure:"resample" json:"resample,omitempty"`         // nearest | linear
	// WLED-style current model for each strip's max_milliamps.
	ChannelMilliamps float32 `mapstructure:"led_channel_milliamps" json:"led_channel_milliamps,omitempty"`
	IdleMilliamps    float32 `mapstructure:"led_idle_milliamps" json:"led_idle_milliamps,omitempty"`
	// ControllerMilliamps counts the controller's own draw against max_milliamps.
	ControllerMilliamps float32 `mapstructure:"controller_milliamps" json:"controller_milliamps,omitempty"`
}

// StripSettings is Strip as a config file spells it.
type StripSettings struct {
	LEDs         int     `mapstructure:"leds" json:"leds"`
	RGBW         bool    `mapstructure:"rgbw" json:"rgbw,omitempty"`
	Effect       string  `mapstructure:"effect" json:"effect,omitempty"`         // "" = the global effect
	ColorMode    string  `mapstructure:"color_mode" json:"color_mode,omitempty"` // "" = the global mode
	Brightness   float32 `mapstructure:"brightness" json:"brightness,omitempty"` // 0–1, 0 = 1
	MaxMilliamps float32 `mapstructure:"max_milliamps" json:"max_milliamps,omitempty"`
	Reverse      bool    `mapstructure:"reverse" json:"reverse,omitempty"`
	Mirror       bool    `mapstructure:"mirror" json:"mirror,omitempty"`
}

// maxMs is the longest time.Duration in milliseconds (about 292 years).
const maxMs = float64(math.MaxInt64) / float64(time.Millisecond)

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// Config converts and validates s. A value outside its range is refused naming its key.
func (s Settings) Config() (Config, error) {
	var c Config
	var err error
	// NaN passes every "v < lo || v > hi" test, and a duration beyond ±292 years wraps when it
	// becomes a time.Duration: refuse both here, where the key is known.
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"musician_hue_spread", float64(s.MusicianHueSpread)}, {"brightness_cap", float64(s.BrightnessCap)},
		{"gamma", float64(s.Gamma)}, {"attack_ms", s.AttackMs}, {"decay_ms", s.DecayMs},
		{"pulse_floor", float64(s.PulseFloor)}, {"note_width", float64(s.NoteWidth)},
		{"idle_brightness", float64(s.IdleBrightness)}, {"beats_per_breath", float64(s.BeatsPerBreath)},
		{"crossfade_ms", s.CrossfadeMs}, {"led_channel_milliamps", float64(s.ChannelMilliamps)},
		{"led_idle_milliamps", float64(s.IdleMilliamps)}, {"controller_milliamps", float64(s.ControllerMilliamps)},
	} {
		if math.IsNaN(f.v) || math.Abs(f.v) >= maxMs {
			return c, fmt.Errorf("effect: settings %s %v: %w", f.key, f.v, ErrBadConfig)
		}
	}
	if c.Effect, err = ParseEffect(s.Effect); err != nil {
		return c, err
	}
	if c.Palette.Mode, err = color.ParseMode(s.ColorMode); err != nil {
		return c, fmt.Errorf("effect: settings: %w: %w", ErrBadConfig, err)
	}
	if c.Idle, err = ParseIdleLook(s.Idle); err != nil {
		return c, err
	}
	if c.Resample, err = ParseResample(s.Resample); err != nil {
		return c, err
	}
	if s.IdleColor != "" {
		if c.IdleColor, err = color.ParseHex(s.IdleColor); err != nil {
			return c, fmt.Errorf("effect: settings idle_color: %w: %w", ErrBadConfig, err)
		}
	}
	if s.MusicianHueSpread < 0 || s.MusicianHueSpread > 360 {
		return c, fmt.Errorf("effect: settings musician_hue_spread %v: %w", s.MusicianHueSpread, ErrBadConfig)
	}
	c.Palette.MusicianSpread = s.MusicianHueSpread
	c.BrightnessCap, c.Gamma, c.PulseFloor = s.BrightnessCap, s.Gamma, s.PulseFloor
	c.Attack, c.Decay, c.Crossfade = ms(s.AttackMs), ms(s.DecayMs), ms(s.CrossfadeMs)
	c.NoteLow, c.NoteHigh, c.NoteWidth = s.NoteLow, s.NoteHigh, s.NoteWidth
	c.IdleBrightness, c.BeatsPerBreath = s.IdleBrightness, s.BeatsPerBreath
	c.Current = color.CurrentModel{ChannelMilliamps: s.ChannelMilliamps, IdleMilliamps: s.IdleMilliamps, ControllerMilliamps: s.ControllerMilliamps}
	return c, c.Validate()
}

// Strip converts s (the per-strip keys) into a Strip.
func (s StripSettings) Strip() (Strip, error) {
	st, err := s.Look()
	if err != nil {
		return st, err
	}
	if st.LEDs < 1 || st.LEDs > MaxLEDs {
		return st, fmt.Errorf("effect: strip settings leds %d (want 1–%d): %w", st.LEDs, MaxLEDs, ErrBadStrip)
	}
	return st, nil
}

// Look converts s like Strip but leaves the LED count unchecked: a strip's look is configured
// apart from its shape, which the device itself reports (bridge/config's strips: entries). The
// names and ranges of the look's keys are checked here, naming the key.
func (s StripSettings) Look() (Strip, error) {
	st := Strip{LEDs: s.LEDs, RGBW: s.RGBW, Brightness: s.Brightness, MaxMilliamps: s.MaxMilliamps, Reverse: s.Reverse, Mirror: s.Mirror}
	var err error
	if s.Effect != "" {
		if st.Effect, err = ParseEffect(s.Effect); err != nil {
			return st, err
		}
	}
	if s.ColorMode != "" {
		if st.ColorMode, err = color.ParseMode(s.ColorMode); err != nil {
			return st, fmt.Errorf("effect: strip settings: %w: %w", ErrBadStrip, err)
		}
	}
	// Written so that NaN fails too.
	if !(st.Brightness >= 0 && st.Brightness <= 1) {
		return st, fmt.Errorf("effect: strip settings brightness %v (want 0–1): %w", st.Brightness, ErrBadStrip)
	}
	if !(st.MaxMilliamps >= 0) || math.IsInf(float64(st.MaxMilliamps), 1) {
		return st, fmt.Errorf("effect: strip settings max_milliamps %v (want 0 or more): %w", st.MaxMilliamps, ErrBadStrip)
	}
	return st, nil
}

// DefaultSettings returns the defaults in config-file form, for documentation
// and for writing an example config.
func DefaultSettings() Settings {
	return Settings{
		Effect: EffectNotes.String(), ColorMode: color.ModeNote.String(),
		MusicianHueSpread: color.DefaultMusicianSpread, BrightnessCap: DefaultBrightnessCap,
		Gamma: color.DefaultGamma, AttackMs: float64(DefaultAttack.Milliseconds()), DecayMs: float64(DefaultDecay.Milliseconds()),
		PulseFloor: DefaultPulseFloor, NoteLow: DefaultNoteLow, NoteHigh: DefaultNoteHigh, NoteWidth: DefaultNoteWidth,
		Idle: IdleBreathing.String(), IdleColor: DefaultIdleColor.Hex(), IdleBrightness: DefaultIdleBrightness,
		BeatsPerBreath: DefaultBeatsPerBreath, CrossfadeMs: float64(DefaultCrossfade.Milliseconds()),
		Resample:         ResampleNearest.String(),
		ChannelMilliamps: color.DefaultChannelMilliamps, IdleMilliamps: color.DefaultIdleMilliamps,
	}
}
