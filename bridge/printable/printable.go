// Package printable neutralises text that came from the network (a device's name, an error
// quoting its reply) before it reaches a log line, a terminal or the status page.
package printable

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports the runes no remote string may show as themselves: control characters (tab and
// newline would forge columns and rows, ESC would reach the terminal), Unicode format characters
// (bidi marks, overrides and isolates reorder what is shown; zero-width ones hide text) and the
// line and paragraph separators. Escape and Replace still keep the few of them that ordinary
// text joins with, where they join (see joined).
func Unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// Escape makes s safe to print: each Unsafe rune that joined does not keep and each invalid
// byte is written as a Go escape (\t, \x1b, \u202e), a backslash as \\ so an escape cannot be
// forged, and the result is cut after limit runes (with "…"); limit ≤ 0 means no cut.
func Escape(s string, limit int) string {
	var b strings.Builder
	n := 0         // runes written
	keepUntil := 0 // end of the joined sequence being written
	for i, r := range s {
		var piece string
		switch {
		case i < keepUntil:
			piece = string(r)
		case Unsafe(r) && joined(s, i) > 0:
			keepUntil = i + joined(s, i)
			piece = string(r)
		case r == utf8.RuneError && !validRuneAt(s, i):
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case r == '\\':
			piece = `\\`
		case Unsafe(r):
			q := strconv.QuoteRune(r) // '\t', '\x1b', '\u202e'
			piece = q[1 : len(q)-1]
		default:
			piece = string(r)
		}
		if limit > 0 && n+utf8.RuneCountInString(piece) > limit {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		n += utf8.RuneCountInString(piece)
	}
	return b.String()
}

// Replace is Escape's rule for text that is kept rather than printed (a WLED's name, stored
// per device and shown several times a second): s cut to at most max runes at a rune boundary,
// with each Unsafe rune that joined does not keep and each invalid byte replaced by U+FFFD. Its
// output passes through Escape unchanged except for backslashes, so text cleaned here and escaped
// again later is not mangled. A string that needs no change is returned as is.
func Replace(s string, max int) string {
	n, clean := 0, true
	for i := range s {
		if n == max {
			s, clean = s[:i], false
			break
		}
		n++
	}
	// Joiners are judged in the cut string: one whose partner was cut off joins nothing.
	keepUntil := 0
	for i, r := range s {
		if i >= keepUntil && (r == utf8.RuneError || Unsafe(r)) {
			if k := joined(s, i); k > 0 {
				keepUntil = i + k
				continue
			}
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	keepUntil = 0
	for i, r := range s {
		if i >= keepUntil && Unsafe(r) {
			if k := joined(s, i); k > 0 {
				keepUntil = i + k
			} else {
				r = utf8.RuneError
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// joined returns the length in bytes of the joined sequence starting at s[i], whose runes are
// Unsafe alone but ordinary text here, or 0: a zero-width joiner or non-joiner (U+200D, U+200C)
// between two visible non-ASCII characters, as in emoji sequences (🧑‍🎤) and Persian or Indic
// words; or the tag characters (U+E0020–E007E) of a flag, right after U+1F3F4 and ended by
// CANCEL TAG (U+E007F). Between ASCII letters, beside a space or another Unsafe rune, at either
// end, or as tags anywhere else, they only hide text and stay Unsafe. Each sequence is scanned
// once, so a string of hostile runes costs linear time.
func joined(s string, i int) int {
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == '\u200c' || r == '\u200d':
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+size:])
		if joinable(before) && joinable(after) {
			return size
		}
	case isTag(r):
		if before, _ := utf8.DecodeLastRuneInString(s[:i]); before != '\U0001F3F4' {
			return 0
		}
		for j := i; j < len(s); {
			t, tsize := utf8.DecodeRuneInString(s[j:])
			switch {
			case t == '\U000E007F':
				return j + tsize - i
			case !isTag(t):
				return 0
			}
			j += tsize
		}
	}
	return 0
}

// joinable reports whether a joiner may stand next to r: a visible character outside ASCII.
func joinable(r rune) bool {
	return r > unicode.MaxASCII && r != utf8.RuneError && !Unsafe(r) && !unicode.IsSpace(r)
}

// isTag reports whether r is a tag character that spells a flag's subdivision code.
func isTag(r rune) bool { return r >= '\U000E0020' && r <= '\U000E007E' }

// validRuneAt reports whether s holds a real U+FFFD at byte i rather than an invalid byte.
func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}
