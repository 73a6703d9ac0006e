package realtime

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/ledbridge/ledbridge/bridge/jsonkeys"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// handle dispatches one inbound frame. It returns an error only when the connection must end.
func (s *session) handle(in *inbound) error {
	c := s.c
	if in.binary {
		if in.bin.Topic != c.topic {
			return nil
		}
		ev := Event{Kind: EventBroadcast, Event: in.bin.Event, Payload: json.RawMessage(in.bin.Payload),
			Binary: in.bin.Encoding == wire.EncodingBinary}
		s.deliver(ev)
		return nil
	}
	m := &in.msg
	if m.Topic == topicPhoenix {
		if m.Event == evReply && m.Ref.Valid && m.Ref.Value == s.hbRef {
			s.hbRef = ""
		}
		return nil
	}
	if m.Topic != c.topic {
		return nil
	}
	// Drop messages addressed to an earlier join of this channel (phoenix.js isMember). phx_close
	// and phx_error carry the join_ref as ref too, which also covers vsn 1.0.0 (no join_ref there).
	if m.JoinRef.Valid && m.JoinRef.Value != s.joinRef {
		return nil
	}
	if (m.Event == evClose || m.Event == evError) && m.Ref.Valid && m.Ref.Value != s.joinRef {
		return nil
	}
	switch m.Event {
	case evReply:
		return s.handleReply(m)
	case evPresenceState, evPresenceDiff:
		s.handlePresence(m)
	case evBroadcast:
		event, payload, err := broadcastEnvelope(m.Payload)
		if err != nil {
			c.malformed("broadcast", err)
			return nil
		}
		s.deliver(Event{Kind: EventBroadcast, Event: event, Payload: payload})
	case evSystem:
		var p struct {
			Extension string `json:"extension"`
			Status    string `json:"status"`
			Message   string `json:"message"`
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			c.malformed("system", err)
			return nil
		}
		// The server's strings go into the log and the status page: bounded, like reply reasons.
		p.Extension, p.Message = truncateForLog(p.Extension), truncateForLog(p.Message)
		if p.Status == "error" {
			// The server shuts the channel down after a system error and says so with phx_close;
			// rejoin on the error itself, so a lost or late phx_close cannot leave us stuck (the
			// phx_close then finds the rejoin already scheduled).
			s.lastSystem = &SystemError{Extension: p.Extension, Message: p.Message}
			if s.joined || s.joinPending {
				// Logged only when it costs the channel: further errors before the rejoin (a
				// server repeating them) are only recorded, so they cannot flood the log.
				c.log.Warn("realtime: server system error", "extension", p.Extension, "message", p.Message)
				s.scheduleRejoin(s.lastSystem)
			} else {
				c.noteError(s.lastSystem)
			}
		} else {
			c.log.Debug("realtime: server system message", "extension", p.Extension, "message", p.Message)
		}
	case evError:
		if s.joined || s.joinPending {
			s.scheduleRejoin(ErrChannelError)
		}
	case evClose:
		if s.joined || s.joinPending {
			cause := ErrChannelClosed
			if s.lastSystem != nil {
				cause = fmt.Errorf("%w: %w", ErrChannelClosed, s.lastSystem)
			}
			s.scheduleRejoin(cause)
		}
	}
	return nil
}

// replyPayload is phx_reply's payload.
type replyPayload struct {
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response"`
}

// reason extracts response.reason, or the raw response, bounded for logs.
func (p *replyPayload) reason() string {
	var r struct {
		Reason string `json:"reason"`
	}
	out := string(p.Response)
	if json.Unmarshal(p.Response, &r) == nil && r.Reason != "" {
		out = r.Reason
	}
	return truncateForLog(out)
}

// maxServerText bounds a server-provided string kept for logs and the status.
const maxServerText = 200

// truncateForLog cuts s to maxServerText bytes at a rune boundary, marking the cut.
func truncateForLog(s string) string {
	if len(s) <= maxServerText {
		return s
	}
	cut := maxServerText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (s *session) handleReply(m *wire.Message) error {
	c := s.c
	var p replyPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil || p.Status == "" {
		c.malformed("reply", fmt.Errorf("phx_reply without status: %v", err))
		return nil
	}
	if !m.Ref.Valid {
		return nil
	}
	if s.joinPending && m.Ref.Value == s.joinRef {
		s.joinPending = false
		stopTimer(&s.joinTimer)
		if p.Status != "ok" {
			s.refusal = &ReplyError{Op: "join", Reason: p.reason()}
			if s.socketClosed() {
				// The server closed the socket right after refusing (TenantNotFound): no rejoin
				// on it will come, and the reconnect counts and logs the refusal once (Run).
				s.refused = refusalUnlogged
				return nil
			}
			s.refused = refusalLogged
			s.scheduleRejoin(s.refusal)
			return nil
		}
		s.refusal = nil
		// The rejoin backoff is not reset here but once this join has lasted (stableJoin): a
		// server that accepts every join and shuts the channel down right after would otherwise
		// be rejoined at the first step (1 s) for ever.
		s.joined = true
		s.joinedAt = c.cfg.Clock.Now()
		// The server's presence rate limit counts per join: the calls of an earlier join do not
		// hold back this one's (re-)track.
		c.limiter.reset()
		stopTimer(&s.trackTimer)
		level := c.reconnectLogLevel(false) // before setStatus notes this join
		c.setStatus(StateJoined, nil, 0)
		c.log.Log(s.ctx, level, "realtime: joined", "join_ref", s.joinRef)
		if err := s.syncPresence(nil); err != nil {
			return err
		}
		return s.sendToken()
	}
	pp, ok := s.pending[m.Ref.Value]
	if !ok {
		return nil
	}
	delete(s.pending, m.Ref.Value)
	if p.Status == "ok" {
		pp.answer(nil)
		return nil
	}
	err := &ReplyError{Op: pp.op, Reason: p.reason()}
	if pp.op == "track" && m.Ref.Value == s.presenceRef {
		s.tracked, s.sentMeta = false, nil // not tracked: a later Track pushes again
	}
	c.noteError(err)
	c.log.Warn("realtime: push refused", "op", pp.op, "reason", err.Reason)
	pp.answer(err)
	return nil
}

// handlePresence applies presence_state or presence_diff and delivers the joins, leaves and a sync.
func (s *session) handlePresence(m *wire.Message) {
	s.applyPresence(m.Event == evPresenceState, func(p *presenceTable) ([]presenceChange, error) {
		if m.Event == evPresenceState {
			return p.applyState(m.Payload)
		}
		return p.applyDiff(m.Payload)
	})
}

// presenceStateDropped handles a presence_state frame the reader dropped as oversize: like a
// malformed one, it must not leave the table waiting for a state that will never come.
func (s *session) presenceStateDropped() {
	s.applyPresence(true, (*presenceTable).stateLost)
}

// applyPresence runs apply on the table, counts what it dropped, delivers the changes and a sync
// (always after a presence_state), and rejoins when the table asks for a resync.
func (s *session) applyPresence(state bool, apply func(*presenceTable) ([]presenceChange, error)) {
	c := s.c
	c.mu.Lock()
	overflowBefore, badBefore := c.presence.overflow, c.presence.badMetas
	changes, err := apply(c.presence)
	overflow := c.presence.overflow - overflowBefore
	bad := c.presence.badMetas - badBefore
	resync := c.presence.takeResync()
	c.mu.Unlock()
	if overflow > 0 {
		c.stats.presenceOverflow.Add(overflow)
		c.malformed("presence-overflow", fmt.Errorf("%d metas beyond the Presence table bounds", overflow))
	}
	if bad > 0 {
		c.stats.malformed.Add(bad - 1) // malformed counts the one it logs
		c.malformed("presence-meta", fmt.Errorf("%w: %d metas that are not objects with string phx_ref and phx_ref_prev; the rest of the payload was applied", errPresenceShape, bad))
	}
	if err != nil {
		c.malformed("presence", err)
	}
	for _, ch := range changes {
		s.deliver(Event{Kind: ch.kind, Key: ch.key, Metas: ch.metas})
	}
	if len(changes) > 0 || state {
		s.deliver(Event{Kind: EventPresenceSync})
	}
	if resync && (s.joined || s.joinPending) {
		// The state may miss changes made after the server took it (their diffs were dropped):
		// only a new join brings a complete one. The rejoin backoff keeps a server that
		// repeats this from making it a loop.
		s.scheduleRejoin(ErrPresenceResync)
	}
}

func (s *session) deliver(ev Event) {
	if n := s.c.events.push(ev); n > 0 {
		s.c.stats.eventsDropped.Add(n)
	}
}

// envelopeMembers are the members of a text broadcast's {type, event, payload} that
// broadcastEnvelope reads.
var envelopeMembers = []string{"event", "payload"}

// broadcastEnvelope reads a text broadcast's {type, event, payload} as JSON.parse does, the way
// every browser in the room reads it: keys match exactly and a repeated key's last value wins.
// (encoding/json's struct decoding folds case, so {"event":"led-update","Event":"webrtc-signal"}
// would be a signal to us and a led-update to the room server's sender check and to browsers.)
// jsonkeys steps over every other member without storing it: a broadcast of tens of thousands of
// unknown keys costs one pass on the session loop, not an allocation per key. payload shares raw's
// bytes (the reader hands each frame its own copy).
func broadcastEnvelope(raw json.RawMessage) (event string, payload json.RawMessage, err error) {
	envelope, err := jsonkeys.ParseValid(raw, envelopeMembers) // the wire decoder checked the frame's payload
	if err != nil {
		return "", nil, fmt.Errorf("broadcast payload: %w", err)
	}
	name, _ := envelope.Value("event")
	if event, _ = jsonkeys.String(name); event == "" {
		return "", nil, fmt.Errorf("broadcast payload without an event name")
	}
	payload, ok := envelope.Value("payload")
	if !ok {
		payload = json.RawMessage("null")
	}
	return event, payload, nil
}
