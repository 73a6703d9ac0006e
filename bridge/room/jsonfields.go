package room

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// object is a JSON object split into its raw members, so that each field can be
// validated on its own with a message naming it.
type object struct {
	event  string
	prefix string // "data." for nested objects, for error paths
	fields map[string]json.RawMessage
}

// parseObject checks the size bound and that raw is a JSON object.
func parseObject(event string, raw []byte, maxBytes int) (object, error) {
	if len(raw) > maxBytes {
		return object{}, fmt.Errorf("%s payload: %d bytes, limit %d: %w", event, len(raw), maxBytes, ErrPayloadTooLarge)
	}
	return subObject(event, "", raw)
}

func subObject(event, path string, raw []byte) (object, error) {
	o := object{event: event}
	if path != "" {
		o.prefix = path + "."
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return o, fieldErr(event, path, "must be a JSON object")
	}
	if err := json.Unmarshal(raw, &o.fields); err != nil {
		return o, fieldErr(event, path, "is not valid JSON: "+err.Error())
	}
	return o, nil
}

// has reports whether the field is present and not null.
func (o object) has(name string) bool {
	v, ok := o.fields[name]
	return ok && !isNull(v)
}

func (o object) err(name, reason string) error { return fieldErr(o.event, o.prefix+name, reason) }

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// str returns a required string field, at most maxLen bytes (0 = no limit
// beyond the payload bound); allowEmpty decides whether "" is acceptable.
func (o object) str(name string, allowEmpty bool, maxLen int) (string, error) {
	v, ok := o.fields[name]
	if !ok || isNull(v) {
		return "", o.err(name, "is missing")
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
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
	v, ok := o.fields[name]
	if !ok || isNull(v) {
		return false, o.err(name, "is missing")
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, o.err(name, "must be true or false")
	}
	return b, nil
}

// optBool returns an optional boolean; absent and null both give false.
func (o object) optBool(name string) (bool, error) {
	if !o.has(name) {
		return false, nil
	}
	return o.boolean(name)
}

func (o object) number(name string) (float64, error) {
	v, ok := o.fields[name]
	if !ok || isNull(v) {
		return 0, o.err(name, "is missing")
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
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
