// Package wire encodes and decodes Phoenix/Supabase Realtime frames: the vsn 1.0.0 JSON-object
// serializer, the vsn 2.0.0 JSON-array text serializer, and the vsn 2.0.0 binary user-broadcast
// frames (kind 3, client→server push; kind 4, server→client broadcast).
//
// The package knows frames only, not channels or Presence: the client (package realtime) and the
// LAN room server (package hub) build on it. Decoders never panic on hostile input; every
// malformed frame yields an error wrapping one of the Err sentinels below, and no frame larger
// than MaxFrameSize is accepted. Text frames and JSON payloads must be valid UTF-8, in both
// directions (ErrInvalidUTF8): encoding/json's Valid accepts invalid bytes inside strings, and a
// browser fails its whole socket on a text frame that is not UTF-8 (RFC 6455 §8.1). Encoders append into a caller's buffer and, for well-formed
// input, allocate nothing.
//
// Layouts (from @supabase/realtime-js 2.119.1 serializer.ts and supabase/realtime v2_serializer.ex,
// confirmed against the frames recorded in testdata/):
//
//	vsn 2.0.0 text:   [join_ref, ref, topic, event, payload]          (refs are strings or null)
//	vsn 1.0.0 text:   {"topic":…,"event":…,"payload":…,"ref":…[,"join_ref":…]}
//	binary kind 3:    u8 3, u8 len(join_ref), u8 len(ref), u8 len(topic), u8 len(event),
//	                  u8 len(metadata), u8 encoding, join_ref, ref, topic, event, metadata, payload
//	binary kind 4:    u8 4, u8 len(topic), u8 len(event), u8 len(metadata), u8 encoding,
//	                  topic, event, metadata, payload
//
// Binary kinds 0–2 (Phoenix's own push/reply/broadcast of raw binary payloads) are never produced by
// supabase-js nor by the Realtime server for JSON traffic, so they are rejected with ErrUnknownKind.
package wire
