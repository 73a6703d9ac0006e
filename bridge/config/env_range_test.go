package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Every whole-number key refuses an environment value beyond int32 with its own range line
// (the same line on every architecture), and one given in hex the same way. On 32-bit ARM,
// where int is 32 bits, such a value used to end in viper's bare strconv "value out of range"
// instead.
func TestEnvIntBeyondInt32GetsTheRangeLine(t *testing.T) {
	var intKeys []string
	for key := range flatten(Default()) {
		if t := keyType(key); t != nil && t.Kind() == reflect.Int {
			intKeys = append(intKeys, key)
		}
	}
	if len(intKeys) < 20 {
		t.Fatalf("found only %d whole-number keys: %v", len(intKeys), intKeys)
	}
	for _, key := range intKeys {
		for _, tc := range []struct {
			text string
			n    float64
		}{
			{"4294967297", 4294967297},
			{"0x100000001", 4294967297},
			{"-4294967297", -4294967297},
		} {
			env := map[string]string{EnvName(key): tc.text}
			_, err := Load(Options{
				LookupEnv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				Getenv:     func(string) string { return "" },
				SystemFile: filepath.Join(t.TempDir(), "absent.yaml"),
			})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("%s=%s: Load = %v, want a *config.Error", EnvName(key), tc.text, err)
				continue
			}
			gotInt, gotFloat := fmt.Sprintf("(got %d)", int64(tc.n)), fmt.Sprintf("(got %g)", tc.n)
			if ce.Key != key || !strings.Contains(ce.Problem, "must be") ||
				!(strings.Contains(ce.Problem, gotInt) || strings.Contains(ce.Problem, gotFloat)) ||
				!strings.Contains(ce.Problem, EnvName(key)) {
				t.Errorf("%s=%s: %v, want %s's range line with %s and the variable", EnvName(key), tc.text, err, key, gotInt)
			}
		}
	}
}

// A value beyond int32 for a key with a small range reads exactly as a merely too large one does
// with the true value, e.g. output.fps (1 to 60).
func TestEnvFPSBeyondInt32(t *testing.T) {
	env := map[string]string{"LEDBRIDGE_OUTPUT_FPS": "4294967297"}
	_, err := Load(Options{
		LookupEnv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Getenv:     func(string) string { return "" },
		SystemFile: filepath.Join(t.TempDir(), "absent.yaml"),
	})
	want := "config: output.fps: from LEDBRIDGE_OUTPUT_FPS: must be between 1 and 60 (got 4294967297)"
	if err == nil || err.Error() != want {
		t.Fatalf("Load = %v, want %q", err, want)
	}
}
