package wire

import "errors"

// Sentinel errors. Decoders wrap them with the operation and the offending element, so callers can
// branch with errors.Is and log a readable message.
var (
	// ErrFrameTooLarge indicates a frame longer than MaxFrameSize.
	ErrFrameTooLarge = errors.New("frame larger than the 1 MiB limit")
	// ErrNotArray indicates a vsn 2.0.0 text frame that is not a JSON array.
	ErrNotArray = errors.New("text frame is not a JSON array")
	// ErrNotObject indicates a vsn 1.0.0 text frame that is not a JSON object.
	ErrNotObject = errors.New("text frame is not a JSON object")
	// ErrArity indicates a vsn 2.0.0 text frame whose array does not hold exactly five elements.
	ErrArity = errors.New("text frame must have exactly 5 elements [join_ref, ref, topic, event, payload]")
	// ErrElementType indicates an element or field of the wrong JSON type (a ref that is neither
	// string nor null, a topic that is not a string, ...).
	ErrElementType = errors.New("element has the wrong JSON type")
	// ErrMissingField indicates a vsn 1.0.0 frame without a required field.
	ErrMissingField = errors.New("required field missing")
	// ErrEmptyField indicates an empty topic or event.
	ErrEmptyField = errors.New("topic and event must not be empty")
	// ErrBadJSON indicates syntactically invalid JSON: a payload, metadata, or the frame itself.
	ErrBadJSON = errors.New("invalid JSON")
	// ErrInvalidUTF8 indicates a text frame, a JSON payload or metadata, or a binary frame's topic,
	// event or ref that is not valid UTF-8. Browsers fail a socket that receives a text frame with
	// invalid UTF-8 (RFC 6455 §8.1), so such data is refused rather than relayed.
	ErrInvalidUTF8 = errors.New("string is not valid UTF-8")
	// ErrTruncated indicates a binary frame shorter than its header and length fields declare.
	ErrTruncated = errors.New("binary frame truncated: lengths exceed the frame")
	// ErrUnknownKind indicates a binary frame whose first byte is not kind 3 or 4.
	ErrUnknownKind = errors.New("unsupported binary frame kind")
	// ErrBadEncoding indicates a binary payload encoding other than 0 (binary) or 1 (JSON).
	ErrBadEncoding = errors.New("unsupported binary payload encoding")
	// ErrFieldTooLong indicates a field longer than 255 bytes, which a binary frame cannot carry.
	ErrFieldTooLong = errors.New("field longer than 255 bytes cannot be encoded in a binary frame")
)
