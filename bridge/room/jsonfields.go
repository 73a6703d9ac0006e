package room

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxFields is the most member names one decoder reads from one object
// (a Presence meta reads six).
const maxFields = 8

// object is a JSON object of which only the members its decoder reads are
// kept, as sub-slices of the payload, so that each can be validated on its own
// with a message naming it. Every other member (PROTOCOL.md §3: unknown fields
// are ignored) is stepped over and never stored: a payload of tens of
// thousands of unknown keys costs one pass over its bytes, not one allocation
// per key, which matters because every broadcast is decoded on the session's
// one events goroutine, together with the musicians' webrtc-signals.
type object struct {
	event  string
	prefix string   // "data." for nested objects, for error paths
	names  []string // the member names read; a name not listed reads as absent
	// values[i] is the value of names[i] (the last one, when a name repeats,
	// as encoding/json decodes into a map), nil when absent.
	values [maxFields][]byte
}

// parseObject checks the size bound and that raw is one well-formed JSON
// object, and keeps the members listed in names.
func parseObject(event string, raw []byte, maxBytes int, names []string) (object, error) {
	if len(raw) > maxBytes {
		return object{}, fmt.Errorf("%s payload: %d bytes, limit %d: %w", event, len(raw), maxBytes, ErrPayloadTooLarge)
	}
	o := object{event: event}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return o, fieldErr(event, "", "must be a JSON object")
	}
	// json.Valid checks the grammar in one pass without allocating; only a
	// payload it refuses is handed to json.Unmarshal, whose checkValid fails
	// first on it, for the message naming the offending byte.
	if !json.Valid(raw) {
		reason := "is not valid JSON"
		if err := json.Unmarshal(raw, &struct{}{}); err != nil {
			reason += ": " + err.Error()
		}
		return o, fieldErr(event, "", reason)
	}
	o.collect(raw, names)
	return o, nil
}

// subObject reads a member value of an object parseObject accepted (so it is
// well-formed JSON already) as an object, keeping the members listed in names.
func subObject(event, path string, raw []byte, names []string) (object, error) {
	o := object{event: event, prefix: path + "."}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return o, fieldErr(event, path, "must be a JSON object")
	}
	o.collect(raw, names)
	return o, nil
}

// collect walks the members of obj, a well-formed JSON object, and keeps the
// values of those named in names. It relies on obj being well-formed: it only
// finds where keys and values end.
func (o *object) collect(obj []byte, names []string) {
	o.names = names[:min(len(names), maxFields)]
	i := skipSpace(obj, 1)
	if obj[i] == '}' {
		return
	}
	for {
		keyEnd := skipString(obj, i)
		key := obj[i+1 : keyEnd-1]
		i = skipSpace(obj, keyEnd)
		i = skipSpace(obj, i+1) // ':'
		valueEnd := skipValue(obj, i)
		if k := o.index(key); k >= 0 {
			o.values[k] = obj[i:valueEnd]
		}
		i = skipSpace(obj, valueEnd)
		if obj[i] == '}' {
			return
		}
		i = skipSpace(obj, i+1) // ','
	}
}

// index returns the position in o.names of the member name key (the bytes
// between the quotes, escapes undone as encoding/json would), or -1.
func (o *object) index(key []byte) int {
	if bytes.IndexByte(key, '\\') >= 0 {
		var buf [32]byte
		n, ok := unescapeASCII(key, buf[:])
		if !ok {
			return -1
		}
		key = buf[:n]
	}
	for k, name := range o.names {
		if string(key) == name {
			return k
		}
	}
	return -1
}

// unescapeASCII undoes the escapes of a JSON string's contents into buf. ok is
// false when the result does not fit buf or holds a non-ASCII character: our
// member names are short and ASCII, so such a key is none of them.
func unescapeASCII(s, buf []byte) (n int, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			i++
			switch s[i] {
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'u':
				var r rune
				for _, h := range s[i+1 : i+5] {
					r = r<<4 | rune(hexValue(h))
				}
				if r >= 0x80 {
					return 0, false
				}
				c = byte(r)
				i += 4
			default: // '"', '\\', '/'
				c = s[i]
			}
		}
		if c >= 0x80 || n == len(buf) {
			return 0, false
		}
		buf[n] = c
		n++
	}
	return n, true
}

func hexValue(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// skipSpace returns the index of the first non-whitespace byte at or after i.
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

// skipString returns the index just past the well-formed JSON string that
// starts (with its quote) at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte; \uXXXX's digits need no care
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index just past the well-formed JSON value that starts
// at b[i]. Arrays and objects are stepped over by counting brackets, without
// recursion, so depth costs nothing.
func skipValue(b []byte, i int) int {
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

// value returns the member's raw value and whether it is present.
func (o object) value(name string) ([]byte, bool) {
	for k, n := range o.names {
		if n == name {
			return o.values[k], o.values[k] != nil
		}
	}
	return nil, false
}

// has reports whether the field is present and not null.
func (o object) has(name string) bool {
	v, ok := o.value(name)
	return ok && !isNull(v)
}

func (o object) err(name, reason string) error { return fieldErr(o.event, o.prefix+name, reason) }

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// str returns a required string field, at most maxLen bytes (0 = no limit
// beyond the payload bound); allowEmpty decides whether "" is acceptable.
func (o object) str(name string, allowEmpty bool, maxLen int) (string, error) {
	v, ok := o.value(name)
	if !ok || isNull(v) {
		return "", o.err(name, "is missing")
	}
	s, ok := jsonString(v)
	if !ok {
		return "", o.err(name, "must be a string")
	}
	if s == "" && !allowEmpty {
		return "", o.err(name, "must not be empty")
	}
	if maxLen > 0 && len(s) > maxLen {
		return "", o.err(name, fmt.Sprintf("is %d bytes long, limit %d", len(s), maxLen))
	}
	return s, nil
}

// optStr returns an optional string field; absent and null both give nil.
func (o object) optStr(name string, maxLen int) (*string, error) {
	if !o.has(name) {
		return nil, nil
	}
	s, err := o.str(name, true, maxLen)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func (o object) boolean(name string) (bool, error) {
	v, ok := o.value(name)
	if !ok || isNull(v) {
		return false, o.err(name, "is missing")
	}
	switch string(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, o.err(name, "must be true or false")
}

// optBool returns an optional boolean; absent and null both give false.
func (o object) optBool(name string) (bool, error) {
	if !o.has(name) {
		return false, nil
	}
	return o.boolean(name)
}

func (o object) number(name string) (float64, error) {
	v, ok := o.value(name)
	if !ok || isNull(v) {
		return 0, o.err(name, "is missing")
	}
	f, ok := jsonNumber(v)
	if !ok {
		return 0, o.err(name, "must be a finite number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, o.err(name, "must be a finite number")
	}
	return f, nil
}

// integer returns a required integer field in [min, max]. JSON numbers such as
// 3.0 or 3e2 are accepted when they are whole.
func (o object) integer(name string, min, max int64) (int64, error) {
	f, err := o.number(name)
	if err != nil {
		return 0, err
	}
	// float64 holds every integer up to 2^53 exactly, which covers our ranges.
	if f != math.Trunc(f) {
		return 0, o.err(name, "must be an integer")
	}
	if f < float64(min) || f > float64(max) {
		return 0, o.err(name, fmt.Sprintf("is %v, want %d…%d", f, min, max))
	}
	return int64(f), nil
}

// jsonString decodes a member value (well-formed JSON, as parseObject checked)
// as json.Unmarshal into a string would, without scanning it again when it
// has nothing to undo: no escapes, and valid UTF-8 (which json.Unmarshal would
// otherwise repair with U+FFFD).
func jsonString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if body := v[1 : len(v)-1]; bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), true
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

// jsonNumber decodes a member value (well-formed JSON) as json.Unmarshal into
// a float64 would: a number literal through strconv.ParseFloat, an error for
// any other value or one out of float64's range. It skips json.Unmarshal's
// second scan and copies of the literal, which for a 256 KB run of digits
// cost as much as the rest of the payload.
func jsonNumber(v []byte) (float64, bool) {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}
