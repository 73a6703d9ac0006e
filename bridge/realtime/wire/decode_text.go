package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// elementNames names the five positions of a vsn 2.0.0 array, for error messages.
var elementNames = [5]string{"join_ref", "ref", "topic", "event", "payload"}

// DecodeTextV2 decodes a vsn 2.0.0 text frame, [join_ref, ref, topic, event, payload], into m.
//
// m.Payload aliases data. Strings already held by m are kept when equal, so decoding a stream of
// frames on one topic into the same Message allocates only for changing refs and events.
func DecodeTextV2(data []byte, m *Message) error {
	if len(data) > MaxFrameSize {
		return fmt.Errorf("wire: decode text (%d bytes): %w", len(data), ErrFrameTooLarge)
	}
	if !utf8.Valid(data) {
		// json.Valid accepts invalid UTF-8 inside strings, and a browser fails the whole socket
		// on a text frame that is not UTF-8 (RFC 6455 §8.1): such a payload must never be relayed.
		return fmt.Errorf("wire: decode text: %w", ErrInvalidUTF8)
	}
	s := scanner{data: data}
	s.skipSpace()
	if !s.consume('[') {
		return fmt.Errorf("wire: decode text: %w", ErrNotArray)
	}
	for i := 0; i < 4; i++ {
		if err := s.element(i, m); err != nil {
			return err
		}
		s.skipSpace()
		switch {
		case s.consume(','):
		case s.peek() == ']':
			return fmt.Errorf("wire: decode text: %d elements: %w", i+1, ErrArity)
		default:
			return fmt.Errorf("wire: decode text: after %s: %w: expected ','", elementNames[i], ErrBadJSON)
		}
	}
	rest := bytes.TrimRight(data[s.pos:], " \t\r\n")
	if len(rest) == 0 || rest[len(rest)-1] != ']' {
		return fmt.Errorf("wire: decode text: %w: array not closed", ErrBadJSON)
	}
	payload := bytes.TrimSpace(rest[:len(rest)-1])
	if len(payload) == 0 {
		return fmt.Errorf("wire: decode text: payload: %w", ErrBadJSON)
	}
	if !json.Valid(payload) {
		// Tell "[…, {}, 5]" (a sixth element) apart from a broken payload; error path only.
		if json.Valid(append(append([]byte{'['}, payload...), ']')) {
			return fmt.Errorf("wire: decode text: more than 5 elements: %w", ErrArity)
		}
		return fmt.Errorf("wire: decode text: payload: %w", ErrBadJSON)
	}
	m.Payload = payload
	return nil
}

// scanner walks the first four elements of a vsn 2.0.0 array.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.pos++
		return true
	}
	return false
}

// element decodes element i (0–3) into m: refs may be null, topic and event must be strings.
func (s *scanner) element(i int, m *Message) error {
	s.skipSpace()
	name := elementNames[i]
	c := s.peek()
	if c == 'n' && i < 2 {
		if !bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
			return fmt.Errorf("wire: decode text: %s: %w", name, ErrBadJSON)
		}
		s.pos += 4
		if i == 0 {
			m.JoinRef = Ref{}
		} else {
			m.Ref = Ref{}
		}
		return nil
	}
	if c != '"' {
		want := "a string"
		if i < 2 {
			want = "a string or null"
		}
		if kind := jsonKind(c); kind != "" {
			return fmt.Errorf("wire: decode text: %s is %s, want %s: %w", name, kind, want, ErrElementType)
		}
		return fmt.Errorf("wire: decode text: %s: %w", name, ErrBadJSON)
	}
	var dst *string
	switch i {
	case 0:
		m.JoinRef.Valid = true
		dst = &m.JoinRef.Value
	case 1:
		m.Ref.Valid = true
		dst = &m.Ref.Value
	case 2:
		dst = &m.Topic
	default:
		dst = &m.Event
	}
	if err := s.str(dst); err != nil {
		return fmt.Errorf("wire: decode text: %s: %w", name, err)
	}
	if i >= 2 && *dst == "" {
		return fmt.Errorf("wire: decode text: %s: %w", name, ErrEmptyField)
	}
	return nil
}

// str reads the JSON string at s.pos into *dst, keeping *dst when it already holds that value.
func (s *scanner) str(dst *string) error {
	start := s.pos // at the opening quote
	escaped := false
	i := start + 1
	for ; i < len(s.data); i++ {
		c := s.data[i]
		if c == '"' {
			break
		}
		if c == '\\' {
			escaped = true
			i++
			continue
		}
		if c < 0x20 {
			return ErrBadJSON
		}
	}
	if i >= len(s.data) {
		return ErrBadJSON
	}
	s.pos = i + 1
	raw := s.data[start+1 : i] // valid UTF-8: DecodeTextV2 checked the whole frame
	if !escaped {
		if string(raw) != *dst { // the comparison does not allocate
			*dst = string(raw)
		}
		return nil
	}
	var v string
	if err := json.Unmarshal(s.data[start:s.pos], &v); err != nil {
		return ErrBadJSON
	}
	*dst = v
	return nil
}

// jsonKind names the JSON type starting with c, or "" if c starts none.
func jsonKind(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c == '"':
		return "a string"
	}
	return ""
}

// v1Frame is the vsn 1.0.0 object. Fields stay raw so their JSON types can be checked.
type v1Frame struct {
	Topic   json.RawMessage `json:"topic"`
	Event   json.RawMessage `json:"event"`
	Payload json.RawMessage `json:"payload"`
	Ref     json.RawMessage `json:"ref"`
	JoinRef json.RawMessage `json:"join_ref"`
}

// DecodeTextV1 decodes a vsn 1.0.0 text frame, {"topic","event","payload","ref"[,"join_ref"]},
// into m. topic, event and payload are required; ref and join_ref may be absent or null.
func DecodeTextV1(data []byte, m *Message) error {
	if len(data) > MaxFrameSize {
		return fmt.Errorf("wire: decode v1 text (%d bytes): %w", len(data), ErrFrameTooLarge)
	}
	if !utf8.Valid(data) {
		// encoding/json would replace invalid bytes in strings but keeps them in the raw payload.
		return fmt.Errorf("wire: decode v1 text: %w", ErrInvalidUTF8)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("wire: decode v1 text: %w", ErrNotObject)
	}
	var f v1Frame
	if err := json.Unmarshal(trimmed, &f); err != nil {
		return fmt.Errorf("wire: decode v1 text: %w (%v)", ErrBadJSON, err)
	}
	var out Message
	var err error
	if out.Topic, err = v1String("topic", f.Topic); err != nil {
		return err
	}
	if out.Event, err = v1String("event", f.Event); err != nil {
		return err
	}
	if len(f.Payload) == 0 {
		return fmt.Errorf("wire: decode v1 text: payload: %w", ErrMissingField)
	}
	out.Payload = f.Payload
	if out.Ref, err = v1Ref("ref", f.Ref); err != nil {
		return err
	}
	if out.JoinRef, err = v1Ref("join_ref", f.JoinRef); err != nil {
		return err
	}
	*m = out
	return nil
}

func v1String(name string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", fmt.Errorf("wire: decode v1 text: %s: %w", name, ErrMissingField)
	}
	if raw[0] != '"' {
		return "", fmt.Errorf("wire: decode v1 text: %s is %s, want a string: %w", name, jsonKind(raw[0]), ErrElementType)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("wire: decode v1 text: %s: %w", name, ErrBadJSON)
	}
	if s == "" {
		return "", fmt.Errorf("wire: decode v1 text: %s: %w", name, ErrEmptyField)
	}
	return s, nil
}

func v1Ref(name string, raw json.RawMessage) (Ref, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return Ref{}, nil
	}
	if raw[0] != '"' {
		return Ref{}, fmt.Errorf("wire: decode v1 text: %s is %s, want a string or null: %w", name, jsonKind(raw[0]), ErrElementType)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return Ref{}, fmt.Errorf("wire: decode v1 text: %s: %w", name, ErrBadJSON)
	}
	return RefOf(s), nil
}
