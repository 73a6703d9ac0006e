package room

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/jsonkeys"
)

// How members are found (exact keys, escapes, repeats, unknown keys stepped
// over) is bridge/jsonkeys' job, tested there against an exact reading and
// fuzzed. These tests hold what room adds on top to what its decoders did
// with encoding/json: the error messages, the scalar readings and the colour
// entry count.

// parseObject's refusals name the fault as encoding/json would.
func TestParseObjectErrors(t *testing.T) {
	for _, payload := range []string{`{`, `{"a":1,}`, `{"a":1} x`, `{"a":"\x01"}`, `{"a":01}`} {
		var ref map[string]json.RawMessage
		refErr := json.Unmarshal([]byte(payload), &ref)
		_, err := parseObject("ev", []byte(payload), 1<<20, signalFields)
		var fe *FieldError
		if refErr == nil || !errors.As(err, &fe) || fe.Field != "" || fe.Reason != "is not valid JSON: "+refErr.Error() {
			t.Errorf("%q: error %v, want is not valid JSON: %v", payload, err, refErr)
		}
	}
	for _, payload := range []string{``, ` `, `null`, `[]`, `"x"`, "\v{}"} {
		_, err := parseObject("ev", []byte(payload), 1<<20, signalFields)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Reason != "must be a JSON object" {
			t.Errorf("%q: error %v, want must be a JSON object", payload, err)
		}
	}
	if _, err := parseObject("ev", []byte(`{"a":1}`), 6, signalFields); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("7 bytes over a 6-byte bound: %v, want ErrPayloadTooLarge", err)
	}
}

// scalarValues are member values, well-formed JSON, the scalar readers meet.
var scalarValues = []string{
	`null`, `true`, `false`, `0`, `-0.0e-0`, `1e400`, `1e-400`, `-1.5e+3`, `"plain"`, `"esc\"aped\u00e9"`, `"\ud800"`,
	"\"bad \xed\xa0\x80 utf8\"", `[1]`, `{}`, `""`, `"1"`, `1.` + strings.Repeat("0", 400) + `1`, strings.Repeat("9", 400),
}

// str, number and boolean decode a member value as json.Unmarshal did before
// they existed.
func TestScalarsMatchEncodingJSON(t *testing.T) {
	for _, v := range scalarValues {
		o, err := parseObject("ev", []byte(`{"x":`+v+`}`), 1<<20, []string{"x"})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		var wantS string
		wantSErr := json.Unmarshal([]byte(v), &wantS)
		if v == "null" {
			wantSErr = errors.New("is missing") // the readers report null as missing
		}
		if s, err := o.str("x", true, 0); (err == nil) != (wantSErr == nil) || s != wantS {
			t.Errorf("%s as a string: %q, %v; json.Unmarshal: %q, %v", v, s, err, wantS, wantSErr)
		}
		var wantF float64
		wantFErr := json.Unmarshal([]byte(v), &wantF)
		if v == "null" {
			wantFErr = errors.New("is missing")
		}
		if f, err := o.number("x"); (err == nil) != (wantFErr == nil) || (err == nil && f != wantF) {
			t.Errorf("%s as a number: %v, %v; json.Unmarshal: %v, %v", v, f, err, wantF, wantFErr)
		}
		var wantB bool
		wantBErr := json.Unmarshal([]byte(v), &wantB)
		if v == "null" {
			wantBErr = errors.New("is missing")
		}
		if b, err := o.boolean("x"); (err == nil) != (wantBErr == nil) || b != wantB {
			t.Errorf("%s as a boolean: %v, %v; json.Unmarshal: %v, %v", v, b, err, wantB, wantBErr)
		}
	}
}

// countColorEntries agrees with a []json.RawMessage on the entries and the
// first that is neither a string nor an object.
func TestCountColorEntries(t *testing.T) {
	for _, arr := range []string{`[]`, `[ ]`, "[ 1 , \"#fff\" , {} ] ", `["#000000"]`, `[[],{},"",null,0]`, `[{},{"a":"]"},"]",[1]]`,
		`[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `,"#fff"]`} {
		var entries []json.RawMessage
		if err := json.Unmarshal([]byte(arr), &entries); err != nil {
			t.Fatalf("%q: %v", arr, err)
		}
		wantBad := -1
		for i, e := range entries {
			if e[0] != '"' && e[0] != '{' {
				wantBad = i
				break
			}
		}
		if n, bad := countColorEntries([]byte(arr)); n != len(entries) || bad != wantBad {
			t.Errorf("%q: %d entries, first bad %d; want %d, %d", arr, n, bad, len(entries), wantBad)
		}
	}
}

// Member names are matched exactly, after escapes, as JSON.parse matches them.
func TestLEDUpdateMemberNames(t *testing.T) {
	u, err := DecodeLEDUpdate([]byte(`{"colo\u0072s":["#000001"],"seq":1,"seq":2,"Colors":5}`))
	if err != nil || u.NumColors != 1 || u.Seq != 2 {
		t.Fatalf("escaped name and repeated seq: %+v, %v", u, err)
	}
	if _, err := DecodeLEDUpdate([]byte(`{"Colors":[]}`)); err == nil || !strings.Contains(err.Error(), `"colors" is missing`) {
		t.Fatalf("Colors is not colors: %v", err)
	}
}

// A jsonkeys.Object keeps at most jsonkeys.MaxNames members; a decoder asking
// for more would fail every payload.
func TestDecoderFieldListsFit(t *testing.T) {
	for _, names := range [][]string{signalFields, descriptionFields, candidateFields, tempoChangeFields,
		playbackControlFields, stateRequestFields, stateResponseFields, roomStateFields, ledUpdateFields, metaFields} {
		if len(names) > jsonkeys.MaxNames {
			t.Errorf("%q: %d names, an Object keeps %d", names, len(names), jsonkeys.MaxNames)
		}
	}
}
