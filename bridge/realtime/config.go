package realtime

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clock"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// Defaults, from supabase-js 2.119.1 (RealtimeClient.ts, constants.ts, phoenix socket.js) and the
// Realtime server's limits (presence_handler.ex).
const (
	DefaultHeartbeatInterval = 25 * time.Second
	DefaultPushTimeout       = 10 * time.Second
	DefaultLeaveTimeout      = time.Second
	DefaultEventQueue        = 256
	DefaultReconnectJitter   = 0.2
	DefaultPresenceMaxCalls  = 5
	DefaultPresenceWindow    = 30 * time.Second
	DefaultMaxPresenceKeys   = 1024
	DefaultMaxMetasPerKey    = 32
	DefaultMaxMetaBytes      = 16 << 10
	DefaultMaxPresenceBytes  = 4 << 20
	DefaultClientVersion     = "ledbridge/dev"
	// MaxFrameSize is the largest frame the client reads (1 MiB); larger frames are discarded
	// unread and counted. Frames over 16× this close the socket (the library's read limit).
	MaxFrameSize = wire.MaxFrameSize
)

// DefaultEventQueueBytes (8 MiB) bounds the bytes the Events queue holds: 256 events of up to a
// frame (1 MiB) each could otherwise pin 256 MiB on a small board while the consumer stalls. It
// still holds 30 of the largest led-updates (256 KiB each) and thousands of ordinary events.
const DefaultEventQueueBytes = 8 << 20

// presenceWindowMargin widens the presence rate window: the server counts calls when they arrive,
// and network jitter can bring two pushes sent a full window apart closer together.
const presenceWindowMargin = time.Second

// DefaultReconnectBackoff is the socket reconnect schedule (RealtimeClient.ts: 1, 2, 5, 10 s, then 10 s).
var DefaultReconnectBackoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}

// DefaultRejoinBackoff is the channel rejoin schedule after a join error, join timeout, phx_error
// or phx_close (phoenix channel rejoinAfterMs: 1, 2, 5 s, then 10 s).
var DefaultRejoinBackoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}

// DefaultRefusedJoinBackoff is the wait between joins the server refuses for a reason that
// retrying cannot fix soon (Config.RefusedJoinBackoff).
const DefaultRefusedJoinBackoff = time.Minute

// Config configures a Client. Zero fields mean defaults; URL, APIKey and Channel are required.
type Config struct {
	// URL is the Supabase (or ledbridge hub) base URL, e.g. https://<ref>.supabase.co or
	// http://192.168.1.10:8787. http becomes ws and https wss; /realtime/v1/websocket is appended.
	URL string
	// APIKey is the project's anon or publishable key, sent as the apikey query parameter.
	APIKey string
	// AccessToken is a user JWT for private channels; empty means the APIKey is sent as access_token.
	AccessToken string
	// Vsn is the serializer: "2.0.0" (default) or "1.0.0".
	Vsn string
	// Channel is the channel name, the room code: the topic is "realtime:"+Channel.
	Channel string
	// Private joins as a private channel (RLS on realtime.messages; needs a user AccessToken).
	Private bool
	// PresenceKey is this client's Presence key (PROTOCOL.md §2: the peerId). Empty means a random
	// "ledbridge-<hex>" key, fixed for the Client's lifetime.
	PresenceKey string
	// BroadcastSelf asks the server to echo our own broadcasts back (join config broadcast.self).
	BroadcastSelf bool
	// BroadcastAck asks the server to acknowledge each broadcast; Broadcast then waits for the ack.
	BroadcastAck bool
	// BroadcastText sends broadcasts as JSON text frames on vsn 2.0.0 instead of binary kind-3
	// frames (vsn 1.0.0 always uses text).
	BroadcastText bool
	// ClientVersion is the join payload's "version", e.g. "ledbridge/1.2.0".
	ClientVersion string

	// HeartbeatInterval is the heartbeat period (25 s); an unanswered heartbeat closes the socket.
	HeartbeatInterval time.Duration
	// PushTimeout bounds waiting for a join, track or ack reply, and the dial (10 s).
	PushTimeout time.Duration
	// LeaveTimeout bounds waiting for the leave reply on shutdown (1 s).
	LeaveTimeout time.Duration
	// ReconnectBackoff is the socket reconnect schedule; the last value repeats. It starts again
	// from the first value only after a socket whose channel join lasted HeartbeatInterval: a
	// server that drops each socket right after the join is retried ever more slowly.
	ReconnectBackoff []time.Duration
	// ReconnectJitter adds up to this fraction of each reconnect delay at random (0.2); negative
	// disables jitter.
	ReconnectJitter float64
	// RejoinBackoff is the channel rejoin schedule; the last value repeats. It starts again from
	// the first value only after a join that lasted HeartbeatInterval: a server that shuts the
	// channel down right after each join (a project over its message rate) is rejoined ever more
	// slowly, not every second.
	RejoinBackoff []time.Duration
	// RefusedJoinBackoff (60 s) replaces the last steps of RejoinBackoff, and of
	// ReconnectBackoff when the server closes the socket too, while the server refuses the join
	// for a reason that retrying cannot fix soon: a bad token or key, a private-only project, a
	// read policy that does not admit us, an unknown or disabled project. The first steps stay
	// (the server reports a failed policy query as Unauthorized too), and a new access token
	// (SetAccessToken) is tried at once.
	RefusedJoinBackoff time.Duration
	// PresenceMaxCalls and PresenceWindow bound track/untrack pushes (5 per 30 s, the server's limit:
	// more closes the channel). Pushes beyond it are deferred, coalesced to the latest meta. The
	// client adds 1 s to the window as a margin for network jitter. Like the server's count, the
	// window starts again on every join.
	PresenceMaxCalls int
	PresenceWindow   time.Duration
	// MaxPresenceKeys and MaxMetasPerKey bound the Presence table (1024 keys, 32 metas per key).
	MaxPresenceKeys int
	MaxMetasPerKey  int
	// MaxMetaBytes bounds one Presence meta's JSON (16 KiB; PROTOCOL.md metas are a few hundred
	// bytes) and MaxPresenceBytes the metas the table holds together (4 MiB). The counts alone
	// would let a peer, or the server, pin MaxPresenceKeys × MaxMetasPerKey metas of up to a frame
	// each. Metas beyond either bound are dropped and counted in Stats.PresenceOverflow. The
	// presence_diffs held between a join and its presence_state (at most 64) are bounded by
	// MaxPresenceBytes of their own; beyond it they are dropped, counted, and the channel is
	// rejoined for a complete state (ErrPresenceResync).
	MaxMetaBytes     int
	MaxPresenceBytes int
	// EventQueue is the capacity of the Events channel (256) and EventQueueBytes the payload
	// bytes its events may hold together (8 MiB; at least MaxFrameSize, so that any event fits).
	// When either is full, the oldest events are dropped and counted in Stats.EventsDropped: the
	// read loop never blocks on a slow consumer, and a stalled one pins at most EventQueueBytes.
	// A Presence sync is never dropped (Events).
	EventQueue      int
	EventQueueBytes int

	// Logger receives the client's logs (default slog.Default()). Tokens and keys are never logged.
	Logger *slog.Logger
	// Clock is the time source for every timer (default: the system clock).
	Clock Clock
	// HTTPClient is used for the WebSocket handshake (default http.DefaultClient).
	HTTPClient *http.Client
	// Rand returns a number in [0,1) for reconnect jitter (default math/rand/v2).
	Rand func() float64
	// OnStatus, if set, is called after every status change, in order, from the client's goroutine.
	// It must not block or call back into the Client's blocking methods.
	OnStatus func(Status)
}

// withDefaults validates cfg and fills its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.URL == "" || cfg.APIKey == "" || cfg.Channel == "" {
		return cfg, fmt.Errorf("%w: URL, APIKey and Channel are required", ErrInvalidConfig)
	}
	if len("realtime:"+cfg.Channel) > 255 {
		return cfg, fmt.Errorf("%w: channel name longer than 246 bytes", ErrInvalidConfig)
	}
	if _, err := wire.ParseVersion(cfg.Vsn); err != nil {
		return cfg, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	if cfg.Vsn == "" {
		cfg.Vsn = "2.0.0"
	}
	if _, err := websocketURL(cfg.URL, cfg.APIKey, cfg.Vsn); err != nil {
		return cfg, err
	}
	if cfg.PresenceKey == "" {
		cfg.PresenceKey = fmt.Sprintf("ledbridge-%08x", rand.Uint32())
	}
	if cfg.ClientVersion == "" {
		cfg.ClientVersion = DefaultClientVersion
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&cfg.HeartbeatInterval, DefaultHeartbeatInterval)
	setDur(&cfg.PushTimeout, DefaultPushTimeout)
	setDur(&cfg.LeaveTimeout, DefaultLeaveTimeout)
	setDur(&cfg.PresenceWindow, DefaultPresenceWindow)
	setDur(&cfg.RefusedJoinBackoff, DefaultRefusedJoinBackoff)
	if len(cfg.ReconnectBackoff) == 0 {
		cfg.ReconnectBackoff = DefaultReconnectBackoff
	}
	if len(cfg.RejoinBackoff) == 0 {
		cfg.RejoinBackoff = DefaultRejoinBackoff
	}
	if cfg.ReconnectJitter == 0 {
		cfg.ReconnectJitter = DefaultReconnectJitter
	}
	setInt := func(n *int, def int) {
		if *n <= 0 {
			*n = def
		}
	}
	setInt(&cfg.PresenceMaxCalls, DefaultPresenceMaxCalls)
	setInt(&cfg.MaxPresenceKeys, DefaultMaxPresenceKeys)
	setInt(&cfg.MaxMetasPerKey, DefaultMaxMetasPerKey)
	setInt(&cfg.MaxMetaBytes, DefaultMaxMetaBytes)
	setInt(&cfg.MaxPresenceBytes, DefaultMaxPresenceBytes)
	setInt(&cfg.EventQueue, DefaultEventQueue)
	setInt(&cfg.EventQueueBytes, DefaultEventQueueBytes)
	if cfg.EventQueueBytes < MaxFrameSize {
		return cfg, fmt.Errorf("%w: EventQueueBytes (%d) must hold one event of up to a frame (%d bytes)", ErrInvalidConfig, cfg.EventQueueBytes, MaxFrameSize)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	return cfg, nil
}

// websocketURL builds <base>/realtime/v1/websocket?apikey=<key>&vsn=<vsn> from a base URL.
// A URL that already ends in /realtime/v1/websocket keeps its path.
func websocketURL(base, apiKey, vsn string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("%w: URL: %v", ErrInvalidConfig, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w: URL scheme %q (want http, https, ws or wss)", ErrInvalidConfig, u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w: URL has no host", ErrInvalidConfig)
	}
	const path = "/realtime/v1/websocket"
	if !strings.HasSuffix(u.Path, path) {
		u.Path = strings.TrimSuffix(u.Path, "/") + path
	}
	q := u.Query()
	q.Set("apikey", apiKey)
	q.Set("vsn", vsn)
	// apikey first, as supabase-js writes it.
	u.RawQuery = "apikey=" + url.QueryEscape(apiKey) + "&vsn=" + url.QueryEscape(vsn)
	q.Del("apikey")
	q.Del("vsn")
	if extra := q.Encode(); extra != "" {
		u.RawQuery += "&" + extra
	}
	u.Fragment = ""
	return u.String(), nil
}

// Clock is the time source for heartbeats, timeouts and backoff. Tests inject a fast one.
type Clock = clock.Clock

// Timer is the part of *time.Timer the client uses.
type Timer = clock.Timer
