package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
)

// A venue gives two strips their own looks: every key of an entry reaches the renderer's strip
// description (Look), a key left out keeps the global one, and a zero written is the value.
func TestStripsParseIntoLooks(t *testing.T) {
	got, err := loadFile(t, `
devices: ["wled://10.0.0.7"]
strips:
  - device: Drums
    effect: pulse
    color_mode: musician
    brightness: 0.5
    max_milliamps: 900
  - device: wled://10.0.0.7
    effect: notes
    reverse: true
    mirror: true
  - device: 10.0.0.9
    brightness: 0
    max_milliamps: 0
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Strips) != 3 {
		t.Fatalf("strips = %+v", got.Strips)
	}
	for i, tc := range []struct {
		device   string
		look     effect.Strip
		ownLimit bool
	}{
		{"Drums", effect.Strip{Effect: effect.EffectPulse, ColorMode: color.ModeMusician, Brightness: 0.5, MaxMilliamps: 900}, true},
		{"wled://10.0.0.7", effect.Strip{Effect: effect.EffectNotes, Reverse: true, Mirror: true}, false},
		{"10.0.0.9", effect.Strip{Brightness: effect.Dark}, true},
	} {
		s := got.Strips[i]
		look, own, err := s.Look()
		if err != nil || s.Device != tc.device || look != tc.look || own != tc.ownLimit {
			t.Errorf("strips[%d] = %+v: look %+v own limit %v (%v), want %s %+v %v", i, s, look, own, err, tc.device, tc.look, tc.ownLimit)
		}
	}
}

// Each of the entry's keys set to a value, and a test that Look carries it: a key added to Strip
// but not to Look would validate, show in `config show`, and do nothing.
func TestStripLookCarriesEveryKey(t *testing.T) {
	half, limit := 0.25, 1234
	s := Strip{Device: "x", Effect: "spectrum", ColorMode: "spectrum", Brightness: &half, MaxMilliamps: &limit, Reverse: true, Mirror: true}
	look, own, err := s.Look()
	want := effect.Strip{Effect: effect.EffectSpectrum, ColorMode: color.ModeSpectrum, Brightness: 0.25, MaxMilliamps: 1234, Reverse: true, Mirror: true}
	if err != nil || look != want || !own {
		t.Fatalf("look %+v own %v err %v, want %+v", look, own, err, want)
	}
	if n := countFields(Strip{}); n != 7 {
		t.Errorf("Strip has %d fields; this test covers 7: carry the new one into Look and test it here", n)
	}
}

// Each mistake names the entry and the key, and the device where there is one.
func TestStripsValidationNamesEntryAndKey(t *testing.T) {
	for _, tc := range []struct {
		name, body, key string
		words           []string
	}{
		{"no selector", "strips:\n  - effect: pulse\n", "strips[0].device", []string{"required", "name"}},
		{"blank selector", "strips:\n  - device: \"  \"\n", "strips[0].device", []string{"required"}},
		{"bad effect", "strips:\n  - device: bar\n  - device: drums\n    effect: sparkle\n", "strips[1].effect", []string{"sparkle", "pulse"}},
		{"bad colour mode", "strips:\n  - device: bar\n    color_mode: rainbow\n", "strips[0].color_mode", []string{"rainbow", "musician"}},
		{"brightness above 1", "strips:\n  - device: bar\n    brightness: 1.5\n", "strips[0].brightness", []string{"between 0 and 1", "1.5", `"bar"`}},
		{"brightness negative", "strips:\n  - device: bar\n    brightness: -0.1\n", "strips[0].brightness", []string{"between 0 and 1"}},
		{"brightness NaN", "strips:\n  - device: bar\n    brightness: .nan\n", "strips[0].brightness", []string{"NaN"}},
		{"brightness text", "strips:\n  - device: bar\n    brightness: bright\n", "strips[0].brightness", []string{"number"}},
		{"current negative", "strips:\n  - device: bar\n    max_milliamps: -5\n", "strips[0].max_milliamps", []string{"between 0 and 100000"}},
		{"unknown key", "strips:\n  - device: bar\n    revers: true\n", "strips[0].revers", []string{"reverse"}},
		{"same device twice", "strips:\n  - device: Bar\n  - device: drums\n  - device: bar\n", "strips[2].device", []string{"strips[0]", `"Bar"`}},
		{"url and its host", "strips:\n  - device: wled://10.0.0.7\n  - device: 10.0.0.7\n", "strips[1].device", []string{"strips[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFile(t, tc.body)
			wantKeyError(t, err, tc.key, tc.words...)
		})
	}
}

// A list of objects comes from the environment as JSON, as webrtc.ice_servers does; the same
// checks hold, naming the variable.
func TestStripsFromEnvironment(t *testing.T) {
	load := func(val string) (*Loaded, error) {
		env := map[string]string{"LEDBRIDGE_STRIPS": val}
		return Load(Options{File: write(t, "", 0o600), Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml"),
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	}
	got, err := load(`[{"device":"bar","effect":"notes","reverse":true,"brightness":0.3}]`)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Strips; len(s) != 1 || s[0].Device != "bar" || !s[0].Reverse || s[0].Brightness == nil || *s[0].Brightness != 0.3 {
		t.Fatalf("strips = %+v", s)
	}
	_, err = load("bar")
	wantKeyError(t, err, "strips", "LEDBRIDGE_STRIPS", "JSON list")
	_, err = load(`[{"device":"bar","brightness":"x"}]`)
	wantKeyError(t, err, "strips[0].brightness", "number")
	_, err = load(`[{"device":"bar","brightness":2}]`)
	wantKeyError(t, err, "strips[0].brightness", "LEDBRIDGE_STRIPS")
}

// `config show` prints the strips with their own keys, an unset brightness left out.
func TestStripsShownWithTheirKeys(t *testing.T) {
	got, err := loadFile(t, "strips:\n  - device: bar\n    color_mode: note\n    max_milliamps: 0\n")
	if err != nil {
		t.Fatal(err)
	}
	out := yamlText(t, got.Config.Map())
	for _, want := range []string{"device: bar", "color_mode: note", "max_milliamps: 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "brightness: null") || strings.Contains(out, "colormode") {
		t.Errorf("config show:\n%s", out)
	}
}

// A file without strips: loads none, and a reload that adds some changes the key "strips".
func TestStripsDefaultEmptyAndDiffed(t *testing.T) {
	got, err := loadFile(t, "room:\n  name: x\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Strips) != 0 {
		t.Fatalf("strips = %+v", got.Strips)
	}
	with := got.Config
	with.Strips = []Strip{{Device: "bar", Reverse: true}}
	if keys := ChangedKeys(got.Config, with); len(keys) != 1 || keys[0] != "strips" {
		t.Fatalf("changed keys = %v", keys)
	}
}

func countFields(v any) int { return reflect.TypeOf(v).NumField() }

// yamlText is `config show`'s text for m.
func yamlText(t *testing.T, m map[string]any) string {
	t.Helper()
	out, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
