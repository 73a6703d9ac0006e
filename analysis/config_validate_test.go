package analysis

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// Validate names the field it refuses and the rule, so that a caller (bridge/config) can name its
// own key for the field without repeating the ranges.
func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want FieldError
		msg  string
	}{
		{"range", Config{ConfirmFrames: 45}, FieldError{Field: "ConfirmFrames", Value: 45, Min: 1, Max: 30},
			"analysis: invalid config: ConfirmFrames is 45, want 1 to 30"},
		{"below range", Config{MaxPolyphony: -1}, FieldError{Field: "MaxPolyphony", Value: -1, Min: 1, Max: MaxNotes},
			"analysis: invalid config: MaxPolyphony is -1, want 1 to 8"},
		{"harmonics", Config{Harmonics: 20}, FieldError{Field: "Harmonics", Value: 20, Min: 1, Max: maxHarmonics}, ""},
		{"above", Config{MinHz: 500, MaxHz: 400}, FieldError{Field: "MaxHz", Value: 400, Min: 500, Max: math.Inf(1), Above: "MinHz"},
			"analysis: invalid config: MaxHz (400) must be above MinHz (500)"},
		{"max above default min", Config{MinHz: 900, MaxHz: 300}, FieldError{Field: "MaxHz", Value: 300, Min: 900, Max: math.Inf(1), Above: "MinHz"}, ""},
		{"power of two", Config{MidFFT: 3000}, FieldError{Field: "MidFFT", Value: 3000, Min: 64 * midDecim, Max: 1 << 17, PowerOfTwo: true},
			"analysis: invalid config: MidFFT is 3000, want a power of two from 512 to 131072"},
		{"too short", Config{LongFFT: 512}, FieldError{Field: "LongFFT", Value: 512, Min: 64 * longDecim, Max: 1 << 17, PowerOfTwo: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate(%+v) = %v, want a *FieldError", tc.c, err)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
			if *fe != tc.want {
				t.Errorf("FieldError = %+v, want %+v", *fe, tc.want)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
		})
	}
	err := Config{OnsetSensitivity: math.NaN()}.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "OnsetSensitivity" || !math.IsNaN(fe.Value) {
		t.Errorf("NaN onset sensitivity: %v", err)
	}
}

// Every field a FieldError can name is a Config field, and every numeric field is checked: a
// caller maps FieldError.Field through Config's field names.
func TestValidateChecksEveryNumericField(t *testing.T) {
	typ := reflect.TypeOf(Config{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type.Kind() == reflect.Bool {
			continue
		}
		c := Config{}
		v := reflect.ValueOf(&c).Elem().Field(i)
		switch f.Type.Kind() {
		case reflect.Int:
			// Above every int field's maximum, and still that value where int is 32 bits (1<<40,
			// as this was, is 0 there: the default, which Validate rightly accepts).
			v.SetInt(math.MaxInt32)
		case reflect.Float64:
			v.SetFloat(math.NaN())
		default:
			t.Fatalf("field %s has kind %v: teach this test about it", f.Name, f.Type.Kind())
		}
		var fe *FieldError
		if err := c.Validate(); !errors.As(err, &fe) || fe.Field != f.Name {
			t.Errorf("%s out of range: Validate = %v, want a *FieldError naming it", f.Name, err)
		}
	}
}
