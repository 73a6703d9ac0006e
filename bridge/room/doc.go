// Package room is PROTOCOL.md made code: room codes, the broadcast event names
// and their payloads with validating decoders, Presence metas and host election.
//
// Everything that arrives from the room is untrusted. Every decoder bounds the
// payload size, names the field and the reason when it rejects a payload, wraps
// ErrInvalidPayload (or ErrPayloadTooLarge) so callers can count drops, and never
// panics. Unknown fields are ignored, as PROTOCOL.md §3 requires, and cost no
// more than reading past them: a decoder keeps only the members it reads and
// allocates for those alone, never per unknown key or per colour entry.
package room
