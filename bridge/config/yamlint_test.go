package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// yamlFor writes the dotted key's value as nested YAML mappings.
func yamlFor(key, value string) string {
	var b strings.Builder
	parts := strings.Split(key, ".")
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i == len(parts)-1 {
			b.WriteString(" " + value)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// A whole number in the file beyond int32 gets the same range line on every GOARCH: the YAML
// decoder gives int on 64-bit, int64 on 32-bit ARM (where it was refused as "want a whole number,
// got int64"), uint64 beyond int64 and float64 beyond uint64 everywhere.
func TestYAMLIntBeyondInt32GetsTheRangeLine(t *testing.T) {
	var intKeys []string
	for key := range flatten(Default()) {
		if t := keyType(key); t != nil && t.Kind() == reflect.Int {
			intKeys = append(intKeys, key)
		}
	}
	if len(intKeys) < 20 {
		t.Fatalf("found only %d whole-number keys: %v", len(intKeys), intKeys)
	}
	type tc struct{ body, key, value, want string }
	var cases []tc
	for _, value := range []string{"4294967297", "0x100000001", "2147483648", "9223372036854775807", "9223372036854775808", "18446744073709551615", "99999999999999999999"} {
		for _, key := range intKeys {
			cases = append(cases, tc{yamlFor(key, value), key, value, "is beyond the largest whole number a setting takes (2147483647)"})
		}
		cases = append(cases, tc{"strips:\n  - device: bar\n    max_milliamps: " + value + "\n", "strips[0].max_milliamps", value, "is beyond the largest whole number a setting takes (2147483647)"})
	}
	for _, value := range []string{"-4294967297", "-2147483649", "-9223372036854775808", "-99999999999999999999"} {
		cases = append(cases, tc{yamlFor("output.fps", value), "output.fps", value, "is beyond the smallest whole number a setting takes (-2147483648)"})
	}
	for _, c := range cases {
		_, err := loadFile(t, c.body)
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != c.key || !strings.Contains(ce.Problem, c.want) || strings.Contains(ce.Problem, "int64") || strings.Contains(ce.Problem, "uint64") {
			t.Errorf("%s: %s: Load = %v, want %s's range line %q", c.key, c.value, err, c.key, c.want)
		}
	}
	// The largest whole number a setting takes is no range problem of this kind.
	_, err := loadFile(t, yamlFor("output.fps", "2147483647"))
	wantKeyError(t, err, "output.fps", "must be", "2147483647")
}

// A number key takes a whole number beyond int32 as a number, on 32-bit ARM too (where the YAML
// decoder gives int64, and uint64 beyond int64 everywhere): its range check judges it.
func TestYAMLFloatKeyTakesABigWholeNumber(t *testing.T) {
	var floatKeys []string
	for key := range flatten(Default()) {
		if t := keyType(key); t != nil && (t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32) {
			floatKeys = append(floatKeys, key)
		}
	}
	if len(floatKeys) < 5 {
		t.Fatalf("found only %d number keys: %v", len(floatKeys), floatKeys)
	}
	for _, key := range floatKeys {
		for _, value := range []string{"4294967297", "18446744073709551615"} {
			_, err := loadFile(t, yamlFor(key, value))
			if err != nil && (strings.Contains(err.Error(), "want a number") || strings.Contains(err.Error(), "int64")) {
				t.Errorf("%s: %s: Load = %v, want it taken as a number", key, value, err)
			}
		}
	}
}
