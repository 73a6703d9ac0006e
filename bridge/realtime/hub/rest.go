package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ledbridge/ledbridge/bridge/clientaddr"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// batchBroadcast is the body of POST /realtime/v1/api/broadcast.
type batchBroadcast struct {
	Messages []struct {
		Topic   string          `json:"topic"`
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	} `json:"messages"`
}

// restBodyTimeout bounds reading a REST broadcast's body.
const restBodyTimeout = 5 * time.Second

// MaxBroadcastBatch bounds the messages of one batch REST broadcast. Each message fans out to a
// whole room, so a batch is also counted against the sender's message rate (see admitREST);
// supabase-js sends one message per batch.
const MaxBroadcastBatch = 100

// serveBroadcastAPI implements the REST broadcast endpoints supabase-js uses: the batch
// POST /realtime/v1/api/broadcast (delivered as JSON text broadcasts) and
// POST /realtime/v1/api/broadcast/{topic}/events/{event} (channel.httpSend; delivered like a kind-3
// push). Both answer 202 Accepted, whether or not the room exists. Bodies must be UTF-8 (JSON
// ones, which are relayed in text frames); a request is refused whole, never delivered in part.
// A browser request is refused unless its Origin passes Config.AllowedOrigins (403), and any
// request unless its Content-Type is one a browser must preflight (415, see jsonMediaType). For
// an Origin that passes, the browser's CORS preflight is approved and every answer carries
// Access-Control-Allow-Origin (answerPreflight), so that supabase-js in a page can send here.
func (s *Server) serveBroadcastAPI(w http.ResponseWriter, r *http.Request) {
	// Whether the answer allows a page to read it depends on Origin: caches must key on it.
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") == http.MethodPost &&
		s.originAllowed(r) {
		answerPreflight(w, origin)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.restError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !s.originAllowed(r) {
		s.restError(w, http.StatusForbidden, "Origin not allowed")
		s.logRESTLimit("hub: REST request refused: Origin not allowed", "remote", r.RemoteAddr, "origin", origin)
		return
	}
	if origin != "" {
		// Refusals too: supabase-js tells its caller the status, which the page can read only so.
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
	if msg := s.keyProblem(r); msg != "" {
		s.restError(w, http.StatusUnauthorized, msg)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, BroadcastAPIPath)
	batch := rest == "" || rest == "/"
	mediaType, ok := restMediaType(r.Header.Get("Content-Type"), batch)
	if !ok {
		s.restError(w, http.StatusUnsupportedMediaType, restMediaTypeError(batch))
		s.logRESTLimit("hub: REST request refused: Content-Type not accepted", "remote", r.RemoteAddr,
			"content_type", r.Header.Get("Content-Type"), "origin", r.Header.Get("Origin"))
		return
	}
	remote := s.clientKey(r)
	// Bodies are read whole (up to MaxFrameBytes each) before they can be judged: restInFlight
	// bounds how many are being read and delivered at once, in all and from one client.
	if why := s.restSlots.acquire(remote); why != "" {
		// Closing the connection after the answer spares net/http waiting for the unread body
		// (to keep the connection alive) before it answers.
		w.Header().Set("Connection", "close")
		s.restError(w, http.StatusTooManyRequests, why)
		s.logRESTLimit("hub: REST request refused: too many at once", "remote", remote, "reason", why,
			"limit", restMaxInFlight, "limit_per_address", restMaxInFlightPerAddress)
		return
	}
	defer s.restSlots.release(remote)
	// A client trickling its body must not hold a goroutine (and shutdown) for long.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.restBody))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxFrameBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.restError(w, http.StatusRequestEntityTooLarge, "payload_size_exceeded")
			return
		}
		s.restError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	if batch {
		s.batchBroadcast(w, remote, body)
		return
	}
	// /{topic}/events/{event}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] != "events" || parts[2] == "" {
		s.restError(w, http.StatusNotFound, "not found")
		return
	}
	enc := wire.EncodingBinary
	if mediaType == jsonMediaType {
		if !utf8.Valid(body) {
			// json.Valid accepts it, but vsn 1.0.0 sockets would get it in a text frame.
			s.restError(w, http.StatusBadRequest, "body is not valid UTF-8")
			return
		}
		if !json.Valid(body) {
			s.restError(w, http.StatusBadRequest, "body is not valid JSON")
			return
		}
		enc = wire.EncodingJSON
	}
	topic := topicPrefix + parts[0]
	if len(topic) > maxTopicBytes || len(parts[2]) > 255 {
		s.restError(w, http.StatusBadRequest, "topic or event longer than 255 bytes")
		return
	}
	if !utf8.ValidString(topic) || !utf8.ValidString(parts[2]) {
		s.restError(w, http.StatusBadRequest, "topic or event is not valid UTF-8")
		return
	}
	if namesSender(parts[2]) && !s.restSenderHeld(topic, body, remote) {
		s.refuseRESTSender(w, remote, parts[2], "")
		return
	}
	if gate := gateOf(parts[2]); gate != anyMember {
		if verdict := s.restGate(topic, gate, remote); verdict != relayed {
			s.refuseRESTGated(w, remote, parts[2], gate, verdict, "")
			return
		}
	}
	if !s.admitREST(w, remote, 1, int64(len(body))) {
		return
	}
	f := userBroadcastFanout(topic, parts[2], enc, body)
	s.deliver(topic, &f)
	w.WriteHeader(http.StatusAccepted)
}

// The media types the REST endpoints take. Neither is one a web page can send without a CORS
// preflight (only text/plain, application/x-www-form-urlencoded and multipart/form-data are, and
// a body with no type), and the hub approves a preflight only from an Origin that
// Config.AllowedOrigins admits (which, when empty, admits every page, as the WebSocket upgrade
// does): a page a musician happens to open cannot push broadcasts into a room by a no-cors fetch
// or a form POST. supabase-js's httpSend and its batch fallback send application/json (httpSend
// application/octet-stream for a binary payload), with the key in the apikey header.
const (
	jsonMediaType   = "application/json"
	binaryMediaType = "application/octet-stream"
)

// corsAllowHeaders are the request headers supabase-js sends the REST endpoints from a page,
// which its preflight asks to be approved: apikey, Authorization and Content-Type from httpSend
// and send's fallback, X-Client-Info when the app's client sets it, and the W3C trace headers
// when its tracePropagation option is on (@supabase/supabase-js/cors lists the same).
const corsAllowHeaders = "apikey, authorization, content-type, x-client-info, traceparent, tracestate, baggage"

// corsMaxAge is how long a browser may reuse an approved preflight (seconds). Short, because an
// operator may take an origin off AllowedOrigins; each POST's own answer is judged afresh anyway.
const corsMaxAge = "600"

// answerPreflight approves a CORS preflight for a POST from origin (one AllowedOrigins admits).
// No credentials are involved (supabase-js sends the key in a header, not a cookie), so
// Access-Control-Allow-Credentials is not sent.
func answerPreflight(w http.ResponseWriter, origin string) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", http.MethodPost)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// restMediaType parses a REST request's Content-Type and reports whether the endpoint takes it:
// application/json for the batch endpoint, that or application/octet-stream for a single event.
func restMediaType(contentType string, batch bool) (string, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	return mt, mt == jsonMediaType || (!batch && mt == binaryMediaType)
}

func restMediaTypeError(batch bool) string {
	if batch {
		return "Content-Type must be " + jsonMediaType
	}
	return "Content-Type must be " + jsonMediaType + " or " + binaryMediaType
}

func (s *Server) batchBroadcast(w http.ResponseWriter, remote string, body []byte) {
	if !utf8.Valid(body) {
		// encoding/json replaces invalid bytes in strings but keeps them in raw payloads.
		s.restError(w, http.StatusBadRequest, "body is not valid UTF-8")
		return
	}
	var req batchBroadcast
	if err := json.Unmarshal(body, &req); err != nil {
		s.restError(w, http.StatusBadRequest, "body must be {\"messages\":[{\"topic\",\"event\",\"payload\"}]}: "+err.Error())
		return
	}
	if len(req.Messages) > MaxBroadcastBatch {
		s.restError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("too many messages in one request: %d (limit %d)", len(req.Messages), MaxBroadcastBatch))
		s.logRESTLimit("hub: REST batch over its message cap", "remote", remote, "messages", len(req.Messages), "limit", MaxBroadcastBatch)
		return
	}
	for i, msg := range req.Messages {
		if msg.Topic == "" || msg.Event == "" {
			s.restError(w, http.StatusBadRequest, "messages["+strconv.Itoa(i)+"]: topic and event are required")
			return
		}
		if len(msg.Payload) == 0 || msg.Payload[0] != '{' {
			s.restError(w, http.StatusBadRequest, "messages["+strconv.Itoa(i)+"]: payload must be a JSON object")
			return
		}
		if namesSender(msg.Event) && !s.restSenderHeld(topicPrefix+msg.Topic, msg.Payload, remote) {
			s.refuseRESTSender(w, remote, msg.Event, "messages["+strconv.Itoa(i)+"]: ")
			return
		}
		gate := gateOf(msg.Event)
		if verdict := s.restGate(topicPrefix+msg.Topic, gate, remote); verdict != relayed {
			s.refuseRESTGated(w, remote, msg.Event, gate, verdict, "messages["+strconv.Itoa(i)+"]: ")
			return
		}
	}
	if !s.admitREST(w, remote, len(req.Messages), int64(len(body))) {
		return
	}
	for _, msg := range req.Messages {
		payload := make([]byte, 0, len(msg.Payload)+len(msg.Event)+48)
		payload = append(payload, `{"type":"broadcast","event":`...)
		payload = appendJSONString(payload, msg.Event)
		payload = append(payload, `,"payload":`...)
		payload = append(payload, msg.Payload...)
		payload = append(payload, '}')
		topic := topicPrefix + msg.Topic
		f := pushFanout(topic, "broadcast", payload)
		s.deliver(topic, &f)
	}
	w.WriteHeader(http.StatusAccepted)
}

// deliver sends f to every member of the room for topic, if the room exists.
func (s *Server) deliver(topic string, f *fanout) {
	s.mu.Lock()
	r := s.rooms[topic]
	s.mu.Unlock()
	if r == nil {
		f.release()
		return
	}
	s.stats.broadcasts.Add(1)
	r.broadcast(nil, f, anyMember)
}

func (s *Server) restError(w http.ResponseWriter, status int, msg string) {
	s.stats.restRefused.Add(1)
	s.log.Debug("hub: REST broadcast refused", "status", status, "err", msg)
	writeJSONError(w, status, msg)
}

// logRESTLimit logs a REST limit hit at most once a second per server: every request is a new
// chance for a hostile client to hit a limit, and the log must not become the amplifier.
func (s *Server) logRESTLimit(msg string, args ...any) {
	if _, ok := s.restLimitLog.Allow(s.cfg.Now()); ok {
		s.log.Info(msg, append(args, "rest_refused_total", s.stats.restRefused.Load())...)
	}
}

// restMaxInFlight bounds the REST broadcast requests being served at once, and
// restMaxInFlightPerAddress those from one client (clientaddr.Key); one more is answered 429
// before its body is read. Each may hold a MaxFrameBytes body (16 × 260 KiB ≈ 4 MiB by default)
// and fans out to a whole room. supabase-js sends one at a time, as a fallback; the per-address
// bound keeps one host trickling bodies from holding every slot.
const (
	restMaxInFlight           = 16
	restMaxInFlightPerAddress = 4
)

// restInFlight counts the REST requests being served, in all and per client.
type restInFlight struct {
	mu       sync.Mutex
	requests clientaddr.Tally // guarded by mu
}

// acquire takes a slot for client, or returns why there is none.
func (f *restInFlight) acquire(client string) (refusal string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.requests.Of(client) >= restMaxInFlightPerAddress:
		return "Too many REST requests at once from this address"
	case f.requests.Total() >= restMaxInFlight:
		return "Too many REST requests at once"
	}
	f.requests.Add(client)
	return ""
}

func (f *restInFlight) release(client string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests.Remove(client)
}

// admitREST counts a REST request of msgs messages and n body bytes from remote against its
// client's budgets (addressBudgets: one socket's message and byte budgets), or answers 429 and returns false when it would exceed one: without
// it one POST could fan out any number of messages to a room and evict every member as a slow
// client. A refused request consumes nothing.
func (s *Server) admitREST(w http.ResponseWriter, remote string, msgs int, n int64) bool {
	overMsgs, overBytes, found := s.addrs.charge(s.cfg.Now(), remote, msgs, n)
	if !found {
		s.stats.rateLimited.Add(uint64(msgs))
		s.restError(w, http.StatusTooManyRequests, "Too many REST clients at once")
		s.logRESTLimit("hub: too many REST clients at once", "remote", remote, "limit", s.cfg.MaxConnections)
		return false
	}
	if !overMsgs && !overBytes {
		return true
	}
	s.stats.rateLimited.Add(uint64(msgs))
	msg := "Too many messages per second"
	if !overMsgs {
		msg = "Too many bytes per second"
	}
	s.restError(w, http.StatusTooManyRequests, msg)
	s.logRESTLimit("hub: REST client over rate limit", "remote", remote, "reason", msg, "messages_limit", s.cfg.MaxMessagesPerSecond, "bytes_limit", s.cfg.MaxBytesPerSecond)
	return false
}
