package hub

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	roomproto "github.com/ledbridge/ledbridge/bridge/room"
)

// topicPrefix is what supabase-js puts before a channel name; the Realtime server routes only
// "realtime:*" topics to channels.
const topicPrefix = "realtime:"

// maxTopicBytes is the longest topic a binary frame can carry (one length byte).
const maxTopicBytes = 255

// maxPresenceKeyBytes bounds a join's presence key (a peerId in practice: the same bound as
// room.MaxPeerIDBytes, the longest peerId ledbridge answers). The key is repeated in every
// presence_state and presence_diff and Config.MaxPresenceBytes does not cover it: unbounded, a few
// members with frame-sized keys would make the room's presence_state larger than clients accept.
const maxPresenceKeyBytes = 256

// room is one topic and its members. Its mutex orders everything a member receives from the room
// (the join reply, presence_state, diffs and broadcasts), so presence_state always precedes the
// diffs that follow it.
type room struct {
	topic   string
	name    string // the topic without "realtime:", as system messages name the channel
	starter string // the client whose join created the room (clientaddr.Key), charged for it until it empties

	mu sync.Mutex
	// The mutex protects the following elements.
	members  []*member
	presence []*presenceEntry // in tracking order

	// host is the member whose tracked meta Presence elects host (electHostLocked), nil while
	// nobody claims it. Written with mu held, read without it: a frame racing a change of host is
	// judged as if it had come just before.
	host atomic.Pointer[member]
	// held is the host whose socket left, still the host for hostLeaveGrace (relaygate.go).
	held heldHost
}

// member is one socket's channel membership in a room.
type member struct {
	c       *conn
	room    *room
	joinRef string
	self    bool // deliver the member's own broadcasts back to it
	ack     bool // reply to each broadcast push

	// Protected by room.mu.
	presenceEnabled bool
	presenceKey     string // set before the join and never changed: its socket reads it freely
	tracked         *presenceEntry
	// replaced is set when a newer socket joined with this presence key and took the member's
	// place, this one's socket not answering or closing (joinRoom): it is out of the room, and what its socket still sends
	// on the channel is not relayed.
	replaced bool
	// trackedSinceJoin: the member has sent a track or untrack since joining; only a track that
	// comes first is the join's re-track (admitPresence). Read and written by its socket's reader
	// only.
	trackedSinceJoin bool
}

// presenceEntry is one tracked Presence meta.
type presenceEntry struct {
	key     string
	ref     string
	payload []byte         // the track payload as received, to recognise an identical re-track
	meta    []byte         // the JSON object sent to clients: payload plus phx_ref (and phx_ref_prev)
	claim   roomproto.Meta // the payload as the host election reads it
	owner   *member
}

// joinRoom adds m to the room for topic, creating the room if needed, and queues the join reply
// and (if Presence is enabled) presence_state for it. A refusal is returned as its kind and the
// reply reason.
//
// A presence key is a participant's peerId, and holding it is speaking as that participant
// (identity.go): one socket holds it in a room. A join with a key that a live socket holds is
// refused. But a participant rejoins while the server still holds its old socket, silent until
// its idle timeout: supabase-js reconnecting after a network blip, or a musician whose address
// changed (Wi-Fi to 4G, a rotated IPv6 privacy address). So the holder is probed (holderAnswers,
// with no lock held; the join reply waits for it, holderProbeTimeout at most) and replaced when it
// does not answer; one whose socket is already closing is replaced at once. The joiner's address
// proves nothing: keys are public (Presence, the bridge's status page), and behind a reverse proxy
// on the bridge every client arrives from the bridge's own loopback address.
func (s *Server) joinRoom(m *member, topic string, replyOK func()) (why joinRefusal, reason string) {
	var silent *member // a holder of m's key that did not answer a probe
	for range maxHolderProbes {
		holder, why, reason := s.tryJoinRoom(m, topic, replyOK, silent)
		if holder == nil {
			return why, reason
		}
		if holderAnswers(s, m.c, holder) {
			break
		}
		silent = holder // replaced by the next try, unless another has taken the key meanwhile
	}
	return joinRefusedPresenceKeyTaken, "PresenceKeyInUse: another connection in this room holds this presence key"
}

// maxHolderProbes bounds the probes one join makes: each finds a new holder of the key, which
// only a race between joins from several clients with the same key produces.
const maxHolderProbes = 3

// tryJoinRoom is one attempt of joinRoom. It returns holder, without joining, when a
// live-looking socket holds m's key in the room and must be probed first; silent, when it is
// still the holder, is replaced.
func (s *Server) tryJoinRoom(m *member, topic string, replyOK func(), silent *member) (holder *member, why joinRefusal, reason string) {
	s.mu.Lock()
	r := s.rooms[topic]
	if r == nil {
		starter := m.c.addr
		switch {
		case len(s.rooms) >= s.cfg.MaxRooms:
			s.mu.Unlock()
			return nil, joinRefusedServerRooms, fmt.Sprintf("ChannelRateLimitReached: Too many rooms on this server (limit %d)", s.cfg.MaxRooms)
		case s.roomsStarted.Of(starter) >= s.cfg.MaxRoomsPerAddress:
			s.mu.Unlock()
			return nil, joinRefusedAddressRooms, fmt.Sprintf("ChannelRateLimitReached: Too many rooms started from this address (limit %d)", s.cfg.MaxRoomsPerAddress)
		}
		r = &room{topic: topic, name: strings.TrimPrefix(topic, topicPrefix), starter: starter}
		s.rooms[topic] = r
		s.roomsStarted.Add(starter)
	}
	// Taking r.mu while holding s.mu (the only order used) keeps leaveRoom from deleting r between
	// the lookup and the insertion.
	r.mu.Lock()
	s.mu.Unlock()
	defer r.mu.Unlock()
	var old *member
	for _, other := range r.members {
		if other.presenceKey == m.presenceKey {
			old = other // keys are unique in a room
			break
		}
	}
	if old != nil {
		switch {
		case old == silent || old.c.ending():
			r.replaceLocked(s, old, m, "Replaced by a newer connection with the same presence key: this one did not answer")
		default:
			return old, 0, ""
		}
	}
	if len(r.members) >= s.cfg.MaxClientsPerRoom {
		return nil, joinRefusedRoomFull, fmt.Sprintf("RoomFull: Too many clients in this room (limit %d)", s.cfg.MaxClientsPerRoom)
	}
	if r.membersFromLocked(m.c.addr) >= s.cfg.MaxClientsPerRoomPerAddress {
		return nil, joinRefusedRoomFull, fmt.Sprintf("RoomFull: Too many clients from this address in this room (limit %d)", s.cfg.MaxClientsPerRoomPerAddress)
	}
	m.room = r
	r.members = append(r.members, m)
	replyOK()
	if m.presenceEnabled {
		m.c.push(m.joinRef, "", r.topic, "presence_state", r.presenceStateLocked())
	}
	return nil, 0, ""
}

// membersFromLocked counts the room's members whose sockets belong to client (clientaddr.Key).
// A scan: a room holds at most MaxClientsPerRoom members, and only a join counts them.
func (r *room) membersFromLocked(client string) int {
	n := 0
	for _, m := range r.members {
		if m.c.addr == client {
			n++
		}
	}
	return n
}

// replaceLocked takes old out of the room for m, which joins with its presence key: its socket gets
// the system error and phx_close of a server-side shutdown, after which supabase-js does not
// rejoin. Its socket's own goroutine still lists the channel (only it may change that map) until
// it leaves or closes; leaveRoom then finds nothing left to remove.
//
// old's tracked meta passes to m without a diff, so the key never leaves the room's Presence: to
// ledbridge's session a key leaving is the musician leaving, and their audio connection would be
// closed although the media path was fine. m's own track then updates the meta as any re-track
// does (one diff: the new meta joins, the old one leaves, under the same key); an identical track
// is the usual no-op.
func (r *room) replaceLocked(s *Server, old, m *member, message string) {
	if i := slices.Index(r.members, old); i >= 0 {
		r.members = slices.Delete(r.members, i, i+1)
	}
	old.replaced = true
	if e := old.tracked; e != nil {
		old.tracked = nil
		e.owner = m
		m.tracked = e
		r.electHostLocked()
	}
	s.stats.channelsReplaced.Add(1)
	s.log.Debug("hub: channel replaced by a newer socket with its presence key", "remote", old.c.remote,
		"new_remote", m.c.remote, "topic", r.topic)
	old.c.push(old.joinRef, "", r.topic, "system", systemError(r.name, message))
	old.c.push(old.joinRef, old.joinRef, r.topic, "phx_close", emptyObject)
}

// leaveRoom removes m from its room, announces its Presence leave, and removes the room when it
// is empty.
func (s *Server) leaveRoom(m *member) {
	r := m.room
	r.mu.Lock()
	if r.host.Load() == m {
		r.holdHostLocked(m, s.cfg.Now())
	}
	if i := slices.Index(r.members, m); i >= 0 {
		r.members = slices.Delete(r.members, i, i+1)
	}
	if m.tracked != nil {
		old := m.tracked
		r.removePresenceLocked(old)
		m.tracked = nil
		r.electHostLocked()
		r.fanoutDiffLocked(nil, old)
	}
	empty := len(r.members) == 0
	r.mu.Unlock()
	if !empty {
		return
	}
	s.mu.Lock()
	r.mu.Lock()
	if len(r.members) == 0 && s.rooms[r.topic] == r {
		delete(s.rooms, r.topic)
		s.roomsStarted.Remove(r.starter)
	}
	r.mu.Unlock()
	s.mu.Unlock()
}

// track sets m's Presence meta from payload (a JSON object) and announces it. It reports false
// when the payload is identical to the tracked one (the Realtime server's no-op).
func (r *room) track(s *Server, m *member, payload []byte, reply func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.replaced {
		return // the channel is closed; its client was told so
	}
	m.presenceEnabled = true // a track enables Presence, as on the Realtime server
	r.releaseHeldLocked(m)
	if m.tracked != nil && bytes.Equal(m.tracked.payload, payload) {
		reply()
		return
	}
	e := &presenceEntry{key: m.presenceKey, ref: s.newPresenceRef(), payload: bytes.Clone(payload), claim: decodeClaim(payload), owner: m}
	prev := m.tracked
	prevRef := ""
	if prev != nil {
		prevRef = prev.ref
		r.removePresenceLocked(prev)
	}
	e.meta = buildMeta(payload, e.ref, prevRef)
	r.presence = append(r.presence, e)
	m.tracked = e
	r.electHostLocked()
	reply()
	r.fanoutDiffLocked(e, prev)
}

// untrack removes m's Presence meta, if any, and announces the leave.
func (r *room) untrack(m *member, reply func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reply()
	if !m.replaced {
		r.releaseHeldLocked(m)
	}
	if m.tracked == nil {
		return
	}
	old := m.tracked
	m.tracked = nil
	r.removePresenceLocked(old)
	r.electHostLocked()
	r.fanoutDiffLocked(nil, old)
}

func (r *room) removePresenceLocked(e *presenceEntry) {
	if i := slices.Index(r.presence, e); i >= 0 {
		r.presence = slices.Delete(r.presence, i, i+1)
	}
}

// buildMeta splices phx_ref (and phx_ref_prev for an update) into the payload object. Keys the
// client sent under those names come first, so JSON parsers (last key wins) see ours.
func buildMeta(payload []byte, ref, prevRef string) []byte {
	inner := bytes.TrimSpace(payload)
	inner = bytes.TrimSpace(inner[1 : len(inner)-1]) // the caller checked it is an object
	meta := make([]byte, 0, len(inner)+len(ref)+len(prevRef)+40)
	meta = append(meta, '{')
	meta = append(meta, inner...)
	if len(inner) > 0 {
		meta = append(meta, ',')
	}
	meta = append(meta, `"phx_ref":`...)
	meta = appendJSONString(meta, ref)
	if prevRef != "" {
		meta = append(meta, `,"phx_ref_prev":`...)
		meta = appendJSONString(meta, prevRef)
	}
	return append(meta, '}')
}

// presenceStateLocked renders the room's Presence as {"<key>":{"metas":[...]}, ...}.
func (r *room) presenceStateLocked() []byte {
	out := []byte{'{'}
	var keys []string
	for _, e := range r.presence {
		if !slices.Contains(keys, e.key) {
			keys = append(keys, e.key)
		}
	}
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, k)
		out = append(out, `:{"metas":[`...)
		n := 0
		for _, e := range r.presence {
			if e.key != k {
				continue
			}
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, e.meta...)
			n++
		}
		out = append(out, "]}"...)
	}
	return append(out, '}')
}

// fanoutDiffLocked sends presence_diff {"joins":…,"leaves":…} to every member, the tracker
// included, as the Realtime server does.
func (r *room) fanoutDiffLocked(join, leave *presenceEntry) {
	diff := []byte(`{"joins":{`)
	if join != nil {
		diff = appendPresenceGroup(diff, join)
	}
	diff = append(diff, `},"leaves":{`...)
	if leave != nil {
		diff = appendPresenceGroup(diff, leave)
	}
	diff = append(diff, "}}"...)
	f := pushFanout(r.topic, "presence_diff", diff)
	r.deliverLocked(nil, &f)
}

func appendPresenceGroup(dst []byte, e *presenceEntry) []byte {
	dst = appendJSONString(dst, e.key)
	dst = append(dst, `:{"metas":[`...)
	dst = append(dst, e.meta...)
	return append(dst, "]}"...)
}

// broadcast delivers f to every member but the sender, unless the sender joined with self. It
// delivers nothing and returns the refusal when sender may not send an event of gate
// (relaygate.go).
func (r *room) broadcast(sender *member, f *fanout, gate relayGate) gateVerdict {
	r.mu.Lock()
	if sender != nil && sender.replaced {
		r.mu.Unlock()
		f.release()
		return relayed // the channel is closed; its client was told so
	}
	if verdict := r.gateLocked(sender, gate); verdict != relayed {
		r.mu.Unlock()
		f.release()
		return verdict
	}
	r.deliverLocked(sender, f)
	r.mu.Unlock()
	return relayed
}

// deliverLocked queues f for the members and releases it.
func (r *room) deliverLocked(sender *member, f *fanout) {
	for _, m := range r.members {
		if m == sender && !sender.self {
			continue
		}
		if fr := f.frame(m.c.vsn); fr != nil {
			fr.retain()
			m.c.send(fr)
		} else {
			m.c.s.stats.undeliverable.Add(1)
		}
	}
	f.release()
}
