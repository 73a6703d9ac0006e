package hub

import (
	"net/http"
	"time"

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
	event = roomproto.FoldTurkicI(event)
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
// An elected host ends the grace of a held one (hostLeaveGrace): the participants follow the
// elected host, and the strips must not get the held host's frames beside its.
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
	if host != nil {
		r.held = heldHost{}
	}
}

// decodeClaim reads what a tracked meta claims for the host election. A meta with fields it cannot
// read keeps the others, as the session reads it (DecodeMeta); one that is no meta claims nothing.
func decodeClaim(payload []byte) roomproto.Meta {
	meta, _ := roomproto.DecodeMeta(payload)
	return meta
}

// hostLeaveGrace is how long the host whose socket left stays the host, by its presence key on
// a socket that rejoins with it and, over REST, by its client: supabase-js reconnects its socket
// within a second or two and rejoins the channel at once, and its send() falls back to REST while
// the channel is not joined; the page re-tracks only once the rejoin is answered. Without the
// grace every led-update of that reconnect would be dropped. 10 s is the bridge's own hold on a
// musician whose Presence left for a moment (peer.DefaultPresenceGrace): what it keeps a
// musician's audio connection for, the room keeps the host's say for, while Presence elects no
// other host: once it does, the held host is heard again only when its key tracks and Presence
// elects it (electHostLocked). It grants nothing a member could not take anyway: presence keys
// are public, and any member can win the election by tracking isHost with an earlier joinedAt
// (README).
const hostLeaveGrace = 10 * time.Second

// heldHost is the host whose socket left within hostLeaveGrace, no other host elected since
// (room.held).
type heldHost struct {
	key    string // its presence key; "" when nobody is held (every member has a key)
	client string // its client (clientaddr.Key), for REST
	until  time.Time
}

// holdHostLocked keeps m, the room's host whose socket is leaving, the host for hostLeaveGrace.
func (r *room) holdHostLocked(m *member, now time.Time) {
	r.held = heldHost{key: m.presenceKey, client: m.c.addr, until: now.Add(hostLeaveGrace)}
}

// releaseHeldLocked ends the grace of the host held with m's presence key: m tracked or
// untracked, and its own word decides from now on.
func (r *room) releaseHeldLocked(m *member) {
	if r.held.key == m.presenceKey {
		r.held = heldHost{}
	}
}

// heldLocked reports whether a host is held at now.
func (r *room) heldLocked(now time.Time) bool {
	return r.held.key != "" && now.Before(r.held.until)
}

// isHostLocked reports whether m speaks as the room's host: the elected one, or a socket that
// rejoined with the held host's presence key (its key is what Presence elected).
func (r *room) isHostLocked(m *member, now time.Time) bool {
	return r.host.Load() == m || (m.presenceKey == r.held.key && r.heldLocked(now))
}

// gateVerdict is what a gate made of a broadcast.
type gateVerdict uint8

const (
	relayed gateVerdict = iota
	// refusedUntracked: the sender (over REST: the requesting client's members in the room) has
	// not tracked Presence, as a page that sends before its track. Refused, but no forger.
	refusedUntracked
	// refusedForged: a member that tracked and is not the host sent led-update, or (over REST)
	// the requesting client holds no member in the room.
	refusedForged
)

// gateLocked judges sender (nil for REST, judged before) sending an event of gate.
func (r *room) gateLocked(sender *member, gate relayGate) gateVerdict {
	if sender == nil || gate == anyMember {
		return relayed
	}
	if gate == trackingOnly && sender.tracked != nil {
		return relayed
	}
	// The host is a participant for tempo-change and playback-control, its held grace included.
	if r.isHostLocked(sender, sender.c.s.cfg.Now()) {
		return relayed
	}
	if sender.tracked == nil {
		return refusedUntracked
	}
	return refusedForged
}

// gateRefusal is the reason given for an event a gate refused.
func gateRefusal(gate relayGate) string {
	if gate == hostOnly {
		return "led-update is relayed from the room's host only"
	}
	return "tempo-change and playback-control are relayed from members that track Presence only"
}

// dropGated counts and logs a broadcast its gate refused, and answers an ack-requesting push with
// an error. A forger's is logged as the forged senders are (at most once a second per server);
// one from a member that has not tracked yet only at Debug, with its own limiter and counter.
func (c *conn) dropGated(mem *member, event string, gate relayGate, verdict gateVerdict, joinRef, ref wire.Ref, topic string) {
	c.s.noteGated(verdict, "hub: dropping broadcast from a member that has not tracked Presence", "hub: dropping broadcast its sender may not send",
		"remote", c.remote, "topic", topic, "event", event, "presence_key", mem.presenceKey, "reason", gateRefusal(gate))
	if mem.ack && ref.Valid {
		c.reply(joinRef, ref, topic, errorReply(gateRefusal(gate)))
	}
}

// noteGated counts a broadcast a gate refused and logs it with attrs: an untracked sender's at
// Debug (untrackedLog), a forger's at WARN (forgedLog), each limiter holding its own count.
func (s *Server) noteGated(verdict gateVerdict, untrackedMsg, forgedMsg string, attrs ...any) {
	if verdict == refusedUntracked {
		total := s.stats.untrackedSenders.Add(1)
		if suppressed, ok := s.untrackedLog.Allow(s.cfg.Now()); ok {
			s.log.Debug(untrackedMsg, append(attrs, "suppressed", suppressed, "untracked_total", total)...)
		}
		return
	}
	total := s.stats.forgedSenders.Add(1)
	if suppressed, ok := s.forgedLog.Allow(s.cfg.Now()); ok {
		s.log.Warn(forgedMsg, append(attrs, "suppressed", suppressed, "forged_total", total)...)
	}
}

// restGate judges a REST broadcast of an event of gate to topic by the rule restSenderHeld
// applies to the sender-naming events: the requesting client (clientaddr.Key) must hold, in the
// room, the socket that could send it there: the host's for led-update (or be the held host's
// client, hostLeaveGrace), one that tracks Presence for tempo-change and playback-control
// (supabase-js sends over REST from a page that also holds the channel: httpSend, and send's
// fallback while it is not joined). A client whose members there have not tracked yet is refused
// as untracked; one with none there, or with a tracking member that is not the host, as forged.
func (s *Server) restGate(topic string, gate relayGate, client string) gateVerdict {
	if gate == anyMember {
		return relayed
	}
	s.mu.Lock()
	r := s.rooms[topic]
	s.mu.Unlock()
	if r == nil {
		return refusedForged
	}
	now := s.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held.client == client && r.heldLocked(now) {
		return relayed
	}
	untracked, forged := false, false
	for _, m := range r.members {
		if m.c.addr != client {
			continue
		}
		switch r.gateLocked(m, gate) {
		case relayed:
			return relayed
		case refusedUntracked:
			untracked = true
		default:
			forged = true
		}
	}
	if untracked && !forged {
		return refusedUntracked
	}
	return refusedForged
}

// refuseRESTGated answers a REST broadcast refused by restGate with 403, counted and logged as
// dropGated does.
func (s *Server) refuseRESTGated(w http.ResponseWriter, remote, event string, gate relayGate, verdict gateVerdict, prefix string) {
	s.noteGated(verdict, "hub: refusing REST broadcast from a client whose members have not tracked Presence",
		"hub: refusing REST broadcast the requesting client may not send", "remote", remote, "event", event, "reason", gateRefusal(gate))
	s.restError(w, http.StatusForbidden, prefix+gateRefusal(gate)+" (over REST: from the client of that member's socket)")
}
