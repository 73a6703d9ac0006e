package config

import (
	"fmt"
	"path/filepath"
	"strings"
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

// defaultMs is how a zero-meaning warning quotes the default of an effects key in milliseconds.
func defaultMs(ms float64) string { return time.Duration(ms * float64(time.Millisecond)).String() }

// Before this version a 0 (or black) for these keys meant the default; now it means what it says.
// A file valid before still loads, with one warning per such key naming it, what the value does
// now and the default it meant before, so that an upgrade does not darken a venue without a word.
func TestEffectZeroWarnings(t *testing.T) {
	def := effect.DefaultSettings()
	for _, tc := range []struct {
		line  string   // under effects:
		key   string   // the key the warning names
		words []string // besides the key, "before this version" and the fix
	}{
		{"brightness_cap: 0", "brightness_cap", []string{"is 0:", "strips stay dark", fmt.Sprintf("meant the default %g", def.BrightnessCap)}},
		{"idle_brightness: 0", "idle_brightness", []string{"is 0:", "idle look is dark", fmt.Sprintf("meant the default %g", def.IdleBrightness), "idle: off"}},
		{`idle_color: "#000000"`, "idle_color", []string{`is "#000000":`, "idle look is dark", "meant the default amber " + def.IdleColor, "idle: off"}},
		{"attack_ms: 0", "attack_ms", []string{"is 0:", "light up at once", "meant the default " + defaultMs(def.AttackMs), "-1"}},
		{"decay_ms: 0", "decay_ms", []string{"is 0:", "dark at once", "meant the default " + defaultMs(def.DecayMs), "-1"}},
		{"crossfade_ms: 0", "crossfade_ms", []string{"is 0:", "is a cut", "meant the default " + defaultMs(def.CrossfadeMs), "-1"}},
		{"musician_hue_spread: 0", "musician_hue_spread", []string{"is 0:", "no longer moves a musician's hue", fmt.Sprintf("meant the default %g degrees", def.MusicianHueSpread)}},
		{"led_idle_milliamps: 0", "led_idle_milliamps", []string{"is 0:", "not counted against output.max_milliamps", fmt.Sprintf("meant the default %g mA", def.IdleMilliamps)}},
		{"musician_hue_spread: 0.0", "musician_hue_spread", nil}, // a float zero is a zero
		{"brightness_cap: -0", "brightness_cap", nil},
		{`idle_color: "#000000"` + "\n  idle: solid", "idle_color", nil},
	} {
		loaded, err := loadFile(t, "effects:\n  "+tc.line+"\n")
		if err != nil {
			t.Errorf("%s: a file valid before this version is refused: %v", tc.line, err)
			continue
		}
		if len(loaded.Warnings) != 1 {
			t.Errorf("%s: warnings %q, want one", tc.line, loaded.Warnings)
			continue
		}
		w := loaded.Warnings[0]
		for _, word := range append([]string{"effects." + tc.key + " is ", "before this version", "remove the line for the default"}, tc.words...) {
			if !strings.Contains(w, word) {
				t.Errorf("%s: warning %q does not mention %q", tc.line, w, word)
			}
		}
	}

	// The reviewer's file: both keys are named, each once, and the strips are dark as written.
	loaded, err := loadFile(t, "effects:\n  brightness_cap: 0\n  crossfade_ms: 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Warnings) != 2 || !strings.HasPrefix(loaded.Warnings[0], "effects.brightness_cap is 0: ") ||
		!strings.HasPrefix(loaded.Warnings[1], "effects.crossfade_ms is 0: ") {
		t.Errorf("warnings %q, want brightness_cap's then crossfade_ms's", loaded.Warnings)
	}
	if ec, err := loaded.EffectConfig(); err != nil || ec.BrightnessCap != effect.Dark || ec.Crossfade >= 0 {
		t.Errorf("the warned meaning is not the one applied: cap %v crossfade %v (%v)", ec.BrightnessCap, ec.Crossfade, err)
	}
}

// No warning where nothing changed: the defaults, values that are not zero, -1 for instant (the
// same as 0 now, and before), and the idle keys when idle: off makes them idle.
func TestEffectZeroWarningsOnlyWhenMeaningChanged(t *testing.T) {
	for _, body := range []string{
		"",
		"effects:\n  brightness_cap: 0.01\n  idle_brightness: 1\n  idle_color: \"#010000\"\n  musician_hue_spread: 1\n  led_idle_milliamps: 0.5\n",
		"effects:\n  attack_ms: -1\n  decay_ms: -1\n  crossfade_ms: -1\n",
		"effects:\n  idle: \"off\"\n  idle_brightness: 0\n  idle_color: \"#000000\"\n",
		"effects:\n  brightness_cap:\n  attack_ms: ~\n", // empty values keep the defaults
	} {
		loaded, err := loadFile(t, body)
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		if len(loaded.Warnings) != 0 {
			t.Errorf("warnings %q for\n%s", loaded.Warnings, body)
		}
	}
	// -1 is as instant as 0, which the warning offers as the way to keep a 0 without it.
	minus, err := loadFile(t, "effects:\n  attack_ms: -1\n")
	if err != nil {
		t.Fatal(err)
	}
	zero, err := loadFile(t, "effects:\n  attack_ms: 0\n")
	if err != nil {
		t.Fatal(err)
	}
	a, errA := minus.EffectConfig()
	b, errB := zero.EffectConfig()
	if errA != nil || errB != nil || a.Attack >= 0 || b.Attack >= 0 {
		t.Errorf("attack_ms -1 gives %v, 0 gives %v: both should be instant (%v, %v)", a.Attack, b.Attack, errA, errB)
	}
}

// A zero set by an environment variable names the variable, and unsetting it is the fix.
func TestEffectZeroWarningNamesTheVariable(t *testing.T) {
	loaded, err := Load(Options{
		LookupEnv:  func(k string) (string, bool) { return "0", k == "LEDBRIDGE_EFFECTS_BRIGHTNESS_CAP" },
		Getenv:     noHome,
		SystemFile: filepath.Join(t.TempDir(), "absent.yaml"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Warnings) != 1 {
		t.Fatalf("warnings %q, want one", loaded.Warnings)
	}
	w := loaded.Warnings[0]
	for _, word := range []string{"effects.brightness_cap is 0 (from LEDBRIDGE_EFFECTS_BRIGHTNESS_CAP): the strips stay dark", "unset LEDBRIDGE_EFFECTS_BRIGHTNESS_CAP for the default"} {
		if !strings.Contains(w, word) {
			t.Errorf("warning %q does not mention %q", w, word)
		}
	}
}
