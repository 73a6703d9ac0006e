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

// Joiners and tag characters are part of ordinary names (emoji sequences, Persian and Indic
// words, subdivision flags): kept where they join two visible characters of such text, and still
// neutralised where they would only hide something.
func TestJoinersInRealNames(t *testing.T) {
	const scotland = "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"
	cases := []struct {
		name, in, replaced, escaped string
	}{
		{"singer emoji, umlaut, Arabic and a trailing RLM", "🧑\u200d🎤 Bühne ضوء\u200f",
			"🧑\u200d🎤 Bühne ضوء\uFFFD", "🧑\u200d🎤 Bühne ضوء" + `\u200f`},
		{"family emoji", "👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"},
		{"heart on fire (variation selector before the joiner)", "❤\ufe0f\u200d🔥", "❤\ufe0f\u200d🔥", "❤\ufe0f\u200d🔥"},
		{"Scotland flag", scotland, scotland, scotland},
		{"Persian word with ZWNJ", "می\u200cخانه", "می\u200cخانه", "می\u200cخانه"},
		{"Hindi conjunct with ZWJ", "क्\u200dष", "क्\u200dष", "क्\u200dष"},
		{"ZWJ hidden inside ASCII", "ad\u200dmin", "ad\uFFFDmin", `ad\u200dmin`},
		{"ZWNJ hidden inside ASCII", "ad\u200cmin", "ad\uFFFDmin", `ad\u200cmin`},
		{"ZWJ at the end", "🧑\u200d", "🧑\uFFFD", `🧑\u200d`},
		{"ZWJ at the start", "\u200d🎤", "\uFFFD🎤", `\u200d🎤`},
		{"ZWJ next to a bidi override", "🧑\u200d\u202e🎤", "🧑\uFFFD\uFFFD🎤", `🧑\u200d\u202e🎤`},
		{"ZWJ next to a space", "🧑\u200d 🎤", "🧑\uFFFD 🎤", `🧑\u200d 🎤`},
		{"two joiners in a row", "🧑\u200d\u200d🎤", "🧑\uFFFD\uFFFD🎤", `🧑\u200d\u200d🎤`},
		{"tag characters hidden after text", "Bar\U000E0041\U000E0042", "Bar\uFFFD\uFFFD", `Bar\U000e0041\U000e0042`},
		{"cancel tag alone", "🏴\U000E007F", "🏴\uFFFD", `🏴\U000e007f`},
		{"language tag (deprecated)", "🏴\U000E0001", "🏴\uFFFD", `🏴\U000e0001`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Replace(tc.in, 64); got != tc.replaced {
				t.Errorf("Replace(%q) = %q, want %q", tc.in, got, tc.replaced)
			}
			if got := Escape(tc.in, 0); got != tc.escaped {
				t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.escaped)
			}
			if r := Replace(tc.in, 64); Escape(r, 0) != r {
				t.Errorf("Escape changed Replace's output %q to %q", r, Escape(r, 0))
			}
		})
	}
	// A cut inside a sequence leaves a joiner that joins nothing: it is replaced too.
	if got := Replace("🧑\u200d🎤", 2); got != "🧑\uFFFD" {
		t.Errorf("Replace cut in a sequence = %q, want %q", got, "🧑\uFFFD")
	}
}
