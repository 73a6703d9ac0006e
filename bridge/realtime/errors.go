package realtime

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors.
var (
	// ErrNotJoined indicates a Broadcast while the channel is not joined (connecting or reconnecting).
	ErrNotJoined = errors.New("realtime: channel not joined")
	// ErrClosed indicates a call after Run has returned.
	ErrClosed = errors.New("realtime: client closed")
	// ErrAlreadyRunning indicates a second call to Run.
	ErrAlreadyRunning = errors.New("realtime: Run called twice")
	// ErrTimeout indicates a push (join, track, acknowledged broadcast) the server did not answer
	// within Config.PushTimeout.
	ErrTimeout = errors.New("realtime: no reply from server in time")
	// ErrHeartbeatTimeout indicates a heartbeat that went unanswered until the next one was due;
	// the socket is closed and reconnected.
	ErrHeartbeatTimeout = errors.New("realtime: heartbeat timeout")
	// ErrDisconnected indicates the socket closed while a push waited for its reply.
	ErrDisconnected = errors.New("realtime: disconnected")
	// ErrChannelError indicates the server reported phx_error for the channel (its process crashed).
	ErrChannelError = errors.New("realtime: channel error (phx_error)")
	// ErrChannelClosed indicates the server closed the channel (phx_close) without our leave.
	ErrChannelClosed = errors.New("realtime: channel closed by server")
	// ErrPresenceResync indicates Presence diffs that arrived before a join's presence_state and
	// were beyond the bounds (maxPendingDiffs diffs, Config.MaxPresenceBytes of them): they were
	// dropped, and the channel is rejoined for a complete presence_state.
	ErrPresenceResync = errors.New("realtime: presence diffs before presence_state over the bound; rejoining to resync")
	// ErrAccessTokenRejected matches (errors.Is) a server's refusal of the access token: a join
	// refused with "InvalidJWTToken: …" (such as "Token has expired 12 seconds ago"), or a joined
	// channel shut down with the system error "Token has expired …" when the token's exp passed.
	// Every rejoin with the same token is refused too: only a new one (SetAccessToken) helps.
	ErrAccessTokenRejected = errors.New("realtime: access token expired or rejected by the server")
	// ErrInvalidConfig indicates a Config that New refuses.
	ErrInvalidConfig = errors.New("realtime: invalid config")
	// ErrInvalidPayload indicates a Track meta or Broadcast payload that cannot be sent.
	ErrInvalidPayload = errors.New("realtime: invalid payload")
)

// ReplyError is an error reply from the server: {"status":"error","response":{"reason":…}}, e.g.
// "InvalidJWTToken: Token has expired 12 seconds ago" for a join.
type ReplyError struct {
	Op     string // "join", "track", "untrack", "broadcast"
	Reason string // the server's reason; no secrets (the server never echoes tokens)
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("realtime: %s refused by server: %s", e.Op, e.Reason)
}

// Is makes a join refused for its token match ErrAccessTokenRejected.
func (e *ReplyError) Is(target error) bool {
	return target == ErrAccessTokenRejected && e.Op == "join" && isTokenRejection(e.Reason)
}

// Code returns the Realtime error code that starts the server's reason: "PrivateOnly" for
// "PrivateOnly: This project only allows private channels"; "" if the reason has none.
func (e *ReplyError) Code() string {
	code, _, found := strings.Cut(e.Reason, ":")
	if !found || code == "" || strings.ContainsAny(code, " \t") {
		return ""
	}
	return code
}

// RateLimited reports whether the server refused e for one of the project's rate limits
// (ChannelRateLimitReached, ConnectionRateLimitReached, ClientJoinRateLimitReached, …), which
// pass by themselves.
func (e *ReplyError) RateLimited() bool { return strings.HasSuffix(e.Code(), "RateLimitReached") }

// TokenNotOfProject reports whether the server refused e's join for a token that is no JWT signed
// by the project (foreignTokenCodes): a wrong token, or the key sent in its place, not one that
// merely expired. It implies errors.Is(e, ErrAccessTokenRejected).
func (e *ReplyError) TokenNotOfProject() bool {
	return e.Op == "join" && slices.Contains(foreignTokenCodes, e.Code())
}

// lasting reports whether e is a join refusal that retrying cannot fix soon (see
// Config.RefusedJoinBackoff).
func (e *ReplyError) lasting() bool {
	return e.Op == "join" && lastingRefusalCodes[e.Code()]
}

// lastingRefusalCodes are the join refusals that only a change of configuration fixes: a bad
// token or key (tokenRefusalCodes), a project that only allows private channels, a read policy
// (RLS) that does not admit us, an unknown or disabled project (realtime_channel.ex). Rate limits
// (…RateLimitReached) and the server's passing troubles are not among them.
var lastingRefusalCodes = func() map[string]bool {
	codes := map[string]bool{"Unauthorized": true, "PrivateOnly": true, "TenantNotFound": true, "RealtimeDisabledForTenant": true}
	for _, code := range tokenRefusalCodes {
		codes[code] = true
	}
	return codes
}()

// isTokenRejection reports whether a server's reason or message is about the access token. The
// Realtime server refuses a join for its token with one of tokenRefusalCodes (realtime_channel.ex:
// expired, missing claims, not a JWT, a signature of another project), and shuts a joined channel
// down with the bare message when the token expires or a refreshed one is no better.
func isTokenRejection(reason string) bool {
	for _, code := range tokenRefusalCodes {
		if strings.HasPrefix(reason, code) {
			return true
		}
	}
	for _, msg := range tokenRefusalMessages {
		if strings.Contains(reason, msg) {
			return true
		}
	}
	return false
}

var (
	// tokenRefusalCodes: the project's token expired or short of claims (InvalidJWTToken), or
	// one of foreignTokenCodes.
	tokenRefusalCodes = append([]string{"InvalidJWTToken"}, foreignTokenCodes...)
	// foreignTokenCodes: a token that is no JWT signed by the project: not a JWT at all
	// (MalformedJWT), or signed with another secret (JwtSignatureError).
	foreignTokenCodes    = []string{"MalformedJWT", "JwtSignatureError"}
	tokenRefusalMessages = []string{"Token has expired", "Fields `role` and `exp` are required", "not a valid JWT"}
)

// lostAfterRefusal is a socket lost while the server refused its channel's join. The server
// closes the socket right after some refusals (TenantNotFound, ClientJoinRateLimitReached), and
// the refusal, not the close, says why the room is not joined. It matches both (errors.Is, As).
type lostAfterRefusal struct {
	refusal *ReplyError
	lost    error
}

func (e *lostAfterRefusal) Error() string {
	return fmt.Sprintf("realtime: socket closed after join refused: %s (%v)", e.refusal.Reason, e.lost)
}

func (e *lostAfterRefusal) Unwrap() []error { return []error{e.refusal, e.lost} }

// SystemError is a `system` message with status error, e.g. "Client presence rate limit exceeded"
// or "Too many messages per second"; the server closes the channel right after it.
type SystemError struct {
	Extension string
	Message   string
}

func (e *SystemError) Error() string {
	return fmt.Sprintf("realtime: server system error (%s): %s", e.Extension, e.Message)
}

// Is makes the shutdown of a channel whose token expired match ErrAccessTokenRejected.
func (e *SystemError) Is(target error) bool {
	return target == ErrAccessTokenRejected && isTokenRejection(e.Message)
}

// HandshakeError is a refused WebSocket upgrade. Supabase answers with an HTTP status and
// {"error": "..."}: 401 bad or expired key or token, 403 Realtime disabled, 404 tenant not found,
// 429 too many connections or joins.
type HandshakeError struct {
	StatusCode int
	Message    string // the server's error text, if it sent one
}

func (e *HandshakeError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("realtime: WebSocket upgrade refused: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("realtime: WebSocket upgrade refused: HTTP %d: %s", e.StatusCode, e.Message)
}
