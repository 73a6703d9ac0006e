package hub

import (
	"net/http"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	roomproto "github.com/ledbridge/ledbridge/bridge/room"
)

// The room protocol (PROTOCOL.md §3) has led-update sent by the room's host, and tempo-change and
// playback-control by musicians: every bridge in the room puts the first on its strips and takes
// the others for the room's state. Their payloads name no sender, so the server judges the
// sending member instead: it relays led-update only from the member Presence elects host, and
// tempo-change and playback-control only from members that track Presence (a participant, not a
// socket that joined to drive the strips unseen). Every other event passes.
type relayGate uint8

const (
	anyMember    relayGate = iota
	hostOnly               // hostEvents
	trackingOnly           // trackingEvents
)

// Every event name the checks scan for holds one '-' (textMayName).
var (
	hostEvents     = [...][]byte{[]byte(roomproto.EventLEDUpdate)}
	trackingEvents = [...][]byte{[]byte(roomproto.EventTempoChange), []byte(roomproto.EventPlaybackControl)}
	// checkedEvents are the events a text broadcast from a member other than the host is read
	// for: the sender-naming ones and the gated ones.
	checkedEvents = [...][]byte{senderEvents[0], senderEvents[1], senderEvents[2], hostEvents[0], trackingEvents[0], trackingEvents[1]}
)

// gateOf returns the gate of event, whose name is matched as namesSender matches it (the case
// folding by which supabase-js hands a broadcast to the web app's handler).
func gateOf(event string) relayGate {
	event = turkicFolded(event)
	switch {
	case eventIn(event, hostEvents[:]):
		return hostOnly
	case eventIn(event, trackingEvents[:]):
		return trackingOnly
	}
	return anyMember
}

// electHostLocked elects the room's host as every participant does (room.ElectHost: isHost,
// earliest joinedAt, over every tracked meta) and publishes it in r.host. It runs whenever the
// room's Presence changes, so that a broadcast reads its host without a lock and without decoding.
func (r *room) electHostLocked() {
	candidates := make([]roomproto.Member, 0, len(r.presence))
	for _, e := range r.presence {
		candidates = append(candidates, roomproto.Member{PeerID: e.key, Meta: e.claim})
	}
	var host *member
	if elected, ok := roomproto.ElectHost(candidates); ok {
		for _, e := range r.presence {
			if e.key == elected.PeerID { // keys are unique in a room
				host = e.owner
				break
			}
		}
	}
	r.host.Store(host)
}

// decodeClaim reads what a tracked meta claims for the host election. A meta with fields it cannot
// read keeps the others, as the session reads it (DecodeMeta); one that is no meta claims nothing.
func decodeClaim(payload []byte) roomproto.Meta {
	meta, _ := roomproto.DecodeMeta(payload)
	return meta
}

// mayRelayLocked reports whether sender (nil for REST, judged before) may send an event of gate.
func (r *room) mayRelayLocked(sender *member, gate relayGate) bool {
	switch {
	case sender == nil || gate == anyMember:
		return true
	case gate == hostOnly:
		return r.host.Load() == sender
	default:
		return sender.tracked != nil
	}
}

// gateRefusal is the reason given for an event a gate refused.
func gateRefusal(gate relayGate) string {
	if gate == hostOnly {
		return "led-update is relayed from the room's host only"
	}
	return "tempo-change and playback-control are relayed from members that track Presence only"
}

// dropGated counts and logs (at most once a second per server, with the forged senders) a
// broadcast its gate refused, and answers an ack-requesting push with an error.
func (c *conn) dropGated(mem *member, event string, gate relayGate, joinRef, ref wire.Ref, topic string) {
	total := c.s.stats.forgedSenders.Add(1)
	if suppressed, ok := c.s.forgedLog.Allow(c.s.cfg.Now()); ok {
		c.s.log.Warn("hub: dropping broadcast its sender may not send", "remote", c.remote, "topic", topic, "event", event,
			"presence_key", mem.presenceKey, "reason", gateRefusal(gate), "suppressed", suppressed, "forged_total", total)
	}
	if mem.ack && ref.Valid {
		c.reply(joinRef, ref, topic, errorReply(gateRefusal(gate)))
	}
}

// restGateHeld reports whether a REST broadcast of an event of gate to topic may be relayed, by
// the rule restSenderHeld applies to the sender-naming events: the requesting client (clientaddr.Key)
// must hold, in the room, the socket that could send it there: the host's for led-update, one
// that tracks Presence for tempo-change and playback-control (supabase-js sends over REST from a
// page that also holds the channel: httpSend, and send's fallback while it is not joined).
func (s *Server) restGateHeld(topic string, gate relayGate, client string) bool {
	if gate == anyMember {
		return true
	}
	s.mu.Lock()
	r := s.rooms[topic]
	s.mu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if gate == hostOnly {
		host := r.host.Load()
		return host != nil && host.c.addr == client
	}
	for _, m := range r.members {
		if m.tracked != nil && m.c.addr == client {
			return true
		}
	}
	return false
}

// refuseRESTGated answers a REST broadcast refused by restGateHeld with 403, counted and logged
// with the forged senders.
func (s *Server) refuseRESTGated(w http.ResponseWriter, remote, event string, gate relayGate, prefix string) {
	total := s.stats.forgedSenders.Add(1)
	if suppressed, ok := s.forgedLog.Allow(s.cfg.Now()); ok {
		s.log.Warn("hub: refusing REST broadcast the requesting client may not send", "remote", remote, "event", event,
			"reason", gateRefusal(gate), "suppressed", suppressed, "forged_total", total)
	}
	s.restError(w, http.StatusForbidden, prefix+gateRefusal(gate)+" (over REST: from the client of that member's socket)")
}
