package printable

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"Bühne links":   "Bühne links",
		`a\x1b`:         `a\\x1b`, // a literal backslash is doubled, so it never looks like an escape
		"a\x1bb\tc\n":   `a\x1bb\tc\n`,
		"\u2066x\u2069": `\u2066x\u2069`,
		"ab\u200fcd":    `ab\u200fcd`,
		"x\u200by":      `x\u200by`,
		"gpj.\u202eexe": `gpj.\u202eexe`,
		"\u2028":        `\u2028`,
		"\ufffd":        "\ufffd", // a real replacement character stays
		"\xc3":          `\xc3`,
	} {
		if got := Escape(in, 0); got != want {
			t.Errorf("Escape(%q, 0) = %q, want %q", in, got, want)
		}
	}
	if got := Escape(strings.Repeat("é", 70), 64); got != strings.Repeat("é", 64)+"…" {
		t.Errorf("Escape did not cut at 64 runes: %q", got)
	}
	if long := strings.Repeat("x", 1000) + "\n"; Escape(long, 0) != strings.Repeat("x", 1000)+`\n` {
		t.Errorf("Escape with no limit cut or missed the newline")
	}
}

// Replace and Escape neutralise the same runes: what Replace keeps, Escape shows as it is.
func TestReplaceUsesEscapesRules(t *testing.T) {
	in := "Bar\x1b[2J\tleft\n\u202egnp.exe\u2066x\u2069\u2028 ab\u200fcd x\u200by \ufeff\u00ad\xff"
	got := Replace(in, 100)
	if want := "Bar\uFFFD[2J\uFFFDleft\uFFFD\uFFFDgnp.exe\uFFFDx\uFFFD\uFFFD ab\uFFFDcd x\uFFFDy \uFFFD\uFFFD\uFFFD"; got != want {
		t.Errorf("Replace = %q, want %q", got, want)
	}
	if Escape(got, 0) != got {
		t.Errorf("Escape changed Replace's output %q to %q", got, Escape(got, 0))
	}
	if got := Replace(strings.Repeat("Ä", 70), 64); got != strings.Repeat("Ä", 64) {
		t.Errorf("Replace did not cut at 64 runes: %q", got)
	}
	if s := "Bühne links"; Replace(s, 64) != s {
		t.Errorf("Replace changed a clean string")
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if Unsafe(r) != (Escape(string(r), 0) != string(r) && r != '\\' && utf8.ValidRune(r)) {
			t.Fatalf("Unsafe(%U) = %v, but Escape gives %q", r, Unsafe(r), Escape(string(r), 0))
		}
	}
}
