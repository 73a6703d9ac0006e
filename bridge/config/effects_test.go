package config

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
)

// renderIdle renders two seconds of the idle look (a full breath at most tempos' first beats)
// on a 4-LED strip and returns the brightest byte seen.
func renderIdle(t *testing.T, ec effect.Config) byte {
	t.Helper()
	r, err := effect.NewRenderer(ec, effect.Strip{LEDs: 4})
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 12)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var brightest byte
	for i := 0; i < 120; i++ {
		if _, err := r.Render(frame, effect.Input{Now: start.Add(time.Duration(i) * time.Second / 60), Look: effect.LookIdle}); err != nil {
			t.Fatal(err)
		}
		for _, b := range frame {
			brightest = max(brightest, b)
		}
	}
	return brightest
}

// A zero the operator writes is the value, not "the default": brightness_cap: 0 lit the strips at
// 0.8, idle_brightness: 0 at 0.3 and idle_color "#000000" in amber.
func TestEffectZerosAreHonoured(t *testing.T) {
	for _, body := range []string{
		"effects:\n  idle: solid\n  idle_color: \"#ffffff\"\n  brightness_cap: 0\n",
		"effects:\n  idle: solid\n  idle_color: \"#000000\"\n  brightness_cap: 1\n",
		"effects:\n  idle: breathing\n  idle_color: \"#000000\"\n  idle_brightness: 1\n",
		"effects:\n  idle: solid\n  idle_color: \"#ffffff\"\n  idle_brightness: 0\n",
	} {
		loaded, err := loadFile(t, body)
		if err != nil {
			t.Fatal(err)
		}
		ec, err := loaded.EffectConfig()
		if err != nil {
			t.Fatal(err)
		}
		if b := renderIdle(t, ec); b != 0 {
			t.Errorf("asked dark, the strip lights (brightest byte %d):\n%s", b, body)
		}
	}

	// The same keys with light values light the strip, so the check above can fail.
	loaded, err := loadFile(t, "effects:\n  idle: solid\n  idle_color: \"#ffffff\"\n  idle_brightness: 0.5\n  brightness_cap: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	ec, err := loaded.EffectConfig()
	if err != nil {
		t.Fatal(err)
	}
	if b := renderIdle(t, ec); b == 0 {
		t.Error("a white idle at half brightness renders dark")
	}

	loaded, err = loadFile(t, "effects:\n  attack_ms: 0\n  decay_ms: 0\n  crossfade_ms: 0\n  led_idle_milliamps: 0\n  musician_hue_spread: 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if ec, err = loaded.EffectConfig(); err != nil {
		t.Fatal(err)
	}
	if ec.Attack >= 0 || ec.Decay >= 0 || ec.Crossfade >= 0 {
		t.Errorf("0 ms is not instant: attack %v, decay %v, crossfade %v", ec.Attack, ec.Decay, ec.Crossfade)
	}
	if ec.Current.IdleMilliamps >= 0 {
		t.Errorf("led_idle_milliamps 0 counts the default idle draw: %v", ec.Current.IdleMilliamps)
	}
	p := ec.Palette
	p.Mode = color.ModeMusician
	if a, b := p.NoteRGB(0, 60), p.NoteRGB(0, 66); a.Hex() != b.Hex() && hueOf(a) != hueOf(b) {
		t.Errorf("musician_hue_spread 0 still moves a musician's hue with pitch: %v and %v", a, b)
	}
}

// hueOf is the hue of c, in whole degrees.
func hueOf(c color.RGB) int {
	r, g, b := float64(c.R), float64(c.G), float64(c.B)
	hi, lo := max(r, g, b), min(r, g, b)
	if hi == lo {
		return 0
	}
	var h float64
	switch hi {
	case r:
		h = (g - b) / (hi - lo)
	case g:
		h = 2 + (b-r)/(hi-lo)
	default:
		h = 4 + (r-g)/(hi-lo)
	}
	return (int(h*60) + 360) % 360
}

// The defaults convert as effect.Settings.Config converts them: nothing to honour there.
func TestEffectConfigOfDefaults(t *testing.T) {
	c := Default()
	got, err := c.EffectConfig()
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Effects.Config()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("EffectConfig of the defaults = %+v, want %+v", got, want)
	}
}

func TestChannelMilliampsZeroRefused(t *testing.T) {
	_, err := loadFile(t, "effects:\n  led_channel_milliamps: 0\n")
	wantKeyError(t, err, "effects.led_channel_milliamps", "above 0")
}
