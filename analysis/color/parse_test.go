package color

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseColorsValid(t *testing.T) {
	raw := json.RawMessage(` [ "#ff8000", {"r":1,"g":2,"b":3}, "#ABCDEF",
		{"b":0,"extra":{"nested":[1,2.5e3,"x\"y",null,true]},"g":255,"r":0} ] `)
	got, err := ParseColors(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []RGB{{255, 128, 0}, {1, 2, 3}, {0xab, 0xcd, 0xef}, {0, 255, 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, err := ParseColors(json.RawMessage(`[]`), nil); err != nil || len(got) != 0 {
		t.Fatalf("empty array: %v %v", got, err)
	}
}

func TestParseColorsRejects(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"#010203"`)
		}
		b.WriteByte(']')
		return b.String()
	}
	if got, err := ParseColors(json.RawMessage(many(MaxColors)), nil); err != nil || len(got) != MaxColors {
		t.Fatalf("4096 entries: %d, %v", len(got), err)
	}
	cases := []struct {
		raw  string
		want error
	}{
		{many(MaxColors + 1), ErrTooManyColors},
		{`["#12345g"]`, ErrBadColor},
		{`["#12345"]`, ErrBadColor},
		{`["123456"]`, ErrBadColor},
		{`["#1234567"]`, ErrBadColor},
		{`["\u0023123456"]`, ErrBadColor},
		{`[{"r":256,"g":0,"b":0}]`, ErrBadColor},
		{`[{"r":-1,"g":0,"b":0}]`, ErrBadColor},
		{`[{"r":1.5,"g":0,"b":0}]`, ErrBadColor},
		{`[{"r":1e2,"g":0,"b":0}]`, ErrBadColor},
		{`[{"r":"1","g":0,"b":0}]`, ErrBadColor},
		{`[{"r":99999999999999999999999,"g":0,"b":0}]`, ErrBadColor},
		{`[{"r":1,"g":2}]`, ErrBadColor},
		{`[{}]`, ErrBadColor},
		{`[5]`, ErrBadColor},
		{`[null]`, ErrBadColor},
		{`{"r":1}`, ErrColorsNotArray},
		{`null`, ErrColorsNotArray},
		{``, ErrColorsNotArray},
		{`["#000000"`, ErrBadJSON},
		{`["#000000",]`, ErrBadColor},
		{`["#000000"] x`, ErrBadJSON},
		{`[{"r":01,"g":0,"b":0}]`, ErrBadJSON},
		{`[{"r":1 "g":0,"b":0}]`, ErrBadJSON},
		{`[{"r":1,"g":0,"b":0,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]`, ErrBadJSON},
		{`[{"r":1,"g":0,"b":0,"x":1-2}]`, ErrBadJSON},
		{`[{"r":1,"g":0,"b":0,"x":"\q"}]`, ErrBadJSON},
	}
	for _, c := range cases {
		got, err := ParseColors(json.RawMessage(c.raw), make([]RGB, 0, 4))
		if !errors.Is(err, c.want) {
			short := c.raw
			if len(short) > 60 {
				short = short[:60] + "…"
			}
			t.Errorf("%s: err %v, want %v", short, err, c.want)
		}
		if len(got) != 0 {
			t.Errorf("%.40s: returned %d colours with an error", c.raw, len(got))
		}
	}
}

func TestParseColorsNoAllocation(t *testing.T) {
	raw := json.RawMessage(`["#ff0000",{"r":0,"g":255,"b":0},"#0000ff"]`)
	dst := make([]RGB, 0, MaxColors)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if dst, err = ParseColors(raw, dst); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseColors allocates %v times per call", allocs)
	}
}

// FuzzParseColors checks that no input panics, that accepted input is valid
// JSON with the same colours encoding/json sees, and that output stays bounded.
func FuzzParseColors(f *testing.F) {
	for _, s := range []string{
		`["#ff8000",{"r":1,"g":2,"b":3}]`, `[]`, `["#ABCDEF"]`, `[{"b":0,"g":1,"r":2,"x":[{}]}]`,
		`[{"r":256}]`, `["#12"]`, `null`, `[`, `["\u0041"]`, `[{"r":1,"g":2,"b":3,"z":-0.5e+7}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := ParseColors(raw, nil)
		if len(got) > MaxColors {
			t.Fatalf("%d colours", len(got))
		}
		if err != nil {
			if len(got) != 0 {
				t.Fatal("colours returned with an error")
			}
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("accepted invalid JSON %q", raw)
		}
		var ref []json.RawMessage
		if err := json.Unmarshal(raw, &ref); err != nil || len(ref) != len(got) {
			t.Fatalf("encoding/json sees %d entries (%v), parser %d", len(ref), err, len(got))
		}
		for i, e := range ref {
			var s string
			var obj map[string]json.RawMessage
			switch {
			case json.Unmarshal(e, &s) == nil:
				if !strings.EqualFold(s, got[i].Hex()) {
					t.Fatalf("entry %d: %q parsed as %s", i, s, got[i].Hex())
				}
			case json.Unmarshal(e, &obj) == nil:
				for k, want := range map[string]uint8{"r": got[i].R, "g": got[i].G, "b": got[i].B} {
					var v int
					if err := json.Unmarshal(obj[k], &v); err != nil || v != int(want) {
						t.Fatalf("entry %d: %s field %s = %d (%v), parser %d", i, e, k, v, err, want)
					}
				}
			default:
				t.Fatalf("entry %d %s accepted but encoding/json cannot read it as a colour", i, e)
			}
		}
	})
}

func TestParseHex(t *testing.T) {
	if c, err := ParseHex("#FFa040"); err != nil || c != (RGB{255, 160, 64}) {
		t.Fatalf("got %v %v", c, err)
	}
	for _, bad := range []string{"", "#fff", "ffa040", "#ffa04g", `#ffa0"0`, "#ffa0400"} {
		if _, err := ParseHex(bad); !errors.Is(err, ErrBadColor) {
			t.Errorf("ParseHex(%q) err %v", bad, err)
		}
	}
}

// BenchmarkParseColors4096 parses the largest led-update the protocol allows.
func BenchmarkParseColors4096(b *testing.B) {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range MaxColors {
		if i > 0 {
			sb.WriteByte(',')
		}
		if i%2 == 0 {
			fmt.Fprintf(&sb, `"#%02x%02x%02x"`, i%256, (i/16)%256, 255-i%256)
		} else {
			fmt.Fprintf(&sb, `{"r":%d,"g":%d,"b":%d}`, i%256, (i/16)%256, 255-i%256)
		}
	}
	sb.WriteByte(']')
	raw := json.RawMessage(sb.String())
	dst := make([]RGB, 0, MaxColors)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = ParseColors(raw, dst); err != nil || len(dst) != MaxColors {
			b.Fatal(err)
		}
	}
}
