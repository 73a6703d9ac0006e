package jsonkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fuzzNames are the member names the differential tests ask Parse for: names
// that differ only in case (which encoding/json's struct decoding would fold
// together), names that escapes could spell, and names outside ASCII (one of
// them outside the BMP, which a key can spell as a surrogate pair).
var fuzzNames = []string{"event", "Event", "payload", "fromPeerId", "a", "\"/\\", "é", "😀"}

// checkAgainstExactReading holds Parse to an exact, JSON.parse-like reading of
// the same bytes: json.Unmarshal into map[string]json.RawMessage, which
// matches keys exactly once their escapes are undone and keeps the last of a
// repeated key, as JSON.parse does. The same inputs are accepted, every
// asked-for member has the same value, and so do String, StringIs, Elements
// and Sub on the values.
func checkAgainstExactReading(t *testing.T, payload []byte) {
	t.Helper()
	o, err := Parse(payload, fuzzNames)
	if start := skipSpace(payload, 0); start == len(payload) || payload[start] != '{' {
		if !errors.Is(err, ErrNotObject) {
			t.Fatalf("%q: error %v, want ErrNotObject", payload, err)
		}
		return
	}
	var exact map[string]json.RawMessage
	if refErr := json.Unmarshal(payload, &exact); refErr != nil {
		var syntax *json.SyntaxError
		if !errors.Is(err, ErrSyntax) || !errors.As(err, &syntax) || syntax.Error() != refErr.Error() {
			t.Fatalf("%q: error %v, want ErrSyntax with %v", payload, err, refErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: %v; encoding/json reads it as an object", payload, err)
	}
	checkObject(t, payload, &o, exact, 0)
}

// checkObject compares o, read with fuzzNames, with exact, the map reading of
// the same object, member by member, and descends into object members.
func checkObject(t *testing.T, payload []byte, o *Object, exact map[string]json.RawMessage, depth int) {
	t.Helper()
	for _, name := range fuzzNames {
		want, wantOK := exact[name]
		got, gotOK := o.Value(name)
		if gotOK != wantOK || !bytes.Equal(got, want) {
			t.Fatalf("%q: member %q = %q (%v), the exact reading says %q (%v)", payload, name, got, gotOK, want, wantOK)
		}
		if !gotOK {
			if _, err := o.Sub(name, fuzzNames); !errors.Is(err, ErrNotObject) {
				t.Fatalf("%q: Sub(%q) of an absent member: %v, want ErrNotObject", payload, name, err)
			}
			continue
		}
		checkScalar(t, got)
		sub, err := o.Sub(name, fuzzNames)
		if got[0] != '{' {
			if !errors.Is(err, ErrNotObject) {
				t.Fatalf("%q: Sub(%q) of %q: %v, want ErrNotObject", payload, name, got, err)
			}
			continue
		}
		var inner map[string]json.RawMessage
		if err != nil || json.Unmarshal(got, &inner) != nil {
			t.Fatalf("%q: Sub(%q): %v", payload, name, err)
		}
		if depth < 4 {
			checkObject(t, payload, &sub, inner, depth+1)
		}
	}
}

// checkScalar holds String, StringIs and Elements on one member value to
// json.Unmarshal's reading of it.
func checkScalar(t *testing.T, v []byte) {
	t.Helper()
	var want string
	wantErr := json.Unmarshal(v, &want)
	if v[0] != '"' {
		wantErr = errors.New("not a string") // json.Unmarshal reads null into a string too
	}
	if s, ok := String(v); ok != (wantErr == nil) || s != want {
		t.Fatalf("%q as a string: %q, %v; json.Unmarshal: %q, %v", v, s, ok, want, wantErr)
	}
	if wantErr == nil && (!StringIs(v, want) || StringIs(v, want+"x")) {
		t.Fatalf("%q: StringIs disagrees with String (%q)", v, want)
	}
	var entries []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &entries) != nil {
		entries = nil
	}
	var got []json.RawMessage
	for e := range Elements(v) {
		got = append(got, e)
	}
	if len(got) != len(entries) {
		t.Fatalf("%q: %d elements, json.Unmarshal finds %d", v, len(got), len(entries))
	}
	for i := range got {
		if !bytes.Equal(got[i], entries[i]) {
			t.Fatalf("%q: element %d is %q, json.Unmarshal says %q", v, i, got[i], entries[i])
		}
	}
}

// checkNoPanicOnGarbage runs the walker on bytes Parse did not check: Elements
// is exported for any array, and collect must not read past what it is given.
func checkNoPanicOnGarbage(payload []byte) {
	for range Elements(payload) {
	}
	if len(payload) > 0 && payload[0] == '{' {
		collect(payload, fuzzNames)
	}
	String(payload)
	StringIs(payload, "a")
}

var objectSeeds = []string{
	``, ` `, `null`, `[]`, `"x"`, `{`, `{}`, ` { } `, "\v{}", "\u00a0{}", `{"a":[]}`, "{\"a\" :\t[ 1 , \"#fff\" , {} ] \n}",
	`{"a":[],"a":["#000000"]}`, `{"A":[]}`, `{"\u0061":[1]}`, `{"\u0041":[1]}`, `{"Event":"x","event":"y","EVENT":"z"}`,
	`{"event":"led-update","Event":"webrtc-signal"}`, `{"fromPeerId":"me","FromPeerId":"victim","fromPeerID":"v2"}`,
	`{"fromPeerId":"me","fromPeerId":"victim"}`, `{"from\u0050eerId":"x"}`, `{"from\u0070eerId":"x"}`,
	`{"\"\/\\":1}`, `{"\u0022/\u005c":2}`, `{"\u00e9":1,"é":2}`, `{"\u00E9":3}`, `{"\ud83d\ude00":1}`, `{"😀":2,"\ud83d":3}`,
	`{"\ude00\ud83d":1}`, `{"\ud83d\u0041":1}`, `{"\ud83d":1}`, `{"e\u0301":1}`,
	`{"a":{"a":[{"a":"}]"}]},"a":"\\\""}`, `{"payload":{"event":"x","payload":{"a":1}},"event":"y"}`,
	`{"a":01}`, `{"a":1,}`, `{"a":1} x`, `{"a":"\x01"}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", "{\"\xff\":1}",
	`{"a":null,"event":false}`, `{"a":[[],{},"",null,0]}`, `{"payload":{"event":"offer"}}`,
	`{"a":[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `,"#fff"]}`,
	`{"` + strings.Repeat(`\u0061`, 40) + `":1,"a":2}`, `{"` + strings.Repeat(`a`, 40) + `":1}`,
	`{"a":"plain","event":"esc\"aped\u00e9","payload":1e400,"Event":-0.0e-0,"é":1e-400}`,
	"{\"a\":\"bad \xed\xa0\x80 utf8\",\"event\":true,\"payload\":false,\"Event\":[1],\"é\":{}}",
	`{"a":"tab` + "\t" + `","event":"nul\u0000"}`,
}

func TestParseMatchesExactReading(t *testing.T) {
	for _, s := range objectSeeds {
		checkAgainstExactReading(t, []byte(s))
		checkNoPanicOnGarbage([]byte(s))
	}
}

// FuzzParse: go test -run '^$' -fuzz FuzzParse -fuzztime 30s ./bridge/jsonkeys/
func FuzzParse(f *testing.F) {
	for _, s := range objectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkAgainstExactReading(t, payload)
		checkNoPanicOnGarbage(payload)
	})
}

// The reading the package exists for: a key differing from a name only in case
// is another member, not the name's.
func TestKeysAreNotCaseFolded(t *testing.T) {
	o, err := Parse([]byte(`{"event":"led-update","Event":"webrtc-signal","payload":{"fromPeerId":"me","FromPeerId":"victim"}}`),
		[]string{"event", "payload"})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := o.Value("event"); string(v) != `"led-update"` {
		t.Errorf("event = %s, want \"led-update\"", v)
	}
	p, err := o.Sub("payload", []string{"fromPeerId"})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Value("fromPeerId"); !StringIs(v, "me") {
		t.Errorf("fromPeerId = %s, want \"me\"", v)
	}
	// A struct decode with encoding/json reads the same bytes otherwise: the
	// last of the case variants wins.
	var folded struct {
		Event   string `json:"event"`
		Payload struct {
			From string `json:"fromPeerId"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(`{"event":"led-update","Event":"webrtc-signal","payload":{"fromPeerId":"me","FromPeerId":"victim"}}`), &folded); err != nil ||
		folded.Event != "webrtc-signal" || folded.Payload.From != "victim" {
		t.Fatalf("encoding/json's struct reading changed: %+v, %v", folded, err)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse([]byte(`{}`), make([]string, MaxNames+1)); !errors.Is(err, ErrTooManyNames) {
		t.Errorf("%d names: %v, want ErrTooManyNames", MaxNames+1, err)
	}
	for _, in := range []string{``, `[{}]`, `"{}"`, "\v{}", `x{`} {
		if _, err := Parse([]byte(in), nil); !errors.Is(err, ErrNotObject) {
			t.Errorf("%q: %v, want ErrNotObject", in, err)
		}
	}
	_, err := Parse([]byte(`{"a":1,}`), nil)
	var syntax *json.SyntaxError
	if !errors.Is(err, ErrSyntax) || !errors.As(err, &syntax) || syntax.Offset != 8 {
		t.Errorf(`{"a":1,}: %v, want ErrSyntax at offset 8`, err)
	}
	o, err := Parse([]byte(`{"a":"x"}`), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Sub("a", make([]string, MaxNames+1)); !errors.Is(err, ErrTooManyNames) {
		t.Errorf("Sub with %d names: %v, want ErrTooManyNames", MaxNames+1, err)
	}
}

// unknownKeysObject is ~256 KiB of distinct unknown keys around the members
// asked for, the shape of a hostile broadcast.
func unknownKeysObject(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"event":"led-update",`)
	for i := 0; b.Len() < size-40; i++ {
		fmt.Fprintf(&b, `"%x":0,`, i)
	}
	b.WriteString(`"payload":{"colors":[1,"#fff",{}]}}`)
	return []byte(b.String())
}

// TestReadingAllocatesNothing: reading members, however many unknown keys sit
// among them, and walking an array allocate nothing; so does comparing a plain
// string.
// The name lists are package variables, as in every caller: a literal list
// escapes to the heap once a value read with it does (escape analysis follows
// the Object, not its fields).
var envelopeNames, colorsNames = []string{"event", "payload"}, []string{"colors"}

func TestReadingAllocatesNothing(t *testing.T) {
	raw := unknownKeysObject(256 << 10)
	var colors int
	allocs := testing.AllocsPerRun(5, func() {
		o, err := Parse(raw, envelopeNames)
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := o.Value("event")
		if !StringIs(ev, "led-update") {
			t.Fatalf("event = %s", ev)
		}
		p, err := o.Sub("payload", colorsNames)
		if err != nil {
			t.Fatal(err)
		}
		arr, _ := p.Value("colors")
		colors = 0
		for range Elements(arr) {
			colors++
		}
	})
	maxAllocs := 0.0
	if raceEnabled {
		maxAllocs = 4 // json.Valid's scanner, which the race detector's sync.Pool drops now and then
	}
	if allocs > maxAllocs || colors != 3 {
		t.Errorf("%d bytes: %.0f allocations, %d colours; want at most %.0f and 3", len(raw), allocs, colors, maxAllocs)
	}
}

// A plain string costs one allocation, its copy; escapes cost json.Unmarshal's.
func TestStringAllocations(t *testing.T) {
	v := []byte(`"webrtc-signal"`)
	if allocs := testing.AllocsPerRun(10, func() {
		if s, ok := String(v); !ok || s != "webrtc-signal" {
			t.Fatalf("%q, %v", s, ok)
		}
	}); allocs != 1 {
		t.Errorf("String of a plain string: %.0f allocations, want 1", allocs)
	}
	if allocs := testing.AllocsPerRun(10, func() {
		if !StringIs(v, "webrtc-signal") {
			t.Fatal("StringIs: false")
		}
	}); allocs != 0 {
		t.Errorf("StringIs of a plain string: %.0f allocations, want 0", allocs)
	}
}

// BenchmarkParseUnknownKeys: go test -run '^$' -bench ParseUnknownKeys -benchmem ./bridge/jsonkeys/
func BenchmarkParseUnknownKeys(b *testing.B) {
	raw := unknownKeysObject(256 << 10)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw, envelopeNames); err != nil {
			b.Fatal(err)
		}
	}
}
