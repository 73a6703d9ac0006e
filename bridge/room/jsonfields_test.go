package room

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fuzzNames are the member names the differential tests ask parseObject for:
// the real ones plus names that escapes, case and prefixes could be mistaken
// for.
var fuzzNames = []string{"colors", "seq", "ts", "a", "type", "data", "\"/\\", "sdpMLineIndex"}

// checkObjectAgainstMap holds parseObject to what the decoders did before it
// existed: json.Unmarshal into map[string]json.RawMessage. The same payloads
// are accepted with the same messages, every asked-for member has the same
// value (the last one when a name repeats, escapes undone, names matched
// exactly), and countColorEntries agrees with a []json.RawMessage.
func checkObjectAgainstMap(t *testing.T, payload []byte) {
	t.Helper()
	o, err := parseObject("ev", payload, 1<<20, fuzzNames)
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Reason != "must be a JSON object" {
			t.Fatalf("%q: error %v, want must be a JSON object", payload, err)
		}
		return
	}
	var ref map[string]json.RawMessage
	if refErr := json.Unmarshal(trimmed, &ref); refErr != nil {
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "" || fe.Reason != "is not valid JSON: "+refErr.Error() {
			t.Fatalf("%q: error %v, want is not valid JSON: %v", payload, err, refErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: %v; encoding/json accepts it", payload, err)
	}
	for _, name := range fuzzNames {
		want, wantOK := ref[name]
		got, gotOK := o.value(name)
		if gotOK != wantOK || !bytes.Equal(got, want) {
			t.Fatalf("%q: member %q = %q (%v), encoding/json says %q (%v)", payload, name, got, gotOK, want, wantOK)
		}
	}
	for _, v := range ref {
		checkScalarsAgainstUnmarshal(t, v)
	}
	if colors, ok := ref["colors"]; ok && colors[0] == '[' {
		var entries []json.RawMessage
		if err := json.Unmarshal(colors, &entries); err != nil {
			t.Fatalf("%q: %v", colors, err)
		}
		wantBad := -1
		for i, e := range entries {
			if e[0] != '"' && e[0] != '{' {
				wantBad = i
				break
			}
		}
		if n, bad := countColorEntries(colors); n != len(entries) || bad != wantBad {
			t.Fatalf("%q: %d entries, first bad %d; want %d, %d", colors, n, bad, len(entries), wantBad)
		}
	}
}

// checkScalarsAgainstUnmarshal holds str, number and boolean's decoding of a
// member value to json.Unmarshal's, which they used before.
func checkScalarsAgainstUnmarshal(t *testing.T, v []byte) {
	t.Helper()
	if isNull(v) {
		return // the callers report "is missing" before decoding
	}
	var wantS string
	wantSErr := json.Unmarshal(v, &wantS)
	if s, ok := jsonString(v); ok != (wantSErr == nil) || s != wantS {
		t.Fatalf("%q as a string: %q, %v; json.Unmarshal: %q, %v", v, s, ok, wantS, wantSErr)
	}
	var wantF float64
	wantFErr := json.Unmarshal(v, &wantF)
	if f, ok := jsonNumber(v); ok != (wantFErr == nil) || (ok && f != wantF) {
		t.Fatalf("%q as a number: %v, %v; json.Unmarshal: %v, %v", v, f, ok, wantF, wantFErr)
	}
	var wantB bool
	wantBErr := json.Unmarshal(v, &wantB)
	o := object{event: "ev", names: []string{"x"}}
	o.values[0] = v
	if b, err := o.boolean("x"); (err == nil) != (wantBErr == nil) || b != wantB {
		t.Fatalf("%q as a boolean: %v, %v; json.Unmarshal: %v, %v", v, b, err, wantB, wantBErr)
	}
}

var objectSeeds = []string{
	``, ` `, `null`, `[]`, `"x"`, `{`, `{}`, ` { } `, `{"colors":[]}`, "{\"colors\" :\t[ 1 , \"#fff\" , {} ] \n}",
	`{"colors":[],"colors":["#000000"]}`, `{"Colors":[]}`, `{"colo\u0072s":[1]}`, `{"colo\u0052s":[1]}`,
	`{"\"\/\\":1}`, `{"\u0022/\u005c":2}`, `{"a":{"a":[{"a":"}]"}]},"a":"\\\""}`, `{"seq":-1.5e+3,"ts":true}`,
	`{"seq":01}`, `{"a":1,}`, `{"a":1} x`, `{"a":"\x01"}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", "{\"\xff\":1}",
	`{"sdpMLineIndex":null,"type":false}`, `{"colors":[[],{},"",null,0]}`, `{"data":{"type":"offer"}}`,
	`{"colors":[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `,"#fff"]}`,
	`{"` + strings.Repeat(`\u0061`, 40) + `":1,"a":2}`,
	`{"a":"plain","seq":"esc\"aped\u00e9","ts":1e400,"type":-0.0e-0,"data":1e-400}`,
	"{\"a\":\"bad \xed\xa0\x80 utf8\",\"seq\":true,\"ts\":false,\"type\":[1],\"data\":{}}",
	`{"a":1.` + strings.Repeat("0", 400) + `1,"seq":` + strings.Repeat("9", 400) + `}`,
}

func TestParseObjectMatchesEncodingJSON(t *testing.T) {
	for _, s := range objectSeeds {
		checkObjectAgainstMap(t, []byte(s))
	}
}

// FuzzParseObject: go test -run '^$' -fuzz FuzzParseObject -fuzztime 60s ./bridge/room/
func FuzzParseObject(f *testing.F) {
	for _, s := range objectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkObjectAgainstMap)
}

// Member names are matched exactly, after escapes, as a map key would be.
func TestLEDUpdateMemberNames(t *testing.T) {
	u, err := DecodeLEDUpdate([]byte(`{"colo\u0072s":["#000001"],"seq":1,"seq":2,"Colors":5}`))
	if err != nil || u.NumColors != 1 || u.Seq != 2 {
		t.Fatalf("escaped name and repeated seq: %+v, %v", u, err)
	}
	if _, err := DecodeLEDUpdate([]byte(`{"Colors":[]}`)); err == nil || !strings.Contains(err.Error(), `"colors" is missing`) {
		t.Fatalf("Colors is not colors: %v", err)
	}
}

// object keeps at most maxFields members; a decoder asking for more would
// silently read the rest as absent.
func TestDecoderFieldListsFit(t *testing.T) {
	for _, names := range [][]string{signalFields, descriptionFields, candidateFields, tempoChangeFields,
		playbackControlFields, stateRequestFields, stateResponseFields, roomStateFields, ledUpdateFields, metaFields} {
		if len(names) > maxFields {
			t.Errorf("%q: %d names, object keeps %d", names, len(names), maxFields)
		}
	}
}
