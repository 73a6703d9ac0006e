package room

import (
	"errors"
	"fmt"
	"strings"
)

// CodeAlphabet is the set of characters a room code is made of: upper-case
// letters and digits without the look-alikes 0/O and 1/I.
const CodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// CodeLength is the number of characters in a room code.
const CodeLength = 6

// ErrInvalidCode indicates a room code that is not 6 characters from CodeAlphabet.
var ErrInvalidCode = errors.New("invalid room code")

// Code is a validated, upper-case room code such as "JAM234". Its zero value is
// not a valid code; obtain one from ParseCode.
type Code string

// ParseCode validates a room code typed by a person: case-insensitive input,
// exactly CodeLength characters from CodeAlphabet. The result is upper-case, as
// it appears on the wire. The error names the offending character and position,
// or the length, and wraps ErrInvalidCode.
func ParseCode(s string) (Code, error) {
	if n := len([]rune(s)); n != CodeLength {
		return "", fmt.Errorf("room code %q has %d characters, want %d: %w", truncateForError(s), n, CodeLength, ErrInvalidCode)
	}
	upper := make([]byte, 0, CodeLength)
	for i, r := range []rune(s) {
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		if r > 0x7f || !strings.ContainsRune(CodeAlphabet, r) {
			return "", fmt.Errorf("room code %q: character %d (%q) is not allowed (use %s; 0/O and 1/I are excluded): %w",
				s, i+1, r, CodeAlphabet, ErrInvalidCode)
		}
		upper = append(upper, byte(r))
	}
	return Code(upper), nil
}

// String returns the code as it appears on the wire, e.g. "JAM234".
func (c Code) String() string { return string(c) }

// Topic returns the Realtime channel topic of the room, e.g. "realtime:JAM234".
func (c Code) Topic() string { return "realtime:" + string(c) }

// truncateForError keeps error messages short when someone pastes a novel.
func truncateForError(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
