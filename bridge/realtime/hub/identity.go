package hub

import (
	"bytes"
	"encoding/json"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// A channel's presence key is its participant's peerId (PROTOCOL.md §2), and a room holds each key
// on one socket only (joinRoom). The events below name their sender in the payload's fromPeerId;
// the server drops one naming another sender than the sending channel's presence key, so that no member
// can speak as another (answer a musician's offer in its name, or claim to be the host in a
// state-response). Every other event is relayed untouched.
var senderEvents = [...][]byte{[]byte("webrtc-signal"), []byte("state-request"), []byte("state-response")}

// namesSender reports whether event is one whose payload carries fromPeerId.
func namesSender(event string) bool {
	for _, e := range senderEvents {
		if event == string(e) { // compiled without allocating
			return true
		}
	}
	return false
}

// textMayNameSender reports whether a text broadcast's {"type","event","payload"} object could be
// one of senderEvents, without decoding it: without a backslash in it, a JSON string's value is
// its raw bytes, so such an event's name appears verbatim. Steady traffic (led-update frames)
// then costs a scan, not a decode.
func textMayNameSender(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') >= 0 {
		return true
	}
	for _, e := range senderEvents {
		if bytes.Contains(raw, e) {
			return true
		}
	}
	return false
}

// textBroadcastEvent decodes a text broadcast's event name and payload the way a receiver's
// JSON.parse does (exact keys; the last of duplicate keys wins, as with encoding/json into a map).
// ok is false when the event is not a string.
func textBroadcastEvent(raw []byte) (event string, payload json.RawMessage, ok bool) {
	var outer map[string]json.RawMessage
	if json.Unmarshal(raw, &outer) != nil {
		return "", nil, false
	}
	if json.Unmarshal(outer["event"], &event) != nil {
		return "", nil, false
	}
	return event, outer["payload"], true
}

// namesOtherSender reports whether payload is a JSON object with a fromPeerId that is not the
// string key. Keys are matched exactly (a receiver's JSON.parse does not fold case, as
// encoding/json does into a struct). A payload without fromPeerId names no one and passes:
// receivers drop such a signal, as it cannot be answered (PROTOCOL.md §3), and the recorded
// supabase-js session sends one.
func namesOtherSender(payload []byte, key string) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(payload, &obj) != nil {
		return false // not an object: receivers refuse it whole
	}
	raw, ok := obj["fromPeerId"]
	if !ok {
		return false
	}
	var from string
	return json.Unmarshal(raw, &from) != nil || from != key
}

// textSenderForged reports whether a text broadcast is one of senderEvents whose fromPeerId is
// not mem's presence key, and returns its event.
func textSenderForged(mem *member, raw []byte) (event string, forged bool) {
	if !textMayNameSender(raw) {
		return "", false
	}
	event, payload, ok := textBroadcastEvent(raw)
	if !ok || !namesSender(event) {
		return "", false
	}
	return event, namesOtherSender(payload, mem.presenceKey)
}

// dropForged counts and logs (at most once a second per server) a broadcast dropped because its
// fromPeerId is not the sending channel's presence key, and answers an ack-requesting push with
// an error.
func (c *conn) dropForged(mem *member, event string, joinRef, ref wire.Ref, topic string) {
	total := c.s.stats.forgedSenders.Add(1)
	if suppressed, ok := c.s.forgedLog.Allow(c.s.cfg.Now()); ok {
		c.s.log.Warn("hub: dropping broadcast whose fromPeerId is not the sender's presence key", "remote", c.remote,
			"topic", topic, "event", event, "presence_key", mem.presenceKey, "suppressed", suppressed, "forged_total", total)
	}
	if mem.ack && ref.Valid {
		c.reply(joinRef, ref, topic, errorReply("fromPeerId must be the channel's presence key"))
	}
}
