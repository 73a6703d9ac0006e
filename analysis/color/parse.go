package color

import (
	"encoding/json"
	"errors"
	"fmt"
)

// MaxColors is the most entries a led-update colour array may hold (PROTOCOL.md §3).
const MaxColors = 4096

// maxSkipDepth bounds the nesting of unknown fields skipped inside a colour
// object, so that a hostile payload cannot recurse without limit.
const maxSkipDepth = 32

// Errors returned by ParseColors, wrapped with the position of the fault.
var (
	// ErrColorsNotArray indicates that led-update.colors is not a JSON array.
	ErrColorsNotArray = errors.New("led-update colors is not a JSON array")
	// ErrTooManyColors indicates an array of more than MaxColors entries.
	ErrTooManyColors = errors.New("led-update colors has more than 4096 entries")
	// ErrBadColor indicates an entry that is neither "#rrggbb" nor {r,g,b} with integers 0–255.
	ErrBadColor = errors.New(`led-update colour must be "#rrggbb" or {r,g,b} with integers 0–255`)
	// ErrBadJSON indicates bytes that are not well-formed JSON.
	ErrBadJSON = errors.New("led-update colors is not well-formed JSON")
)

// ParseColors parses a led-update "colors" array into dst[:0] and returns the
// filled slice. Each entry is "#rrggbb" (either case) or an object with integer
// fields r, g and b in 0–255 (other fields are ignored, as unknown fields are
// everywhere in the protocol). It never allocates when cap(dst) ≥ the number of
// entries (pass make([]RGB, 0, MaxColors)), reads each byte at most a bounded
// number of times, and returns a wrapped Err… value for anything else.
func ParseColors(raw json.RawMessage, dst []RGB) ([]RGB, error) {
	p := colorParser{b: raw}
	dst = dst[:0]
	p.skipSpace()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return dst, p.fail(ErrColorsNotArray, "")
	}
	p.i++
	p.skipSpace()
	if p.peek() == ']' {
		p.i++
		return dst, p.end()
	}
	for {
		if len(dst) == MaxColors {
			return dst[:0], fmt.Errorf("color: parse colors: %w", ErrTooManyColors)
		}
		c, err := p.color(len(dst))
		if err != nil {
			return dst[:0], err
		}
		dst = append(dst, c)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
			p.skipSpace()
		case ']':
			p.i++
			if err := p.end(); err != nil {
				return dst[:0], err
			}
			return dst, nil
		default:
			return dst[:0], p.fail(ErrBadJSON, "expected ',' or ']' after an entry")
		}
	}
}

type colorParser struct {
	b []byte
	i int
}

func (p *colorParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *colorParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *colorParser) fail(err error, what string) error {
	if what == "" {
		return fmt.Errorf("color: parse colors at byte %d: %w", p.i, err)
	}
	return fmt.Errorf("color: parse colors at byte %d: %s: %w", p.i, what, err)
}

func (p *colorParser) entryFail(entry int, what string) error {
	return fmt.Errorf("color: parse colors: entry %d (byte %d): %s: %w", entry, p.i, what, ErrBadColor)
}

// end checks that nothing but whitespace follows the array.
func (p *colorParser) end() error {
	p.skipSpace()
	if p.i != len(p.b) {
		return p.fail(ErrBadJSON, "data after the array")
	}
	return nil
}

func (p *colorParser) color(entry int) (RGB, error) {
	switch p.peek() {
	case '"':
		return p.hexColor(entry)
	case '{':
		return p.objectColor(entry)
	}
	return RGB{}, p.entryFail(entry, "not a string or object")
}

func (p *colorParser) hexColor(entry int) (RGB, error) {
	start := p.i + 1
	end := start
	for end < len(p.b) && p.b[end] != '"' {
		if p.b[end] == '\\' || p.b[end] < 0x20 {
			return RGB{}, p.entryFail(entry, `string is not plain "#rrggbb"`)
		}
		end++
	}
	if end >= len(p.b) {
		return RGB{}, p.fail(ErrBadJSON, "unterminated string")
	}
	s := p.b[start:end]
	if len(s) != 7 || s[0] != '#' {
		return RGB{}, p.entryFail(entry, `string is not "#rrggbb"`)
	}
	var v [3]uint8
	for k := range v {
		hi, ok1 := hexDigit(s[1+2*k])
		lo, ok2 := hexDigit(s[2+2*k])
		if !ok1 || !ok2 {
			return RGB{}, p.entryFail(entry, "bad hex digit")
		}
		v[k] = hi<<4 | lo
	}
	p.i = end + 1
	return RGB{v[0], v[1], v[2]}, nil
}

func hexDigit(c byte) (uint8, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (p *colorParser) objectColor(entry int) (RGB, error) {
	p.i++ // '{'
	var v [3]int
	seen := [3]bool{}
	p.skipSpace()
	if p.peek() == '}' {
		p.i++
		return RGB{}, p.entryFail(entry, "empty object, want r, g and b")
	}
	for {
		p.skipSpace()
		if p.peek() != '"' {
			return RGB{}, p.fail(ErrBadJSON, "expected a field name")
		}
		keyStart := p.i + 1
		if err := p.skipString(); err != nil {
			return RGB{}, err
		}
		key := p.b[keyStart : p.i-1]
		p.skipSpace()
		if p.peek() != ':' {
			return RGB{}, p.fail(ErrBadJSON, "expected ':'")
		}
		p.i++
		p.skipSpace()
		k := -1
		if len(key) == 1 {
			switch key[0] {
			case 'r':
				k = 0
			case 'g':
				k = 1
			case 'b':
				k = 2
			}
		}
		if k >= 0 {
			n, err := p.channel(entry, key[0])
			if err != nil {
				return RGB{}, err
			}
			v[k], seen[k] = n, true
		} else if err := p.skipValue(0); err != nil {
			return RGB{}, err
		}
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
			continue
		case '}':
			p.i++
		default:
			return RGB{}, p.fail(ErrBadJSON, "expected ',' or '}' in an object")
		}
		break
	}
	for k, name := range [3]string{"r", "g", "b"} {
		if !seen[k] {
			return RGB{}, p.entryFail(entry, "missing field "+name)
		}
	}
	return RGB{uint8(v[0]), uint8(v[1]), uint8(v[2])}, nil
}

// channel reads one r/g/b value: a JSON integer 0–255 with no fraction or exponent.
func (p *colorParser) channel(entry int, name byte) (int, error) {
	start := p.i
	if p.peek() == '-' {
		return 0, p.entryFail(entry, string(name)+" is negative")
	}
	if p.peek() < '0' || p.peek() > '9' {
		return 0, p.entryFail(entry, string(name)+" is not a number")
	}
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		if n <= 255 { // stop growing: the value is already out of range
			n = n*10 + int(p.b[p.i]-'0')
		}
		p.i++
	}
	if p.i-start > 1 && p.b[start] == '0' {
		return 0, p.fail(ErrBadJSON, "number with a leading zero")
	}
	switch p.peek() {
	case '.', 'e', 'E':
		return 0, p.entryFail(entry, string(name)+" is not an integer")
	}
	if n > 255 {
		return 0, p.entryFail(entry, string(name)+" is above 255")
	}
	return n, nil
}

// skipString advances past a JSON string starting at p.i, checking escapes.
func (p *colorParser) skipString() error {
	p.i++ // opening quote
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return nil
		case c < 0x20:
			return p.fail(ErrBadJSON, "control character in a string")
		case c == '\\':
			p.i++
			switch p.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				p.i++
				for range 4 {
					if _, ok := hexDigit(p.peek()); !ok {
						return p.fail(ErrBadJSON, "bad \\u escape")
					}
					p.i++
				}
			default:
				return p.fail(ErrBadJSON, "bad escape")
			}
		default:
			p.i++
		}
	}
	return p.fail(ErrBadJSON, "unterminated string")
}

// skipValue advances past any JSON value (an ignored field), bounded in depth.
func (p *colorParser) skipValue(depth int) error {
	if depth > maxSkipDepth {
		return p.fail(ErrBadJSON, "nesting too deep")
	}
	switch c := p.peek(); {
	case c == '"':
		return p.skipString()
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		p.i++
		p.skipSpace()
		if p.peek() == closer {
			p.i++
			return nil
		}
		for {
			p.skipSpace()
			if c == '{' {
				if p.peek() != '"' {
					return p.fail(ErrBadJSON, "expected a field name")
				}
				if err := p.skipString(); err != nil {
					return err
				}
				p.skipSpace()
				if p.peek() != ':' {
					return p.fail(ErrBadJSON, "expected ':'")
				}
				p.i++
				p.skipSpace()
			}
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
			p.skipSpace()
			switch p.peek() {
			case ',':
				p.i++
			case closer:
				p.i++
				return nil
			default:
				return p.fail(ErrBadJSON, "expected ',' or a closing bracket")
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.skipNumber()
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
				p.i += len(lit)
				return nil
			}
		}
		return p.fail(ErrBadJSON, "unexpected character")
	}
}

// skipNumber advances past a number following the JSON grammar exactly.
func (p *colorParser) skipNumber() error {
	if p.peek() == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.peek() == '0' {
		p.i++
	} else if digits() == 0 {
		return p.fail(ErrBadJSON, "bad number")
	}
	if p.peek() == '.' {
		p.i++
		if digits() == 0 {
			return p.fail(ErrBadJSON, "bad number")
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if digits() == 0 {
			return p.fail(ErrBadJSON, "bad number")
		}
	}
	return nil
}

// ParseHex reads a "#rrggbb" colour (either case), as config files write them.
func ParseHex(s string) (RGB, error) {
	p := colorParser{b: []byte(`"` + s + `"`)}
	c, err := p.hexColor(0)
	if err != nil || p.i != len(p.b) {
		return RGB{}, fmt.Errorf("color: parse %q: %w", s, ErrBadColor)
	}
	return c, nil
}
