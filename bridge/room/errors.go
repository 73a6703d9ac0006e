package room

import (
	"errors"
	"fmt"
)

// ErrInvalidPayload indicates a broadcast payload or Presence meta that does not
// follow PROTOCOL.md. PROTOCOL.md §3: such a payload is dropped and counted.
var ErrInvalidPayload = errors.New("invalid payload")

// ErrPayloadTooLarge indicates a payload larger than its event's size bound; it
// is rejected before it is parsed.
var ErrPayloadTooLarge = errors.New("payload too large")

// ErrUnknownEvent indicates a broadcast event name PROTOCOL.md does not define.
// PROTOCOL.md §3: unknown events are ignored (not counted as invalid).
var ErrUnknownEvent = errors.New("unknown event")

// FieldError says which field of which event's payload was rejected and why.
// It wraps ErrInvalidPayload.
type FieldError struct {
	Event  string // event name, or "presence" for a Presence meta
	Field  string // dotted JSON path such as "data.sdp"; "" for the payload itself
	Reason string // what was wrong, e.g. "must be a string"
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s payload: %s: %v", e.Event, e.Reason, ErrInvalidPayload)
	}
	return fmt.Sprintf("%s payload: field %q %s: %v", e.Event, e.Field, e.Reason, ErrInvalidPayload)
}

// Unwrap lets errors.Is(err, ErrInvalidPayload) match.
func (e *FieldError) Unwrap() error { return ErrInvalidPayload }

func fieldErr(event, field, reason string) error {
	return &FieldError{Event: event, Field: field, Reason: reason}
}
