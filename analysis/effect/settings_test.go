package effect

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/color"
)

func TestDefaultSettingsEqualZeroConfig(t *testing.T) {
	fromDefaults, err := DefaultSettings().Config()
	if err != nil {
		t.Fatal(err)
	}
	a, err := fromDefaults.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Config{}.withDefaults()
	b.Palette.MusicianSpread = color.DefaultMusicianSpread
	b.Current = color.CurrentModel{ChannelMilliamps: color.DefaultChannelMilliamps, IdleMilliamps: color.DefaultIdleMilliamps}
	if a != b {
		t.Fatalf("defaults differ:\n%+v\n%+v", a, b)
	}
}

func TestSettingsParse(t *testing.T) {
	c, err := Settings{Effect: "pulse", ColorMode: "musician", Idle: "solid", IdleColor: "#102030",
		AttackMs: -1, CrossfadeMs: 500, Resample: "linear"}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.Effect != EffectPulse || c.Palette.Mode != color.ModeMusician || c.Idle != IdleSolid ||
		c.IdleColor != (color.RGB{R: 0x10, G: 0x20, B: 0x30}) || c.Attack >= 0 || c.Crossfade.Milliseconds() != 500 || c.Resample != ResampleLinear {
		t.Fatalf("parsed %+v", c)
	}
	for _, bad := range []Settings{{Effect: "strobe"}, {ColorMode: "rainbow"}, {Idle: "sleep"}, {IdleColor: "red"},
		{Resample: "cubic"}, {BrightnessCap: 3}, {MusicianHueSpread: -5}} {
		if _, err := bad.Config(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%+v: err %v", bad, err)
		}
	}
	st, err := StripSettings{LEDs: 144, RGBW: true, Effect: "spectrum", ColorMode: "spectrum", MaxMilliamps: 1500}.Strip()
	if err != nil || st.Effect != EffectSpectrum || st.ColorMode != color.ModeSpectrum || !st.RGBW || st.FrameSize() != 576 {
		t.Fatalf("strip %+v, %v", st, err)
	}
	for _, bad := range []StripSettings{{LEDs: 0}, {LEDs: 10, ColorMode: "x"}, {LEDs: 10, Effect: "x"}} {
		if _, err := bad.Strip(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestSettingsRefuseNaNAndInfinityNamingTheKey: NaN slips through range checks written as
// "v < lo || v > hi" (bridge/config's among them), and an infinite or enormous duration wraps
// when it becomes a time.Duration; each is refused with its key. A NaN idle current used to be
// accepted and made the current limit blank the strip, reporting NaN mA.
func TestSettingsRefuseNaNAndInfinityNamingTheKey(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for key, s := range map[string]Settings{
		"led_idle_milliamps":    {IdleMilliamps: float32(nan)},
		"led_channel_milliamps": {ChannelMilliamps: float32(nan)},
		"controller_milliamps":  {ControllerMilliamps: float32(nan)},
		"musician_hue_spread":   {MusicianHueSpread: float32(nan)},
		"attack_ms":             {AttackMs: nan},
		"decay_ms":              {DecayMs: inf},
		"crossfade_ms":          {CrossfadeMs: -inf},
		"gamma":                 {Gamma: float32(nan)},
		"brightness_cap":        {BrightnessCap: float32(nan)},
		"pulse_floor":           {PulseFloor: float32(inf)},
		"note_width":            {NoteWidth: float32(nan)},
		"idle_brightness":       {IdleBrightness: float32(nan)},
		"beats_per_breath":      {BeatsPerBreath: float32(nan)},
	} {
		_, err := s.Config()
		if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: Config() = %v, want ErrBadConfig naming the key", key, err)
		}
	}
	if _, err := (Settings{DecayMs: 1e300}).Config(); !errors.Is(err, ErrBadConfig) {
		t.Errorf("decay_ms 1e300 (wraps as a Duration): %v", err)
	}
	for _, c := range []Config{
		{Current: color.CurrentModel{IdleMilliamps: float32(nan)}},
		{Palette: color.Palette{MusicianSpread: float32(nan)}},
		{Palette: color.Palette{MusicianSpread: 400}},
	} {
		if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("Config %+v: Validate() = %v, want ErrBadConfig", c, err)
		}
	}
	if err := (Config{Current: color.CurrentModel{IdleMilliamps: -1}}).Validate(); err != nil {
		t.Errorf("a negative idle current (none) is documented as valid: %v", err)
	}
}

// A strip's look is configured apart from its shape (the device reports its LED count): Look
// converts the look's keys without an LED count, and refuses what the renderer would refuse,
// naming the key, NaN included.
func TestStripSettingsLookWithoutLEDs(t *testing.T) {
	st, err := StripSettings{Effect: "pulse", ColorMode: "musician", Brightness: 0.5, MaxMilliamps: 800, Reverse: true, Mirror: true}.Look()
	if err != nil || st.Effect != EffectPulse || st.ColorMode != color.ModeMusician || st.Brightness != 0.5 ||
		st.MaxMilliamps != 800 || !st.Reverse || !st.Mirror || st.LEDs != 0 {
		t.Fatalf("look %+v, %v", st, err)
	}
	nan := float32(math.NaN())
	for _, tc := range []struct {
		s   StripSettings
		key string
	}{
		{StripSettings{Brightness: 1.5}, "brightness"},
		{StripSettings{Brightness: nan}, "brightness"},
		{StripSettings{Brightness: -0.1}, "brightness"},
		{StripSettings{MaxMilliamps: nan}, "max_milliamps"},
		{StripSettings{MaxMilliamps: -1}, "max_milliamps"},
		{StripSettings{Effect: "sparkle"}, "sparkle"},
		{StripSettings{ColorMode: "rainbow"}, "rainbow"},
	} {
		if _, err := tc.s.Look(); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%+v: err %v, want one naming %q", tc.s, err, tc.key)
		}
	}
}
