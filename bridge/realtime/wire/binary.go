package wire

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Kind is the first byte of a vsn 2.0.0 binary frame.
type Kind uint8

// Binary frame kinds. Only the two user-broadcast kinds are supported; 0–2 exist in Phoenix for raw
// binary payloads and are named here for error messages.
const (
	KindPush              Kind = 0 // Phoenix binary push (unsupported)
	KindReply             Kind = 1 // Phoenix binary reply (unsupported)
	KindBroadcast         Kind = 2 // Phoenix binary broadcast (unsupported)
	KindUserBroadcastPush Kind = 3 // client → server: a broadcast sent on a joined channel
	KindUserBroadcast     Kind = 4 // server → client: a broadcast delivered to a subscriber
)

// String names the kind as realtime-js does.
func (k Kind) String() string {
	switch k {
	case KindPush:
		return "push(0)"
	case KindReply:
		return "reply(1)"
	case KindBroadcast:
		return "broadcast(2)"
	case KindUserBroadcastPush:
		return "user_broadcast_push(3)"
	case KindUserBroadcast:
		return "user_broadcast(4)"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Encoding says how a binary frame's payload is encoded.
type Encoding uint8

// Payload encodings.
const (
	EncodingBinary Encoding = 0 // opaque bytes (channel.send with an ArrayBuffer payload)
	EncodingJSON   Encoding = 1 // a JSON value (every JSON broadcast supabase-js sends on vsn 2.0.0)
)

// String names the encoding.
func (e Encoding) String() string {
	switch e {
	case EncodingBinary:
		return "binary(0)"
	case EncodingJSON:
		return "json(1)"
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}

// maxField is the longest ref, topic, event or metadata a binary frame can carry (a u8 length).
const maxField = 255

const (
	pushHeaderLen      = 7 // kind, len(join_ref), len(ref), len(topic), len(event), len(metadata), encoding
	broadcastHeaderLen = 5 // kind, len(topic), len(event), len(metadata), encoding
)

// UserBroadcast is a vsn 2.0.0 binary broadcast frame: kind 3 from a client, kind 4 from the server.
// A server fans a kind-3 frame out by setting Kind to KindUserBroadcast and re-encoding it.
//
// After a decode, Metadata and Payload alias the decoded frame's bytes: copy them before reusing the
// frame buffer.
type UserBroadcast struct {
	Kind Kind
	// JoinRef and Ref exist only in kind 3; a zero-length ref on the wire decodes as null, and a null
	// ref encodes as zero length (realtime-js writes "" for a missing ref).
	JoinRef Ref
	Ref     Ref
	Topic   string
	// Event is the user event name, e.g. "webrtc-signal".
	Event string
	// Metadata is a JSON object of allowed keys (by default only "persist"), or empty.
	Metadata json.RawMessage
	Encoding Encoding
	Payload  []byte
}

// EncodedLen returns the exact size of b's binary frame.
func (b *UserBroadcast) EncodedLen() int {
	n := len(b.Topic) + len(b.Event) + len(b.Metadata) + len(b.Payload)
	if b.Kind == KindUserBroadcastPush {
		return pushHeaderLen + len(b.JoinRef.Value) + len(b.Ref.Value) + n
	}
	return broadcastHeaderLen + n
}

// AppendBinary appends b as a binary frame of kind b.Kind (3 or 4). It refuses fields longer than
// 255 bytes, empty topics or events, unknown kinds or encodings, and payloads or metadata that are
// not valid JSON where JSON is required.
func AppendBinary(dst []byte, b *UserBroadcast) ([]byte, error) {
	if err := b.check("encode"); err != nil {
		return dst, err
	}
	if b.Kind == KindUserBroadcastPush {
		dst = append(dst, byte(b.Kind), byte(len(b.JoinRef.Value)), byte(len(b.Ref.Value)),
			byte(len(b.Topic)), byte(len(b.Event)), byte(len(b.Metadata)), byte(b.Encoding))
		dst = append(dst, b.JoinRef.Value...)
		dst = append(dst, b.Ref.Value...)
	} else {
		dst = append(dst, byte(b.Kind), byte(len(b.Topic)), byte(len(b.Event)), byte(len(b.Metadata)), byte(b.Encoding))
	}
	dst = append(dst, b.Topic...)
	dst = append(dst, b.Event...)
	dst = append(dst, b.Metadata...)
	dst = append(dst, b.Payload...)
	return dst, nil
}

// check validates b for encoding.
func (b *UserBroadcast) check(op string) error {
	if b.Kind != KindUserBroadcastPush && b.Kind != KindUserBroadcast {
		return fmt.Errorf("wire: %s binary: %v: %w", op, b.Kind, ErrUnknownKind)
	}
	if b.Topic == "" || b.Event == "" {
		return fmt.Errorf("wire: %s binary: %w", op, ErrEmptyField)
	}
	for _, f := range [...]struct {
		name string
		n    int
	}{{"join_ref", len(b.JoinRef.Value)}, {"ref", len(b.Ref.Value)}, {"topic", len(b.Topic)},
		{"event", len(b.Event)}, {"metadata", len(b.Metadata)}} {
		if f.n > maxField {
			return fmt.Errorf("wire: %s binary: %s is %d bytes: %w", op, f.name, f.n, ErrFieldTooLong)
		}
	}
	if b.EncodedLen() > MaxFrameSize {
		return fmt.Errorf("wire: %s binary (%d bytes): %w", op, b.EncodedLen(), ErrFrameTooLarge)
	}
	return b.checkContent(op)
}

// checkContent validates the parts both encoder and decoder check: encoding, UTF-8, JSON.
func (b *UserBroadcast) checkContent(op string) error {
	switch b.Encoding {
	case EncodingBinary:
	case EncodingJSON:
		// JSON is UTF-8 (RFC 8259 §8.1), but json.Valid accepts invalid bytes inside strings: a
		// JSON payload is relayed to vsn 1.0.0 sockets as a text frame, which such bytes would
		// make the browser fail.
		if !utf8.Valid(b.Payload) {
			return fmt.Errorf("wire: %s binary: JSON payload: %w", op, ErrInvalidUTF8)
		}
		if !json.Valid(b.Payload) {
			return fmt.Errorf("wire: %s binary: JSON payload: %w", op, ErrBadJSON)
		}
	default:
		return fmt.Errorf("wire: %s binary: %v: %w", op, b.Encoding, ErrBadEncoding)
	}
	if len(b.Metadata) > 0 && !utf8.Valid(b.Metadata) {
		return fmt.Errorf("wire: %s binary: metadata: %w", op, ErrInvalidUTF8)
	}
	if len(b.Metadata) > 0 && (b.Metadata[0] != '{' || !json.Valid(b.Metadata)) {
		return fmt.Errorf("wire: %s binary: metadata is not a JSON object: %w", op, ErrBadJSON)
	}
	return nil
}

// DecodeBinary decodes a binary frame of kind 3 or 4 into b. Metadata and Payload alias data;
// strings already held by b are kept when equal, so a steady stream of broadcasts on one topic and
// event decodes without allocating.
func DecodeBinary(data []byte, b *UserBroadcast) error {
	if len(data) > MaxFrameSize {
		return fmt.Errorf("wire: decode binary (%d bytes): %w", len(data), ErrFrameTooLarge)
	}
	if len(data) == 0 {
		return fmt.Errorf("wire: decode binary: empty frame: %w", ErrTruncated)
	}
	kind := Kind(data[0])
	var joinRefLen, refLen, topicLen, eventLen, metaLen, off int
	var enc Encoding
	switch kind {
	case KindUserBroadcastPush:
		if len(data) < pushHeaderLen {
			return fmt.Errorf("wire: decode binary: %v header needs %d bytes, have %d: %w", kind, pushHeaderLen, len(data), ErrTruncated)
		}
		joinRefLen, refLen, topicLen, eventLen, metaLen = int(data[1]), int(data[2]), int(data[3]), int(data[4]), int(data[5])
		enc, off = Encoding(data[6]), pushHeaderLen
	case KindUserBroadcast:
		if len(data) < broadcastHeaderLen {
			return fmt.Errorf("wire: decode binary: %v header needs %d bytes, have %d: %w", kind, broadcastHeaderLen, len(data), ErrTruncated)
		}
		topicLen, eventLen, metaLen = int(data[1]), int(data[2]), int(data[3])
		enc, off = Encoding(data[4]), broadcastHeaderLen
	default:
		return fmt.Errorf("wire: decode binary: %v: %w", kind, ErrUnknownKind)
	}
	if need := off + joinRefLen + refLen + topicLen + eventLen + metaLen; need > len(data) {
		return fmt.Errorf("wire: decode binary: %v declares %d header and field bytes, frame has %d: %w", kind, need, len(data), ErrTruncated)
	}
	field := func(n int) []byte {
		f := data[off : off+n]
		off += n
		return f
	}
	joinRef, ref, topic, event := field(joinRefLen), field(refLen), field(topicLen), field(eventLen)
	b.Kind = kind
	b.Metadata = field(metaLen)
	b.Encoding = enc
	b.Payload = data[off:]
	for _, f := range [...]struct {
		name string
		raw  []byte
		dst  *string
	}{{"join_ref", joinRef, &b.JoinRef.Value}, {"ref", ref, &b.Ref.Value}, {"topic", topic, &b.Topic}, {"event", event, &b.Event}} {
		if !utf8.Valid(f.raw) {
			return fmt.Errorf("wire: decode binary: %s: %w", f.name, ErrInvalidUTF8)
		}
		if string(f.raw) != *f.dst { // the comparison does not allocate
			*f.dst = string(f.raw)
		}
	}
	b.JoinRef.Valid = joinRefLen > 0
	b.Ref.Valid = refLen > 0
	if topicLen == 0 || eventLen == 0 {
		return fmt.Errorf("wire: decode binary: %w", ErrEmptyField)
	}
	return b.checkContent("decode")
}
