package wire

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// MaxFrameSize is the largest frame, text or binary, the decoders accept: 1 MiB. Supabase's own
// limit is 5 MB per WebSocket frame, but no room event comes near 1 MiB and a bound keeps a
// hostile peer from making us buffer and parse megabytes.
const MaxFrameSize = 1 << 20

// Ref is a Phoenix ref or join_ref: a string that may be null (absent) on the wire.
// The zero Ref is null.
type Ref struct {
	Value string
	Valid bool
}

// RefOf returns a non-null Ref holding s.
func RefOf(s string) Ref { return Ref{Value: s, Valid: true} }

// String returns the ref, or "null" for a null ref (for logs).
func (r Ref) String() string {
	if !r.Valid {
		return "null"
	}
	return r.Value
}

// Message is one Phoenix channel message as carried by a text frame.
//
// After a decode, Payload aliases the decoded frame's bytes (vsn 2.0.0) or a private copy
// (vsn 1.0.0): copy it before reusing the frame buffer.
type Message struct {
	JoinRef Ref
	Ref     Ref
	Topic   string
	Event   string
	// Payload is raw JSON. Encoders write an empty Payload as {}.
	Payload json.RawMessage
}

// Version selects a text serializer. The zero value is V2, the supabase-js default.
type Version uint8

// The two serializers Supabase Realtime offers.
const (
	V2 Version = iota // vsn 2.0.0: JSON arrays plus binary user-broadcast frames
	V1                // vsn 1.0.0: JSON objects, text only
)

// ParseVersion maps the vsn URL parameter to a Version. An empty string means V2.
func ParseVersion(vsn string) (Version, error) {
	switch vsn {
	case "2.0.0", "":
		return V2, nil
	case "1.0.0":
		return V1, nil
	}
	return 0, fmt.Errorf("wire: unsupported vsn %q (want \"1.0.0\" or \"2.0.0\")", vsn)
}

// String returns the vsn parameter value ("2.0.0" or "1.0.0").
func (v Version) String() string {
	if v == V1 {
		return "1.0.0"
	}
	return "2.0.0"
}

// AppendText appends m serialized as a text frame of version v.
func (v Version) AppendText(dst []byte, m *Message) ([]byte, error) {
	if v == V1 {
		return AppendTextV1(dst, m)
	}
	return AppendTextV2(dst, m)
}

// DecodeText decodes a text frame of version v into m.
func (v Version) DecodeText(data []byte, m *Message) error {
	if v == V1 {
		return DecodeTextV1(data, m)
	}
	return DecodeTextV2(data, m)
}

var emptyObject = []byte("{}")

// payloadOf returns m's payload checked to be valid JSON, with the empty payload meaning {}.
func payloadOf(m *Message) ([]byte, error) {
	if len(m.Payload) == 0 {
		return emptyObject, nil
	}
	if !utf8.Valid(m.Payload) {
		// A text frame must be UTF-8 (RFC 6455 §5.6); json.Valid alone would let such bytes through.
		return nil, fmt.Errorf("wire: encode %q: payload: %w", m.Event, ErrInvalidUTF8)
	}
	if !json.Valid(m.Payload) {
		return nil, fmt.Errorf("wire: encode %q: payload: %w", m.Event, ErrBadJSON)
	}
	return m.Payload, nil
}

// AppendTextV2 appends m as a vsn 2.0.0 text frame, [join_ref,ref,topic,event,payload], with no
// whitespace (byte-identical to supabase-js's JSON.stringify for the same values).
func AppendTextV2(dst []byte, m *Message) ([]byte, error) {
	payload, err := payloadOf(m)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '[')
	dst = appendRef(dst, m.JoinRef)
	dst = append(dst, ',')
	dst = appendRef(dst, m.Ref)
	dst = append(dst, ',')
	dst = appendString(dst, m.Topic)
	dst = append(dst, ',')
	dst = appendString(dst, m.Event)
	dst = append(dst, ',')
	dst = append(dst, payload...)
	dst = append(dst, ']')
	return dst, nil
}

// AppendTextV1 appends m as a vsn 1.0.0 text frame in supabase-js's key order,
// {"topic","event","payload","ref","join_ref"}. "ref" is always written (null when absent);
// "join_ref" only when it is non-null, which is what both supabase-js (heartbeats carry none) and
// the Realtime server (its V1 replies never carry one) send.
func AppendTextV1(dst []byte, m *Message) ([]byte, error) {
	payload, err := payloadOf(m)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `{"topic":`...)
	dst = appendString(dst, m.Topic)
	dst = append(dst, `,"event":`...)
	dst = appendString(dst, m.Event)
	dst = append(dst, `,"payload":`...)
	dst = append(dst, payload...)
	dst = append(dst, `,"ref":`...)
	dst = appendRef(dst, m.Ref)
	if m.JoinRef.Valid {
		dst = append(dst, `,"join_ref":`...)
		dst = appendString(dst, m.JoinRef.Value)
	}
	dst = append(dst, '}')
	return dst, nil
}

func appendRef(dst []byte, r Ref) []byte {
	if !r.Valid {
		return append(dst, "null"...)
	}
	return appendString(dst, r.Value)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way JSON.stringify does: only '"', '\\' and control
// characters are escaped (no HTML escaping), so frames re-encode byte-identically. Invalid UTF-8
// is written as is; decoders refuse it, so it only arises from a caller's own strings.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
