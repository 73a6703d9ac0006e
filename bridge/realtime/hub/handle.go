package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// handleFrame dispatches one client frame. data is only valid during the call.
func (c *conn) handleFrame(typ websocket.MessageType, data []byte) {
	if typ == websocket.MessageBinary {
		c.handleBinary(data)
		return
	}
	if !utf8.Valid(data) {
		// RFC 6455 §8.1: an endpoint receiving a text frame that is not UTF-8 fails the
		// connection with 1007. coder/websocket does not check, and relaying such bytes (in a
		// broadcast, or in a presence meta re-sent on every join) would make every browser in the
		// room fail its own socket.
		c.malformed(fmt.Errorf("text frame: %w", wire.ErrInvalidUTF8))
		c.close(websocket.StatusInvalidFramePayloadData, "text frame is not valid UTF-8")
		return
	}
	m := &c.msg
	if err := c.vsn.DecodeText(data, m); err != nil {
		c.malformed(err)
		return
	}
	if m.Topic == "phoenix" {
		if m.Event == "heartbeat" {
			c.reply(m.JoinRef, m.Ref, m.Topic, okEmptyReply)
		}
		return
	}
	if m.Event == "phx_join" {
		c.join(m)
		return
	}
	mem := c.channels[m.Topic]
	if mem == nil {
		// Phoenix's answer to a push on a topic the socket has not joined.
		if m.Ref.Valid {
			c.reply(m.JoinRef, m.Ref, m.Topic, errorReply(unmatchedReason))
		}
		return
	}
	switch m.Event {
	case "phx_leave":
		c.reply(m.JoinRef, m.Ref, m.Topic, okEmptyReply)
		c.closeChannel(mem)
	case "broadcast":
		c.broadcastJSON(mem, m)
	case "presence":
		c.presence(mem, m)
	case "access_token":
		// Accepted without a reply, as the Realtime server does. The LAN server has no JWT
		// verification; Config.Secret guards the socket itself.
	default:
		c.s.log.Debug("hub: ignoring unknown event", "remote", c.remote, "topic", m.Topic, "event", m.Event)
	}
}

// malformed counts a dropped frame and logs it at most once a second per server: a client
// sending garbage must not flood the log.
func (c *conn) malformed(err error) {
	total := c.s.stats.malformed.Add(1)
	if _, ok := c.s.malformedLog.Allow(c.s.cfg.Now()); ok {
		c.s.log.Warn("hub: dropping malformed frame", "remote", c.remote, "err", err, "malformed_total", total)
	}
}

// joinRequest is the phx_join payload. Booleans are "flexible", as on the Realtime server.
type joinRequest struct {
	Config *struct {
		Broadcast struct {
			Ack  flexBool `json:"ack"`
			Self flexBool `json:"self"`
		} `json:"broadcast"`
		Presence struct {
			Enabled flexBool `json:"enabled"`
			Key     string   `json:"key"`
		} `json:"presence"`
		PostgresChanges []json.RawMessage `json:"postgres_changes"`
	} `json:"config"`
}

// flexBool accepts true, false, "true", "false" and null.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("want a boolean, got %s", data)
	}
	return nil
}

func (c *conn) join(m *wire.Message) {
	refuseAs := func(why joinRefusal, reason string) {
		c.s.stats.joinsRefused[why].Add(1)
		if why != joinRefusedRoomFull {
			c.s.log.Debug("hub: join refused", "remote", c.remote, "topic", m.Topic, "reason", reason)
		} else if suppressed, ok := c.s.roomFullLog.Allow(c.s.cfg.Now()); ok {
			// A full room keeps musicians out: the operator must see it.
			c.s.log.Warn("hub: join refused", "remote", c.remote, "topic", m.Topic, "reason", reason, "suppressed", suppressed)
		}
		c.reply(m.JoinRef, m.Ref, m.Topic, errorReply(reason))
	}
	refuse := func(reason string) { refuseAs(joinRefusedBadRequest, reason) }
	name, ok := strings.CutPrefix(m.Topic, topicPrefix)
	switch {
	case !ok:
		refuse(unmatchedReason)
		return
	case name == "":
		refuse("TopicNameRequired: You must provide a topic name")
		return
	case len(m.Topic) > maxTopicBytes:
		refuse(fmt.Sprintf("TopicNameTooLong: A topic may be at most %d bytes", maxTopicBytes))
		return
	}
	var req joinRequest
	if err := json.Unmarshal(m.Payload, &req); err != nil {
		refuse("MalformedJoinPayload: " + err.Error())
		return
	}
	mem := &member{c: c, joinRef: m.JoinRef.Value}
	if cfg := req.Config; cfg != nil {
		if len(cfg.PostgresChanges) > 0 {
			refuse("PostgresChangesUnavailable: the LAN room server has no database")
			return
		}
		mem.self = bool(cfg.Broadcast.Self)
		mem.ack = bool(cfg.Broadcast.Ack)
		mem.presenceEnabled = bool(cfg.Presence.Enabled)
		mem.presenceKey = cfg.Presence.Key
	}
	if len(mem.presenceKey) > maxPresenceKeyBytes {
		refuse(fmt.Sprintf("PresenceKeyTooLong: A presence key may be at most %d bytes", maxPresenceKeyBytes))
		return
	}
	if mem.presenceKey == "" {
		mem.presenceKey = newPresenceKey()
	}
	if old := c.channels[m.Topic]; old != nil {
		// A second join on the same topic replaces the first, as in Phoenix.
		c.closeChannel(old)
	} else if len(c.channels) >= c.s.cfg.MaxChannelsPerClient {
		refuseAs(joinRefusedChannels, "ChannelRateLimitReached: Too many channels")
		return
	}
	why, reason := c.s.joinRoom(mem, m.Topic, func() {
		c.reply(m.JoinRef, m.Ref, m.Topic, okJoinReply)
	})
	if reason != "" {
		refuseAs(why, reason)
		return
	}
	c.channels[m.Topic] = mem
}

// closeChannel leaves mem's room and tells the client the channel is closed.
func (c *conn) closeChannel(mem *member) {
	delete(c.channels, mem.room.topic)
	c.s.leaveRoom(mem)
	c.push(mem.joinRef, mem.joinRef, mem.room.topic, "phx_close", emptyObject)
}

// shutdownChannel is the Realtime server's shutdown_response: a system error, then phx_close.
// supabase-js reports the channel CLOSED and does not rejoin.
func (c *conn) shutdownChannel(mem *member, message string) {
	c.push(mem.joinRef, "", mem.room.topic, "system", systemError(mem.room.name, message))
	c.closeChannel(mem)
}

func (c *conn) shutdownAll(message string) {
	for _, topic := range c.topics() {
		c.shutdownChannel(c.channels[topic], message)
	}
}

// leaveAll leaves every channel when the socket is gone; the client hears nothing more.
func (c *conn) leaveAll() {
	for _, topic := range c.topics() {
		mem := c.channels[topic]
		delete(c.channels, topic)
		c.s.leaveRoom(mem)
	}
}

// topics lists the joined topics in order, so that shutdowns happen in a reproducible order.
func (c *conn) topics() []string {
	return slices.Sorted(maps.Keys(c.channels))
}

// broadcastJSON fans out a text broadcast, {"type":"broadcast","event":…,"payload":…}, verbatim:
// every serializer delivers it as [null, null, topic, "broadcast", payload]. One that names
// another sender than the channel's presence key is dropped (identity.go).
func (c *conn) broadcastJSON(mem *member, m *wire.Message) {
	if p := bytes.TrimSpace(m.Payload); len(p) == 0 || p[0] != '{' {
		c.malformed(fmt.Errorf("broadcast payload is not a JSON object"))
		if mem.ack && m.Ref.Valid {
			c.reply(m.JoinRef, m.Ref, m.Topic, errorReply("broadcast payload must be a JSON object"))
		}
		return
	}
	// The host may send every event: its frames are read for the sender-naming events only, so
	// steady led-update traffic costs a scan. Another member's are read for the gated ones too.
	isHost := mem.room.host.Load() == mem
	events := senderEvents[:]
	if !isHost {
		events = checkedEvents[:]
	}
	event, forged := textEventChecked(mem, m.Payload, events)
	if forged {
		c.dropForged(mem, event, m.JoinRef, m.Ref, m.Topic)
		return
	}
	gate := anyMember
	if !isHost && event != "" {
		gate = gateOf(event)
	}
	f := pushFanout(m.Topic, "broadcast", m.Payload)
	if verdict := mem.room.broadcast(mem, &f, gate); verdict != relayed {
		c.dropGated(mem, event, gate, verdict, m.JoinRef, m.Ref, m.Topic)
		return
	}
	c.s.stats.broadcasts.Add(1)
	if mem.ack {
		c.reply(m.JoinRef, m.Ref, m.Topic, okEmptyReply)
	}
}

// handleBinary handles a vsn 2.0.0 binary frame: only kind 3 (user broadcast push) is valid from
// a client.
func (c *conn) handleBinary(data []byte) {
	if c.vsn != wire.V2 {
		c.malformed(fmt.Errorf("binary frame on a vsn %s socket", c.vsn))
		return
	}
	b := &c.bin // reused: DecodeBinary keeps equal strings, so steady traffic does not allocate
	if err := wire.DecodeBinary(data, b); err != nil {
		c.malformed(err)
		return
	}
	if b.Kind != wire.KindUserBroadcastPush {
		c.malformed(fmt.Errorf("binary %v frame from a client", b.Kind))
		return
	}
	mem := c.channels[b.Topic]
	if mem == nil {
		if b.Ref.Valid {
			c.reply(b.JoinRef, b.Ref, b.Topic, errorReply(unmatchedReason))
		}
		return
	}
	if namesSender(b.Event) && namesOtherSender(b.Payload, mem.presenceKey) {
		c.dropForged(mem, b.Event, b.JoinRef, b.Ref, b.Topic)
		return
	}
	// The push's metadata holds instructions to the server (e.g. "persist"); there is no storage
	// here, so it is not forwarded, matching the kind-4 frames the Realtime server sends.
	gate := anyMember
	if mem.room.host.Load() != mem {
		gate = gateOf(b.Event)
	}
	f := userBroadcastFanout(b.Topic, b.Event, b.Encoding, b.Payload)
	if verdict := mem.room.broadcast(mem, &f, gate); verdict != relayed {
		c.dropGated(mem, b.Event, gate, verdict, b.JoinRef, b.Ref, b.Topic)
		return
	}
	c.s.stats.broadcasts.Add(1)
	if mem.ack {
		c.reply(b.JoinRef, b.Ref, b.Topic, okEmptyReply)
	}
}

// presenceRequest is the payload of the "presence" event.
type presenceRequest struct {
	Type    string          `json:"type"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
}

func (c *conn) presence(mem *member, m *wire.Message) {
	var req presenceRequest
	if err := json.Unmarshal(m.Payload, &req); err != nil {
		c.malformed(fmt.Errorf("presence payload: %w", err))
		c.reply(m.JoinRef, m.Ref, m.Topic, errorReply("malformed presence payload"))
		return
	}
	if req.Event == "track" || req.Event == "untrack" {
		rejoinTrack := req.Event == "track" && !mem.trackedSinceJoin
		mem.trackedSinceJoin = true
		if !c.admitPresence(mem, rejoinTrack) {
			c.shutdownChannel(mem, "Client presence rate limit exceeded")
			return
		}
	}
	reply := func() { c.reply(m.JoinRef, m.Ref, m.Topic, okEmptyReply) }
	switch req.Event {
	case "track":
		payload := bytes.TrimSpace(req.Payload)
		if len(payload) == 0 || string(payload) == "null" {
			payload = emptyObject
		}
		if payload[0] != '{' {
			c.malformed(fmt.Errorf("presence track payload is not a JSON object"))
			c.reply(m.JoinRef, m.Ref, m.Topic, errorReply("presence payload must be a JSON object"))
			return
		}
		if len(payload) > c.s.cfg.MaxPresenceBytes {
			c.shutdownChannel(mem, "Track message size exceeded")
			return
		}
		mem.room.track(c.s, mem, payload, reply)
	case "untrack":
		mem.room.untrack(mem, reply)
	default:
		c.malformed(fmt.Errorf("unknown presence event %.64q", req.Event)) // the client's string, bounded for the log
		c.reply(m.JoinRef, m.Ref, m.Topic, errorReply("unknown presence event"))
	}
}

// presenceWindow counts one socket's track/untrack calls on one topic.
type presenceWindow struct {
	start time.Time
	calls int
	// rejoinTracks counts the window's first tracks of a join that were not counted in calls.
	rejoinTracks int
}

// admitPresence counts a track or untrack against the socket's presence window for the channel's
// topic, which survives rejoins of that topic. The socket keeps at most MaxChannelsPerClient
// windows: one more topic's call while that many are open is refused too. rejoinTrack is a track
// that is a join's first presence call: a client re-tracks once per join (supabase-js, ledbridge), and on the
// Realtime server a join starts a fresh window, so up to PresenceMaxCalls of them a window are
// not counted; counting them refused a client that a few channel closes had made rejoin, for the
// rest of the window. A join-track loop is still stopped, at twice PresenceMaxCalls.
func (c *conn) admitPresence(mem *member, rejoinTrack bool) bool {
	limit := c.s.cfg.PresenceMaxCalls
	if limit < 0 {
		return true
	}
	now := c.s.cfg.Now()
	expired := func(w *presenceWindow) bool {
		d := now.Sub(w.start)
		return d >= c.s.cfg.PresenceWindow || d < 0
	}
	if c.presenceWindows == nil {
		c.presenceWindows = make(map[string]*presenceWindow)
	}
	topic := mem.room.topic
	w := c.presenceWindows[topic]
	if w == nil {
		if len(c.presenceWindows) >= c.s.cfg.MaxChannelsPerClient {
			// A socket can hop across many topics over time: forget the windows that are over,
			// which is the same as starting them afresh.
			for t, old := range c.presenceWindows {
				if expired(old) {
					delete(c.presenceWindows, t)
				}
			}
		}
		if len(c.presenceWindows) >= c.s.cfg.MaxChannelsPerClient {
			// Presence on more topics in one window than the socket may join at once: only a
			// client hopping topics to escape the per-topic limit does that. Refused rather than
			// forgetting a live window (which would reset it), so the map stays bounded.
			c.s.stats.presenceLimited.Add(1)
			c.logPresenceLimit(now, topic, "topics", c.s.cfg.MaxChannelsPerClient)
			return false
		}
		w = &presenceWindow{start: now}
		c.presenceWindows[topic] = w
	}
	if expired(w) {
		*w = presenceWindow{start: now}
	}
	if rejoinTrack && w.rejoinTracks < limit {
		w.rejoinTracks++
		return true
	}
	w.calls++
	if w.calls > limit {
		c.s.stats.presenceLimited.Add(1)
		if w.calls > limit+1 {
			return false // logged once per window: each refusal costs the client a rejoin, not us a line
		}
		c.logPresenceLimit(now, topic, "calls", limit)
		return false
	}
	return true
}

// logPresenceLimit logs a presence refusal at most once a second per server.
func (c *conn) logPresenceLimit(now time.Time, topic, over string, limit int) {
	if suppressed, ok := c.s.presenceLimitLog.Allow(now); ok {
		c.s.log.Info("hub: client over presence rate limit", "remote", c.remote, "topic", topic, "over", over, "limit", limit,
			"window", c.s.cfg.PresenceWindow, "suppressed", suppressed)
	}
}
