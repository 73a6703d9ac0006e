package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis"
)

// TestAnalyzeSetRefusesAZeroThatMeansTheDefault: every numeric analysis.Config field's zero
// means its default, so --set Field=0 (or -0) would silently run with the default
// (HoldFrames=0 meant 4, RelThreshold=0 meant 0.25); it is refused, naming the field and the
// default, and the configuration is left as it was. A bool's false is false, and is taken.
func TestAnalyzeSetRefusesAZeroThatMeansTheDefault(t *testing.T) {
	defaults := reflect.ValueOf(analysis.DefaultConfig())
	typ := defaults.Type()
	numeric := 0
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		switch typ.Field(i).Type.Kind() {
		case reflect.Bool:
			cfg := analysis.Config{}
			reflect.ValueOf(&cfg).Elem().Field(i).SetBool(true)
			if err := setConfigField(&cfg, name+"=false"); err != nil || reflect.ValueOf(cfg).Field(i).Bool() {
				t.Errorf("--set %s=false: %v", name, err)
			}
			continue
		case reflect.Int, reflect.Float64:
		default:
			continue
		}
		numeric++
		def := fmt.Sprint(defaults.Field(i).Interface())
		for _, zero := range []string{"0", "-0", "0.0"} {
			if typ.Field(i).Type.Kind() == reflect.Int && zero != "0" {
				continue
			}
			cfg := analysis.DefaultConfig()
			before := cfg
			err := setConfigField(&cfg, name+"="+zero)
			if err == nil {
				t.Errorf("--set %s=%s accepted: it runs with the default %s", name, zero, def)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, name) || !strings.Contains(msg, "default ("+def+")") {
				t.Errorf("--set %s=%s: %q does not name the field and its default %s", name, zero, msg, def)
			}
			if cfg != before {
				t.Errorf("--set %s=%s changed the configuration though refused", name, zero)
			}
		}
	}
	if numeric < 10 {
		t.Fatalf("only %d numeric fields in analysis.Config: the test no longer sees them", numeric)
	}
	cfg := analysis.Config{}
	for _, kv := range []string{"HoldFrames=1", "RelThreshold=0.05", "MinNoteDB=-1"} {
		if err := setConfigField(&cfg, kv); err != nil {
			t.Errorf("--set %s: %v", kv, err)
		}
	}
	if cfg.HoldFrames != 1 || cfg.RelThreshold != 0.05 || cfg.MinNoteDB != -1 {
		t.Fatalf("values beside zero not set: %+v", cfg)
	}
}
