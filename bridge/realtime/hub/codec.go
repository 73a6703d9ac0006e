package hub

import (
	"encoding/json"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

var (
	emptyObject     = []byte("{}")
	okEmptyReply    = []byte(`{"status":"ok","response":{}}`)
	okJoinReply     = []byte(`{"status":"ok","response":{"postgres_changes":[]}}`)
	unmatchedReason = "unmatched topic"
)

// encodeText encodes one server message for this socket's serializer. vsn 1.0.0 server frames
// carry no join_ref (Phoenix's V1 serializer writes only topic, event, payload and ref).
func encodeText(v wire.Version, joinRef, ref, topic, event string, payload []byte) (outFrame, bool) {
	m := wire.Message{Topic: topic, Event: event, Payload: payload}
	if joinRef != "" && v == wire.V2 {
		m.JoinRef = wire.RefOf(joinRef)
	}
	if ref != "" {
		m.Ref = wire.RefOf(ref)
	}
	data, err := v.AppendText(nil, &m)
	if err != nil {
		return outFrame{}, false
	}
	return outFrame{data: data}, true
}

// encodePush encodes a server push ([join_ref, ref, topic, event, payload]) for this socket.
// Our own payloads are always valid JSON, so an encoding failure cannot happen; it would
// surface as an undelivered frame, never a panic.
func (c *conn) encodePush(joinRef, ref, topic, event string, payload []byte) outFrame {
	f, _ := encodeText(c.vsn, joinRef, ref, topic, event, payload)
	return f
}

// reply queues phx_reply for a client message, echoing its join_ref and ref.
func (c *conn) reply(joinRef, ref wire.Ref, topic string, payload []byte) {
	if f, ok := encodeText(c.vsn, joinRef.Value, ref.Value, topic, "phx_reply", payload); ok {
		c.send(f)
	}
}

// errorReply renders {"status":"error","response":{"reason":…}}.
func errorReply(reason string) []byte {
	b := append(make([]byte, 0, len(reason)+48), `{"status":"error","response":{"reason":`...)
	b = appendJSONString(b, reason)
	return append(b, "}}"...)
}

// systemError renders the Realtime server's channel shutdown notice.
func systemError(channel, message string) []byte {
	b := append(make([]byte, 0, len(channel)+len(message)+80), `{"extension":"system","status":"error","message":`...)
	b = appendJSONString(b, message)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, channel)
	return append(b, '}')
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}

// fanout encodes one room event at most once per serializer version, however many members
// receive it; the encoded bytes are shared by every recipient's queue.
type fanout struct {
	build  func(wire.Version) (outFrame, bool)
	frames [2]outFrame
	ok     [2]bool
	built  [2]bool
}

func (f *fanout) frame(v wire.Version) (outFrame, bool) {
	i := 0
	if v == wire.V1 {
		i = 1
	}
	if !f.built[i] {
		f.frames[i], f.ok[i] = f.build(v)
		f.built[i] = true
	}
	return f.frames[i], f.ok[i]
}

// pushFanout fans out [null, null, topic, event, payload], the shape of presence_diff and of
// JSON broadcasts on both serializers.
func pushFanout(topic, event string, payload []byte) *fanout {
	return &fanout{build: func(v wire.Version) (outFrame, bool) {
		return encodeText(v, "", "", topic, event, payload)
	}}
}

// userBroadcastFanout fans out a binary user broadcast (a kind-3 push or a REST single
// broadcast): binary kind 4 to vsn 2.0.0 sockets and, like the Realtime server's
// UserBroadcast.convert_to_json_broadcast, a JSON broadcast to vsn 1.0.0 sockets when the payload
// is JSON. A raw binary payload cannot be expressed to vsn 1.0.0 sockets and is not delivered.
func userBroadcastFanout(topic, event string, enc wire.Encoding, payload []byte) *fanout {
	return &fanout{build: func(v wire.Version) (outFrame, bool) {
		if v == wire.V2 {
			b := wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: topic, Event: event, Encoding: enc, Payload: payload}
			data, err := wire.AppendBinary(make([]byte, 0, b.EncodedLen()), &b)
			if err != nil {
				return outFrame{}, false
			}
			return outFrame{data: data, binary: true}, true
		}
		if enc != wire.EncodingJSON {
			return outFrame{}, false
		}
		body := make([]byte, 0, len(payload)+len(event)+48)
		body = append(body, `{"type":"broadcast","event":`...)
		body = appendJSONString(body, event)
		body = append(body, `,"payload":`...)
		body = append(body, payload...)
		body = append(body, '}')
		return encodeText(v, "", "", topic, "broadcast", body)
	}}
}
