package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ledbridge/ledbridge/bridge/jsonkeys"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	roomproto "github.com/ledbridge/ledbridge/bridge/room"
)

// A channel's presence key is its participant's peerId (PROTOCOL.md §2), and a room holds each key
// on one socket only (joinRoom). The events below name their sender in the payload's fromPeerId;
// the server drops one naming another sender than the sending channel's presence key, so that no member
// can speak as another (answer a musician's offer in its name, or claim to be the host in a
// state-response). Every other event is relayed untouched.
var senderEvents = [...][]byte{[]byte("webrtc-signal"), []byte("state-request"), []byte("state-response")}

// namesSender reports whether event is one whose payload carries fromPeerId, under any case:
// supabase-js hands a broadcast to on('broadcast', {event}) when the two names are equal
// lower-cased in the browser's locale (toLocaleLowerCase in RealtimeChannel._trigger), so
// "WebRTC-Signal" reaches the web app's signal handler, and in a Turkish or Azerbaijani locale
// "webrtc-sİgnal" does too. Go's folding matches ASCII case and the letters that fold to ASCII
// (K, ſ: JavaScript lower-cases fewer, so more is checked, never less), but not the Turkic i.
func namesSender(event string) bool {
	return eventIn(roomproto.FoldTurkicI(event), senderEvents[:])
}

// eventIn reports whether event is one of names under Go's case folding.
func eventIn(event string, names [][]byte) bool {
	for _, e := range names {
		if strings.EqualFold(event, string(e)) { // compiled without allocating
			return true
		}
	}
	return false
}

// textMayName reports whether a text broadcast's {"type","event","payload"} object could be one of
// events (each holding one '-'), without decoding it: without a backslash or a non-ASCII byte in
// it, a JSON string's value is its raw bytes, so such an event's name appears verbatim but for its
// case. Steady traffic (the host's led-update frames, read for senderEvents only) then costs a
// scan, not a decode.
func textMayName(raw []byte, events [][]byte) bool {
	if bytes.IndexByte(raw, '\\') >= 0 || !isASCII(raw) {
		return true
	}
	// Each of events has one '-': find the dashes (IndexByte is vectorised; a led-update frame
	// holds almost none) and compare the words around them, rather than look at every byte.
	for off := 0; ; {
		i := bytes.IndexByte(raw[off:], '-')
		if i < 0 {
			return false
		}
		i += off
		for _, e := range events {
			if d := bytes.IndexByte(e, '-'); i >= d && hasPrefixFoldASCII(raw[i-d:], e) {
				return true
			}
		}
		off = i + 1
	}
}

// isASCII reports whether b holds only ASCII bytes, eight at a time.
func isASCII(b []byte) bool {
	for ; len(b) >= 8; b = b[8:] {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hasPrefixFoldASCII reports whether raw starts with word (lower-case ASCII letters and '-')
// under any ASCII case.
func hasPrefixFoldASCII(raw, word []byte) bool {
	if len(raw) < len(word) {
		return false
	}
	for j, w := range word {
		if raw[j]|0x20 != w {
			return false
		}
	}
	return true
}

// Every receiver in the room reads a broadcast's keys exactly: a browser with JSON.parse, ledbridge
// with bridge/jsonkeys (the Realtime client's envelope, room's event decoders), and the checks
// below with the same reader. A case variant of a key ({"event":"led-update","Event":
// "webrtc-signal",…}, a "FromPeerId" beside fromPeerId) is another member to all of them, so
// what the checks take for a broadcast's event and sender is what each receiver takes it for.

// senderMembers and envelopeMembers are the members the checks below read.
var (
	senderMembers   = []string{"fromPeerId"}
	envelopeMembers = []string{"event", "payload"}
)

// namesOtherSender reports whether payload has a fromPeerId that is not the string key. A payload
// without fromPeerId names no one and passes: receivers drop such a signal, as it cannot be
// answered (PROTOCOL.md §3), and the recorded supabase-js session sends one. One that is not a
// JSON object passes too: receivers refuse it whole.
func namesOtherSender(payload []byte, key string) bool {
	o, err := jsonkeys.Parse(payload, senderMembers)
	if err != nil {
		return false
	}
	from, ok := o.Value("fromPeerId")
	return ok && !jsonkeys.StringIs(from, key)
}

// senderOf returns the fromPeerId of payload, and false when payload is not a JSON object or
// has no string fromPeerId.
func senderOf(payload []byte) (string, bool) {
	o, err := jsonkeys.Parse(payload, senderMembers)
	if err != nil {
		return "", false
	}
	from, ok := o.Value("fromPeerId")
	if !ok {
		return "", false
	}
	return jsonkeys.String(from)
}

// restSenderHeld reports whether a REST broadcast of one of senderEvents to topic may be relayed:
// its payload's fromPeerId must be the presence key of a member of the room whose socket is of
// client (clientaddr.Key), the request's. supabase-js sends over REST from a page or process that
// also holds the channel (channel.httpSend, and send's fallback before the channel is joined);
// anyone else naming that member is speaking as them.
func (s *Server) restSenderHeld(topic string, payload []byte, client string) bool {
	from, ok := senderOf(payload)
	if !ok {
		return false
	}
	s.mu.Lock()
	r := s.rooms[topic]
	s.mu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members { // replaced members are no longer listed
		if m.presenceKey == from {
			return m.c.addr == client
		}
	}
	return false
}

// refuseRESTSender answers a REST broadcast refused by restSenderHeld with 403, counted and logged
// as a forged sender.
func (s *Server) refuseRESTSender(w http.ResponseWriter, remote, event, prefix string) {
	total := s.stats.forgedSenders.Add(1)
	if suppressed, ok := s.forgedLog.Allow(s.cfg.Now()); ok {
		s.log.Warn("hub: refusing REST broadcast whose fromPeerId is not a room member of the requesting client", "remote", remote,
			"event", event, "suppressed", suppressed, "forged_total", total)
	}
	s.restError(w, http.StatusForbidden, prefix+restSenderEventError)
}

// restSenderEventError is the reason given for a refusal by restSenderHeld.
const restSenderEventError = "fromPeerId of a webrtc-signal, state-request or state-response must be the presence key of this client's socket in the room"

// textSenderForged reports whether a text broadcast's {"type","event","payload"} is one of
// senderEvents whose fromPeerId is not mem's presence key, and returns its event when it read it.
func textSenderForged(mem *member, raw []byte) (event string, forged bool) {
	return textEventChecked(mem, raw, senderEvents[:])
}

// textEventChecked is textSenderForged reading the event name of a broadcast that textMayName
// says may be one of events (which hold senderEvents): event is "" when it was not read.
func textEventChecked(mem *member, raw []byte, events [][]byte) (event string, forged bool) {
	if !textMayName(raw, events) {
		return "", false
	}
	envelope, err := jsonkeys.ParseValid(raw, envelopeMembers) // the wire decoder validated it
	if err != nil {
		return "", false
	}
	eventValue, _ := envelope.Value("event")
	name, ok := jsonkeys.String(eventValue) // one allocation, for a broadcast the scan let through only
	if !ok {
		return "", false
	}
	if !namesSender(name) {
		return name, false
	}
	// The payload's bytes were checked with the envelope: read its sender without a second pass.
	payload, err := envelope.Sub("payload", senderMembers)
	if err != nil {
		return name, false // not an object: receivers refuse it whole
	}
	from, ok := payload.Value("fromPeerId")
	return name, ok && !jsonkeys.StringIs(from, mem.presenceKey)
}

// dropForged counts and logs (at most once a second per server) a broadcast dropped because its
// fromPeerId is not the sending channel's presence key, and answers an ack-requesting push with
// an error.
func (c *conn) dropForged(mem *member, event string, joinRef, ref wire.Ref, topic string) {
	total := c.s.stats.forgedSenders.Add(1)
	if suppressed, ok := c.s.forgedLog.Allow(c.s.cfg.Now()); ok {
		c.s.log.Warn("hub: dropping broadcast whose fromPeerId is not the sender's presence key", "remote", c.remote,
			"topic", topic, "event", event, "presence_key", mem.presenceKey, "suppressed", suppressed, "forged_total", total)
	}
	if mem.ack && ref.Valid {
		c.reply(joinRef, ref, topic, errorReply("fromPeerId must be the channel's presence key"))
	}
}

// holderProbeTimeout bounds the wait for a pong from a socket holding a presence key that another
// socket joins with (holderAnswers): a live browser answers a ping within a round trip, and
// supabase-js waits 10 s for its join's reply. It is what a reconnect whose old socket went
// silent waits before its join is answered.
const holderProbeTimeout = 3 * time.Second

// holderAnswers reports whether holder's socket answers a WebSocket ping within
// holderProbeTimeout. It is called with no lock held, on the reader of joiner, the socket whose
// join waits for the answer. A holder whose own reader is blocked the same way cannot read a pong
// meanwhile: it is taken as alive (it is joining a room) rather than pinged.
func holderAnswers(s *Server, joiner *conn, holder *member) bool {
	hc := holder.c
	if hc.ending() {
		return false
	}
	if hc.probing.Load() || hc.ws == nil { // ws is nil only for the fuzz target's socketless conns
		return true
	}
	joiner.probing.Store(true)
	defer joiner.probing.Store(false)
	// The ping ends with the holder's socket, or the joiner's (a shutdown closes both).
	ctx, cancel := context.WithTimeout(hc.ctx, holderProbeTimeout)
	defer cancel()
	if joiner.ctx != nil {
		defer context.AfterFunc(joiner.ctx, cancel)()
	}
	err := hc.ws.Ping(ctx)
	if err != nil {
		s.log.Info("hub: a socket holding a presence key another socket joins with did not answer a ping; replacing it",
			"remote", hc.remote, "new_remote", joiner.remote, "presence_key", holder.presenceKey, "err", err)
	}
	return err == nil
}
