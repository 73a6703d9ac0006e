package room

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/ledbridge/ledbridge/bridge/jsonkeys"
)

// object is a payload's JSON object of which only the members its decoder
// reads are kept (jsonkeys.Object: keys matched exactly, as the browsers'
// JSON.parse matches them), so that each can be validated on its own with a
// message naming it. Every other member (PROTOCOL.md §3: unknown fields are
// ignored) is stepped over and never stored: a payload of tens of thousands of
// unknown keys costs one pass over its bytes, not one allocation per key,
// which matters because every broadcast is decoded on the session's one events
// goroutine, together with the musicians' webrtc-signals.
type object struct {
	event  string
	prefix string // "data." for nested objects, for error paths
	jsonkeys.Object
}

// parseObject checks the size bound and that raw is one well-formed JSON
// object, and keeps the members listed in names.
func parseObject(event string, raw []byte, maxBytes int, names []string) (object, error) {
	if len(raw) > maxBytes {
		return object{}, fmt.Errorf("%s payload: %d bytes, limit %d: %w", event, len(raw), maxBytes, ErrPayloadTooLarge)
	}
	o := object{event: event}
	var err error
	if o.Object, err = jsonkeys.Parse(raw, names); err != nil {
		var syntax *json.SyntaxError
		switch {
		case errors.Is(err, jsonkeys.ErrNotObject):
			return o, fieldErr(event, "", "must be a JSON object")
		case errors.As(err, &syntax):
			return o, fieldErr(event, "", "is not valid JSON: "+syntax.Error())
		case errors.Is(err, jsonkeys.ErrSyntax):
			return o, fieldErr(event, "", "is not valid JSON")
		}
		return o, fmt.Errorf("decode %s: %w", event, err)
	}
	return o, nil
}

// sub reads the member name, which must be an object, keeping the members
// listed in names; errors name it with its path ("data.type").
func (o object) sub(name string, names []string) (object, error) {
	s, err := o.Sub(name, names)
	if errors.Is(err, jsonkeys.ErrNotObject) {
		return object{}, o.err(name, "must be a JSON object")
	}
	if err != nil {
		return object{}, fmt.Errorf("decode %s: %w", o.event, err)
	}
	return object{event: o.event, prefix: o.prefix + name + ".", Object: s}, nil
}

// value returns the member's raw value and whether it is present.
func (o object) value(name string) ([]byte, bool) { return o.Value(name) }

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
	s, ok := jsonkeys.String(v)
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
