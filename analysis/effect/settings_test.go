package effect

import (
	"errors"
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
