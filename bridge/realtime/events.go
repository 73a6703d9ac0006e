package realtime

import (
	"encoding/json"
)

// EventKind says what an Event carries.
type EventKind uint8

// Event kinds.
const (
	EventUnknown       EventKind = iota
	EventBroadcast               // a broadcast from a peer: Event, Payload, Binary
	EventPresenceJoin            // metas joined under Key (a new participant, or a new meta of one)
	EventPresenceLeave           // metas left under Key
	EventPresenceSync            // the Presence table changed; Presence() has the new table
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventBroadcast:
		return "broadcast"
	case EventPresenceJoin:
		return "presence-join"
	case EventPresenceLeave:
		return "presence-leave"
	case EventPresenceSync:
		return "presence-sync"
	}
	return "unknown"
}

// Event is one thing that happened on the channel, delivered on Client.Events.
type Event struct {
	Kind EventKind
	// Event and Payload are a broadcast's user event and payload (raw JSON, or raw bytes when
	// Binary: a kind-4 frame with binary encoding). The payload is owned by the receiver.
	Event   string
	Payload json.RawMessage
	Binary  bool
	// Key and Metas are a Presence join's or leave's key and the metas that joined or left.
	Key   string
	Metas []Meta
}

// Meta is one Presence meta of a participant. A key can hold several (one per tab or connection).
type Meta struct {
	// Ref is the meta's phx_ref, which identifies it in diffs.
	Ref string
	// PrevRef is phx_ref_prev: set when this meta replaced an earlier one of the same connection
	// (a track with a changed payload); the earlier one arrives as a leave.
	PrevRef string
	// Data is the whole meta object as sent (including phx_ref); decode it with room.DecodeMeta or
	// similar. Shared and read-only.
	Data json.RawMessage
}

// eventQueue is the bounded Events channel: a full queue drops its oldest event.
type eventQueue struct {
	ch chan Event
}

// push never blocks: with the queue full it drops the oldest event and counts it. The session
// loop is the only producer, so after one drop the send succeeds unless the consumer races in,
// which only frees more room.
func (q *eventQueue) push(ev Event) (dropped uint64) {
	select {
	case q.ch <- ev:
		return 0
	default:
	}
	select {
	case <-q.ch:
		dropped = 1
	default:
	}
	select {
	case q.ch <- ev:
	default:
		dropped++
	}
	return dropped
}

// String renders the meta for logs: its refs and JSON.
func (m Meta) String() string {
	if m.PrevRef != "" {
		return "phx_ref=" + m.Ref + " phx_ref_prev=" + m.PrevRef + " " + string(m.Data)
	}
	return "phx_ref=" + m.Ref + " " + string(m.Data)
}
