package config

import (
	"reflect"
	"testing"

	"github.com/ledbridge/ledbridge/analysis"
)

// The analyser holds the analysis ranges (analysis.Config.Validate); config names the key of the
// value it refuses, wherever the refusal comes from. Before, config repeated the ranges and they
// had drifted: confirm_frames 31–60 and harmonics 17–32 passed config and were then refused as
// "analysis: invalid config: ConfirmFrames is 45" without the key, and a long_fft of 512 the same.
func TestAnalysisErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name, body, key string
		words           []string
	}{
		{"confirm frames over the analyser's", "analysis:\n  confirm_frames: 45\n", "analysis.confirm_frames", []string{"between 1 and 30, or 0 for the default (got 45)"}},
		{"harmonics over the analyser's", "analysis:\n  harmonics: 20\n", "analysis.harmonics", []string{"between 1 and 16, or 0 for the default (got 20)"}},
		{"negative polyphony", "analysis:\n  max_polyphony: -1\n", "analysis.max_polyphony", []string{"between 1 and 8, or 0 for the default (got -1)"}},
		{"long window under the analyser's", "analysis:\n  long_fft: 512\n", "analysis.long_fft", []string{"must be 0 (default) or a power of two from 1024 to 131072 (got 512)"}},
		{"mid window not a power of two", "analysis:\n  mid_fft: 3000\n", "analysis.mid_fft", []string{"power of two from 512 to 131072 (got 3000)"}},
		{"max under min", "analysis:\n  min_hz: 500\n  max_hz: 400\n", "analysis.max_hz", []string{"must be above analysis.min_hz"}},
		{"tuning out of range", "analysis:\n  tuning_hz: 300\n", "analysis.tuning_hz", []string{"between 400 and 480, or 0 for the default (got 300)"}},
		{"hold frames", "analysis:\n  hold_frames: 61\n", "analysis.hold_frames", []string{"between 0 and 60 (got 61)"}},
		{"infinite prominence", "analysis:\n  peak_prominence: .inf\n", "analysis.peak_prominence", []string{"between 1 and 100, or 0 for the default (got +Inf)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFile(t, tc.body)
			wantKeyError(t, err, tc.key, tc.words...)
		})
	}
}

// A zero analysis key is the analyser's default, the first three included (analysis.Config's
// rule, which the analyser applies whatever config says), and what the analyser accepts loads:
// config no longer holds its own, narrower, ranges.
func TestAnalysisZeroIsTheDefault(t *testing.T) {
	loaded, err := loadFile(t, "analysis:\n  tuning_hz: 0\n  min_hz: 0\n  max_hz: 0\n  confirm_frames: 0\n  max_polyphony: 0\n  harmonics: 0\n  short_fft: 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Analysis.Analyzer().Validate(); err != nil {
		t.Fatalf("the analyser refuses what config accepted: %v", err)
	}
	for _, body := range []string{
		"analysis:\n  long_fft: 65536\n", // the analyser takes up to 131072
		"analysis:\n  short_fft: 128\n",
		"analysis:\n  harmonics: 16\n  confirm_frames: 30\n  max_polyphony: 8\n",
	} {
		if _, err := loadFile(t, body); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

// Analysis mirrors analysis.Config field for field (same names, same types) and Analyzer copies
// every one: analysisKey finds a refused field's key by its name.
func TestAnalysisMirrorsTheAnalyserConfig(t *testing.T) {
	// Set by the program for the source at hand (the room's mix), not by the operator.
	notKeys := map[string]bool{"SpectrumOnly": true}
	mine, theirs := reflect.TypeOf(Analysis{}), reflect.TypeOf(analysis.Config{})
	if mine.NumField() != theirs.NumField()-len(notKeys) {
		t.Errorf("Analysis has %d fields, analysis.Config %d, %d of them no keys", mine.NumField(), theirs.NumField(), len(notKeys))
	}
	var a Analysis
	v := reflect.ValueOf(&a).Elem()
	for i := range theirs.NumField() {
		f := theirs.Field(i)
		if notKeys[f.Name] {
			continue
		}
		m, ok := mine.FieldByName(f.Name)
		if !ok || m.Type != f.Type {
			t.Errorf("analysis.Config.%s (%v) has no field of that name and type in Analysis", f.Name, f.Type)
			continue
		}
		if key := analysisKey(f.Name); key != "analysis."+m.Tag.Get("mapstructure") || key == "analysis." {
			t.Errorf("analysisKey(%s) = %q", f.Name, key)
		}
		switch fv := v.FieldByName(f.Name); fv.Kind() { // a value of its own, so that a swap shows
		case reflect.Float64:
			fv.SetFloat(float64(i) + 0.5)
		case reflect.Int:
			fv.SetInt(int64(i) + 1)
		case reflect.Bool:
			fv.SetBool(true)
		}
	}
	got := reflect.ValueOf(a.Analyzer())
	for i := range theirs.NumField() {
		name := theirs.Field(i).Name
		if want := v.FieldByName(name); want.IsValid() && !reflect.DeepEqual(got.Field(i).Interface(), want.Interface()) {
			t.Errorf("Analyzer().%s = %v, want %v", name, got.Field(i), want)
		}
	}
}

// The effects choices are the effect and color packages' own names, with the messages as before.
func TestEffectChoicesAreTheRenderersNames(t *testing.T) {
	for _, tc := range []struct{ body, key, want string }{
		{"effects:\n  effect: disco\n", "effects.effect", `must be one of notes, pulse, spectrum (got "disco")`},
		{"effects:\n  color_mode: rainbow\n", "effects.color_mode", `must be one of note, musician, spectrum (got "rainbow")`},
		{"effects:\n  idle: blink\n", "effects.idle", `must be one of breathing, solid, off (got "blink")`},
		{"effects:\n  resample: cubic\n", "effects.resample", `must be one of nearest, linear (got "cubic")`},
		{"effects:\n  idle_color: \"#abc\"\n", "effects.idle_color", `must be #rrggbb (got "#abc")`},
		{"effects:\n  idle_color: \"#abcdeg\"\n", "effects.idle_color", `must be #rrggbb (got "#abcdeg")`},
		{"effects:\n  idle_color: \"abcdef\"\n", "effects.idle_color", `must be #rrggbb (got "abcdef")`},
	} {
		_, err := loadFile(t, tc.body)
		wantKeyError(t, err, tc.key, tc.want)
	}
	for _, body := range []string{
		"effects:\n  effect: spectrum\n  color_mode: musician\n  idle: solid\n  resample: linear\n  idle_color: \"#A0b1C2\"\n",
		"effects:\n  effect: pulse\n  color_mode: spectrum\n  idle: \"off\"\n  resample: nearest\n",
	} {
		if _, err := loadFile(t, body); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}
