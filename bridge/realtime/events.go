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
	// EventPresenceSync says the Presence table changed; Presence() has the new table. It follows
	// each change's joins and leaves, and unlike them it is never lost to a full queue: a sync
	// pushed out by newer events is coalesced into a later one, or queued again behind them.
	EventPresenceSync
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
// (maxBytes, eventBytes of the events in it) drops its oldest events, except that a Presence sync
// is never lost: the consumer learns of every Presence change, however many broadcasts follow it.
//
// The consumer receives from ch directly, so the queue cannot see which events were taken; but it
// can see how many are left (len(ch)), and since both the consumer and push's drops take from the
// front, the events still in ch are always the newest len(ch) pushed. slots mirrors ch: the byte
// size and kind of the events pushed and not yet known to be gone, oldest first. push only ever
// overestimates the queued bytes (a receive racing it frees more), so the bound holds.
//
// Only push touches slots, queued and syncs: the session loop, one at a time, is the only producer.
type eventQueue struct {
	ch       chan Event
	maxBytes int

	slots  []eventSlot // a ring of cap(ch); slots[head] is the oldest event still counted
	head   int
	count  int // slots counted, at least len(ch)
	queued int // their bytes: what the queue can be holding
	syncs  int // the EventPresenceSync events among them
}

// eventSlot is what the queue remembers of an event it holds.
type eventSlot struct {
	size int
	sync bool
}

func newEventQueue(events, maxBytes int) eventQueue {
	return eventQueue{ch: make(chan Event, events), maxBytes: maxBytes, slots: make([]eventSlot, events)}
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
		gone := q.slots[q.head]
		q.queued -= gone.size
		if gone.sync {
			q.syncs--
		}
		q.head = (q.head + 1) % len(q.slots)
		q.count--
	}
}

// push never blocks: while the queue is full by count, or ev would take it past maxBytes, it drops
// the oldest event and counts it. An event larger than maxBytes on its own is still delivered
// (after everything else was dropped): Config keeps maxBytes at least one frame.
//
// A Presence sync is only a signal that Presence() changed, and any sync received after a change
// covers it (the table is updated before the change's events are pushed). So a sync dropped while
// a later one is still queued is coalesced into that one, and not counted; when the dropped sync
// was the only one queued, a new sync is queued behind ev (which may drop one more event). From a
// Presence change until the consumer receives a sync, one is always queued.
func (q *eventQueue) push(ev Event) (dropped uint64) {
	dropped, lostSync := q.pushOne(ev)
	if lostSync {
		more, _ := q.pushOne(Event{Kind: EventPresenceSync})
		dropped += more
	}
	return dropped
}

// pushOne queues ev, dropping the oldest events as push describes, and reports whether it dropped
// the only queued sync without ev being one.
func (q *eventQueue) pushOne(ev Event) (dropped uint64, lostSync bool) {
	size := eventBytes(&ev)
	q.forgetConsumed()
	droppedSync := false
	for q.count > 0 && (q.count == len(q.slots) || q.queued+size > q.maxBytes) {
		select {
		case old := <-q.ch:
			if old.Kind == EventPresenceSync {
				droppedSync = true // coalesced or replaced: not lost, not counted
			} else {
				dropped++
			}
		default: // the consumer emptied it meanwhile
		}
		q.forgetConsumed()
	}
	sync := ev.Kind == EventPresenceSync
	// No sync left queued (a sync the consumer took meanwhile was delivered after the change, which
	// covers it too): the dropped one must be replaced, unless ev is one.
	lostSync = droppedSync && q.syncs == 0 && !sync
	select {
	case q.ch <- ev:
	default: // cannot happen: count < cap(ch) and only push sends
		return dropped + 1, lostSync
	}
	q.slots[(q.head+q.count)%len(q.slots)] = eventSlot{size: size, sync: sync}
	q.count++
	q.queued += size
	if sync {
		q.syncs++
	}
	return dropped, lostSync
}

// String renders the meta for logs: its refs and JSON.
func (m Meta) String() string {
	if m.PrevRef != "" {
		return "phx_ref=" + m.Ref + " phx_ref_prev=" + m.PrevRef + " " + string(m.Data)
	}
	return "phx_ref=" + m.Ref + " " + string(m.Data)
}
