package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis"
)

// TestAnalyzeSetWholeNumberOutOfRange: a --set whole number beyond what an int holds on 32-bit
// ARM, or beyond int64, is refused as out of the field's range, the same line on every
// architecture (on 32-bit ARM it used to read "is not an integer"), and leaves the configuration
// as it was.
func TestAnalyzeSetWholeNumberOutOfRange(t *testing.T) {
	for _, tc := range []struct{ kv, want string }{
		{"HoldFrames=4294967297", "--set HoldFrames: 4294967297 is out of range (want 0 to 60)"},
		{"HoldFrames=-4294967297", "--set HoldFrames: -4294967297 is out of range (want 0 to 60)"},
		{"HoldFrames=99999999999999999999", "--set HoldFrames: 99999999999999999999 is out of range (want 0 to 60)"},
		{"LongFFT=4294967296", "--set LongFFT: 4294967296 is out of range (want a power of two from 1024 to 131072)"},
	} {
		cfg := analysis.DefaultConfig()
		before := cfg
		err := setConfigField(&cfg, tc.kv)
		if err == nil || err.Error() != tc.want {
			t.Errorf("--set %s: %v, want %q", tc.kv, err, tc.want)
		}
		if cfg != before {
			t.Errorf("--set %s changed the configuration though refused", tc.kv)
		}
	}
	typ := reflect.TypeOf(analysis.Config{})
	for i := range typ.NumField() {
		if typ.Field(i).Type.Kind() != reflect.Int {
			continue
		}
		name := typ.Field(i).Name
		for _, val := range []string{"2147483648", "-2147483649"} {
			cfg := analysis.DefaultConfig()
			if err := setConfigField(&cfg, name+"="+val); err == nil || !strings.Contains(err.Error(), "is out of range (want ") ||
				strings.Contains(err.Error(), "2147483647") {
				t.Errorf("--set %s=%s: %v, want the field's own range", name, val, err)
			}
		}
	}
}
