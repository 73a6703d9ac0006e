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

// encodeText encodes one server message for serializer v into a new frame (nil if the payload
// is not valid JSON, which our own payloads never are). vsn 1.0.0 server frames carry no join_ref
// (Phoenix's V1 serializer writes only topic, event, payload and ref).
func encodeText(v wire.Version, joinRef, ref, topic, event string, payload []byte) *frame {
	m := wire.Message{Topic: topic, Event: event, Payload: payload}
	if joinRef != "" && v == wire.V2 {
		m.JoinRef = wire.RefOf(joinRef)
	}
	if ref != "" {
		m.Ref = wire.RefOf(ref)
	}
	f := newFrame(false)
	var err error
	if f.data, err = v.AppendText(f.data, &m); err != nil {
		f.release()
		return nil
	}
	return f
}

// push queues a server push ([join_ref, ref, topic, event, payload]) for this socket.
func (c *conn) push(joinRef, ref, topic, event string, payload []byte) {
	if f := encodeText(c.vsn, joinRef, ref, topic, event, payload); f != nil {
		c.send(f)
	}
}

// reply queues phx_reply for a client message, echoing its join_ref and ref.
func (c *conn) reply(joinRef, ref wire.Ref, topic string, payload []byte) {
	c.push(joinRef.Value, ref.Value, topic, "phx_reply", payload)
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

// appendJSONString appends s as a JSON string. Event names and presence keys almost never need
// escaping, so that case appends directly; the rest goes through encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// fanoutKind says how a fanout renders its event.
type fanoutKind uint8

const (
	// fanoutPush renders [null, null, topic, event, payload] on both serializers: presence_diff and
	// JSON broadcasts.
	fanoutPush fanoutKind = iota
	// fanoutUserBroadcast renders a binary user broadcast (a kind-3 push or a REST single broadcast):
	// binary kind 4 to vsn 2.0.0 sockets and, like the Realtime server's
	// UserBroadcast.convert_to_json_broadcast, a JSON broadcast to vsn 1.0.0 sockets when the payload
	// is JSON. A raw binary payload cannot be expressed to vsn 1.0.0 sockets and is not delivered.
	fanoutUserBroadcast
)

// fanout encodes one room event at most once per serializer version, however many members
// receive it; every recipient's queue holds a reference to the same frame. It lives on the
// stack of the goroutine delivering it, and must be finished with release.
type fanout struct {
	kind         fanoutKind
	topic, event string
	encoding     wire.Encoding
	payload      []byte

	frames [2]*frame
	built  [2]bool
}

func pushFanout(topic, event string, payload []byte) fanout {
	return fanout{kind: fanoutPush, topic: topic, event: event, payload: payload}
}

func userBroadcastFanout(topic, event string, enc wire.Encoding, payload []byte) fanout {
	return fanout{kind: fanoutUserBroadcast, topic: topic, event: event, encoding: enc, payload: payload}
}

// frame returns the event rendered for serializer v, or nil if it cannot be delivered on v.
func (f *fanout) frame(v wire.Version) *frame {
	i := 0
	if v == wire.V1 {
		i = 1
	}
	if !f.built[i] {
		f.frames[i] = f.build(v)
		f.built[i] = true
	}
	return f.frames[i]
}

func (f *fanout) build(v wire.Version) *frame {
	if f.kind == fanoutPush {
		return encodeText(v, "", "", f.topic, f.event, f.payload)
	}
	if v == wire.V2 {
		b := wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: f.topic, Event: f.event, Encoding: f.encoding, Payload: f.payload}
		out := newFrame(true)
		var err error
		if out.data, err = wire.AppendBinary(out.data, &b); err != nil {
			out.release()
			return nil
		}
		return out
	}
	if f.encoding != wire.EncodingJSON {
		return nil
	}
	out := newFrame(false)
	var m wire.Message
	m.Topic, m.Event = f.topic, "broadcast"
	// The body {"type":"broadcast","event":…,"payload":…} is built in a scratch frame: AppendText
	// copies it into out.
	body := newFrame(false)
	defer body.release()
	body.data = append(body.data, `{"type":"broadcast","event":`...)
	body.data = appendJSONString(body.data, f.event)
	body.data = append(body.data, `,"payload":`...)
	body.data = append(body.data, f.payload...)
	body.data = append(body.data, '}')
	m.Payload = body.data
	var err error
	if out.data, err = v.AppendText(out.data, &m); err != nil {
		out.release()
		return nil
	}
	return out
}

// release drops the fanout's own references; the queues keep theirs until written.
func (f *fanout) release() {
	for i, fr := range f.frames {
		if fr != nil {
			fr.release()
			f.frames[i] = nil
		}
	}
}
