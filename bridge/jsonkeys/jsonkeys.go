// Package jsonkeys reads the members a caller names from a JSON object the way
// a browser's JSON.parse reads them: a key matches a name exactly, once its
// escapes are undone (never case-folded, as encoding/json's struct decoding
// does), and the last of a repeated key wins. Every other member is stepped
// over without being stored, so an object of tens of thousands of unknown keys
// costs one pass over its bytes, not an allocation per key.
//
// It is the one reader of network JSON keys that ledbridge's room decoders,
// Realtime client and room server share, so that what each of them takes a
// broadcast to say (its event, its sender) is what every browser in the room
// takes it to say. It imports only the standard library.
package jsonkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxNames is the most member names one Object reads (a Presence meta reads
// six).
const MaxNames = 8

var (
	// ErrNotObject indicates input whose first byte after JSON whitespace is not
	// '{' (whether or not it is valid JSON), or a member value that is not an
	// object where one is asked for.
	ErrNotObject = errors.New("not a JSON object")
	// ErrSyntax indicates an object that is not well-formed JSON; the
	// *json.SyntaxError naming the offending byte is wrapped with it.
	ErrSyntax = errors.New("not valid JSON")
	// ErrTooManyNames indicates a caller asking for more than MaxNames members.
	ErrTooManyNames = errors.New("more member names than jsonkeys.MaxNames")
)

// Object is a well-formed JSON object of which only the members its reader
// named are kept, as sub-slices of its bytes (so each can be validated on its
// own, with a message naming it). The zero Object has no members.
type Object struct {
	names []string
	// values[i] is the raw value of names[i] (the last one when a key
	// repeats), nil when absent.
	values [MaxNames][]byte
}

// Parse checks that raw is one well-formed JSON object (JSON whitespace around
// it allowed) and reads the members named in names, which must be valid UTF-8
// (a key matches a name when its escapes undone give the name's bytes).
// It does not allocate unless raw is refused (names are best a package-level
// slice: a literal one escapes to the heap once a value read with it does).
// The Object's values share raw's bytes.
func Parse(raw []byte, names []string) (Object, error) {
	start, err := objectStart(raw, names)
	if err != nil {
		return Object{}, err
	}
	// json.Valid checks the grammar in one pass without allocating; only
	// input it refuses is handed to json.Unmarshal, whose check fails first on
	// it, for the error naming the offending byte.
	if !json.Valid(raw) {
		var syntax *json.SyntaxError
		if errors.As(json.Unmarshal(raw, &struct{}{}), &syntax) {
			return Object{}, fmt.Errorf("%w: %w", ErrSyntax, syntax)
		}
		return Object{}, ErrSyntax
	}
	return collect(raw[start:], names), nil
}

// ParseValid is Parse for raw that a JSON decoder has checked already (a
// Realtime frame's payload, which the wire decoder validated): it reads the
// members without validating raw a second time. On raw that is not valid JSON
// it returns no error and members that mean nothing, but never reads past raw.
func ParseValid(raw []byte, names []string) (Object, error) {
	start, err := objectStart(raw, names)
	if err != nil {
		return Object{}, err
	}
	return collect(raw[start:], names), nil
}

// objectStart checks what Parse and ParseValid refuse before reading: too many
// names, or raw not starting (after whitespace) as an object.
func objectStart(raw []byte, names []string) (int, error) {
	if len(names) > MaxNames {
		return 0, fmt.Errorf("jsonkeys: %d names: %w", len(names), ErrTooManyNames)
	}
	start := skipSpace(raw, 0)
	if start == len(raw) || raw[start] != '{' {
		return 0, ErrNotObject
	}
	return start, nil
}

// Value returns the raw value of the member name (the last one, when its key
// repeats) and whether it is present. A name the Object was not asked for
// reads as absent.
func (o *Object) Value(name string) ([]byte, bool) {
	for k, n := range o.names {
		if n == name {
			return o.values[k], o.values[k] != nil
		}
	}
	return nil, false
}

// Sub reads the value of the member name, which must be an object (else
// ErrNotObject, also when it is absent), keeping the members named in names.
// Its bytes were checked by Parse already and are not scanned again.
func (o *Object) Sub(name string, names []string) (Object, error) {
	if len(names) > MaxNames {
		return Object{}, fmt.Errorf("jsonkeys: %d names: %w", len(names), ErrTooManyNames)
	}
	v, _ := o.Value(name)
	if len(v) == 0 || v[0] != '{' {
		return Object{}, ErrNotObject
	}
	return collect(v, names), nil
}

// String decodes a JSON string value as json.Unmarshal into a string does,
// which is JSON.parse's reading except that a lone surrogate (and invalid
// UTF-8, which a WebSocket text frame cannot carry) becomes U+FFFD, as a Go
// string holds no UTF-16 halves. ok is false for any other value, null
// included. A string with nothing to undo (no escapes, valid UTF-8) costs one
// scan and the copy into the result.
func String(v []byte) (string, bool) {
	if plain, ok := plainString(v); ok {
		return string(plain), true
	}
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	return unescape(v)
}

// unescape is String's slow path, apart so that the string json.Unmarshal
// writes through a pointer (and so moves to the heap) costs only it.
func unescape(v []byte) (string, bool) {
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

// StringIs reports whether v is the JSON string s (as String would decode it),
// without allocating when v has nothing to undo.
func StringIs(v []byte, s string) bool {
	if plain, ok := plainString(v); ok {
		return string(plain) == s
	}
	if len(v) == 0 || v[0] != '"' {
		return false
	}
	got, ok := unescape(v)
	return ok && got == s
}

// plainString returns the contents of v when v is a JSON string whose value is
// its bytes: quoted, with no escape, no control character and valid UTF-8.
func plainString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c < 0x20 || c == '"' || c == '\\' {
			return nil, false
		}
	}
	return body, utf8.Valid(body)
}

// Elements yields the elements of arr, a JSON array, as raw values sharing its
// bytes. arr is meant to be well-formed (a value read from an Object); on
// other bytes Elements stops early and never panics or loops.
func Elements(arr []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		i := skipSpace(arr, 0)
		if i == len(arr) || arr[i] != '[' {
			return
		}
		i = skipSpace(arr, i+1)
		if i < len(arr) && arr[i] == ']' {
			return
		}
		for i < len(arr) {
			end := skipValue(arr, i)
			if end == i || !yield(arr[i:end]) {
				return
			}
			i = skipSpace(arr, end)
			if i == len(arr) || arr[i] != ',' {
				return
			}
			i = skipSpace(arr, i+1)
		}
	}
}

// collect walks the members of obj, which starts with '{', and keeps the
// values of those named in names. On well-formed JSON (Parse checked it) it
// finds where keys and values end without checking the grammar again; on
// other bytes it stops early, never reading past obj. (A function rather than
// a method storing through a pointer, so that names, often a literal, stays on
// the caller's stack.)
func collect(obj []byte, names []string) (o Object) {
	o.names = names
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		keyEnd := skipString(obj, i)
		if keyEnd-1 <= i || obj[keyEnd-1] != '"' {
			return o
		}
		key := obj[i+1 : keyEnd-1]
		i = skipSpace(obj, keyEnd)
		if i == len(obj) || obj[i] != ':' {
			return o
		}
		i = skipSpace(obj, i+1)
		valueEnd := skipValue(obj, i)
		if k := o.index(key); k >= 0 {
			o.values[k] = obj[i:valueEnd]
		}
		i = skipSpace(obj, valueEnd)
		if i == len(obj) || obj[i] != ',' {
			return o
		}
		i = skipSpace(obj, i+1)
	}
	return o
}

// index returns the position in o.names of the name key (a JSON string's
// contents, escapes still in) is, or -1. A key without a backslash is its
// name's bytes, compared as they are.
func (o *Object) index(key []byte) int {
	escaped := bytes.IndexByte(key, '\\') >= 0
	for k, name := range o.names {
		if escaped {
			if keyIs(key, name) {
				return k
			}
		} else if string(key) == name {
			return k
		}
	}
	return -1
}

// keyIs reports whether key, a JSON string's contents with its escapes still
// in, is name once they are undone, comparing as it goes (no buffer, so no
// bound on the key's length). A \u escape of a lone surrogate matches no name:
// JSON.parse keeps it as such, and no valid UTF-8 name holds one.
func keyIs(key []byte, name string) bool {
	j := 0
	for i := 0; i < len(key); {
		c := key[i]
		if c != '\\' {
			if j == len(name) || name[j] != c {
				return false
			}
			i++
			j++
			continue
		}
		if i+1 == len(key) {
			return false
		}
		var r rune
		switch key[i+1] {
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			var ok bool
			if r, ok = hex4(key, i+2); !ok {
				return false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				low, ok := rune(0), i+8 <= len(key) && key[i+2] == '\\' && key[i+3] == 'u'
				if ok {
					low, ok = hex4(key, i+4)
				}
				if r = utf16.DecodeRune(r, low); !ok || r == utf8.RuneError {
					return false
				}
				i += 6
			}
		default: // '"', '\\', '/'
			r = rune(key[i+1])
		}
		i += 2
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		if len(name)-j < n || name[j:j+n] != string(buf[:n]) {
			return false
		}
		j += n
	}
	return j == len(name)
}

// hex4 decodes the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace (len(b) when there is none).
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the JSON string that starts (with its
// quote) at b[i], or len(b) when it is not closed.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte; \uXXXX's digits need no care
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the JSON value that starts at b[i].
// Arrays and objects are stepped over by counting brackets, without recursion,
// so depth costs nothing.
func skipValue(b []byte, i int) int {
	if i == len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	// A number or true, false, null: it ends where the enclosing grammar
	// resumes.
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
