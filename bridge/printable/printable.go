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
// line and paragraph separators.
func Unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// Escape makes s safe to print: each Unsafe rune and each invalid byte is written as a Go escape
// (\t, \x1b, \u202e), a backslash as \\ so an escape cannot be forged, and the result is cut
// after limit runes (with "…"); limit ≤ 0 means no cut.
func Escape(s string, limit int) string {
	var b strings.Builder
	n := 0 // runes written
	for i, r := range s {
		var piece string
		switch {
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
// with each Unsafe rune and invalid byte replaced by U+FFFD. Its output passes through Escape
// unchanged except for backslashes, so text cleaned here and escaped again later is not mangled.
// A string that needs no change is returned as is.
func Replace(s string, max int) string {
	n, clean := 0, true
	for i, r := range s {
		if n == max {
			s, clean = s[:i], false
			break
		}
		n++
		if r == utf8.RuneError || Unsafe(r) {
			clean = false
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if Unsafe(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validRuneAt reports whether s holds a real U+FFFD at byte i rather than an invalid byte.
func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}
