package jsonkeys

import (
	"bytes"
	"testing"
)

// ParseValid reads valid input as Parse does, and garbage without a panic or a read past it.
func FuzzParseValid(f *testing.F) {
	for _, s := range objectSeeds {
		f.Add([]byte(s))
	}
	names := []string{"event", "payload", "fromPeerId", "type"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, gotErr := ParseValid(raw, names)
		want, wantErr := Parse(raw, names)
		if wantErr != nil {
			return // Parse refuses it; ParseValid's reading of it means nothing, but it returned
		}
		if gotErr != nil {
			t.Fatalf("%q: ParseValid: %v, Parse read it", raw, gotErr)
		}
		for _, n := range names {
			g, gok := got.Value(n)
			w, wok := want.Value(n)
			if gok != wok || !bytes.Equal(g, w) {
				t.Fatalf("%q: %s = %q, %v; Parse gives %q, %v", raw, n, g, gok, w, wok)
			}
		}
	})
}
