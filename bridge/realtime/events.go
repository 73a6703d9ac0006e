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

// eventQueue is the bounded Events channel: a queue full by count (cap(ch)) or by bytes
// (maxBytes, eventBytes of the events in it) drops its oldest events.
//
// The consumer receives from ch directly, so the queue cannot see which events were taken; but it
// can see how many are left (len(ch)), and since both the consumer and push's drops take from the
// front, the events still in ch are always the newest len(ch) pushed. sizes mirrors ch: the byte
// sizes of the events pushed and not yet known to be gone, oldest first. push only ever
// overestimates the queued bytes (a receive racing it frees more), so the bound holds.
//
// Only push touches sizes and queued: the session loop, one at a time, is the only producer.
type eventQueue struct {
	ch       chan Event
	maxBytes int

	sizes  []int // a ring of cap(ch) sizes; sizes[head] is the oldest event still counted
	head   int
	count  int // sizes counted, at least len(ch)
	queued int // their sum: the bytes the queue can be holding
}

func newEventQueue(events, maxBytes int) eventQueue {
	return eventQueue{ch: make(chan Event, events), maxBytes: maxBytes, sizes: make([]int, events)}
}

// eventBytes is what an event pins in memory while it waits: its payload and strings, and its
// metas (counted although the Presence table may share them: once it lets them go, the queued
// event still holds them).
func eventBytes(ev *Event) int {
	n := len(ev.Payload) + len(ev.Event) + len(ev.Key)
	for i := range ev.Metas {
		m := &ev.Metas[i]
		n += len(m.Data) + len(m.Ref) + len(m.PrevRef)
	}
	return n
}

// forgetConsumed stops counting the events the consumer (or a drop) has taken off ch.
func (q *eventQueue) forgetConsumed() {
	for q.count > len(q.ch) {
		q.queued -= q.sizes[q.head]
		q.head = (q.head + 1) % len(q.sizes)
		q.count--
	}
}

// push never blocks: while the queue is full by count, or ev would take it past maxBytes, it drops
// the oldest event and counts it. An event larger than maxBytes on its own is still delivered
// (after everything else was dropped): Config keeps maxBytes at least one frame.
func (q *eventQueue) push(ev Event) (dropped uint64) {
	size := eventBytes(&ev)
	q.forgetConsumed()
	for q.count > 0 && (q.count == len(q.sizes) || q.queued+size > q.maxBytes) {
		select {
		case <-q.ch:
			dropped++
		default: // the consumer emptied it meanwhile
		}
		q.forgetConsumed()
	}
	select {
	case q.ch <- ev:
	default: // cannot happen: count < cap(ch) and only push sends
		return dropped + 1
	}
	q.sizes[(q.head+q.count)%len(q.sizes)] = size
	q.count++
	q.queued += size
	return dropped
}

// String renders the meta for logs: its refs and JSON.
func (m Meta) String() string {
	if m.PrevRef != "" {
		return "phx_ref=" + m.Ref + " phx_ref_prev=" + m.PrevRef + " " + string(m.Data)
	}
	return "phx_ref=" + m.Ref + " " + string(m.Data)
}
