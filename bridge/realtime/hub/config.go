package hub

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// Defaults for the zero fields of Config. The per-socket message rate and channel count match the
// self-hosted Supabase Realtime defaults (TENANT_MAX_EVENTS_PER_SECOND, TENANT_MAX_CHANNELS_PER_CLIENT)
// so that a room that works here also works against Supabase.
//
// DefaultMaxFrameBytes (260 KiB) holds a 256 KiB payload, which is both Supabase's free-plan
// broadcast limit (256 KB) and the largest led-update package room accepts (room.MaxLEDUpdateBytes),
// plus 4 KiB for the frame around it. The largest led-update supabase-js actually sends (4096
// {"r":255,"g":255,"b":255} colours, seq and ts) is about 107 KB as a frame (TestLargestLEDUpdate).
//
// DefaultMaxBytesPerSecond (1 MiB/s per socket, averaged) is ten times self-hosted Supabase's
// TENANT_MAX_BYTES_PER_SECOND (100 000 for a whole project), so no web app that works there is
// limited here; it keeps one member from sending the room more than a phone on venue Wi-Fi can read.
// Both rates are averages with a burst allowance (ratelimit.go), as hosted Supabase's are.
const (
	DefaultAddr                 = ":4000"
	DefaultMaxFrameBytes        = 260 << 10
	DefaultMaxConnections       = 1024
	DefaultMaxRooms             = 256
	DefaultMaxClientsPerRoom    = 64
	DefaultMaxChannelsPerClient = 100
	DefaultMaxMessagesPerSecond = 100
	DefaultMaxBytesPerSecond    = 1 << 20
	DefaultMaxPresenceBytes     = 8 << 10
	DefaultPresenceMaxCalls     = 5
	DefaultPresenceWindow       = 30 * time.Second
	DefaultOutboundQueueFrames  = 2048
	DefaultOutboundQueueBytes   = 8 << 20
	DefaultIdleTimeout          = 60 * time.Second
	DefaultWriteTimeout         = 10 * time.Second
)

// DefaultMaxConnectionsPerAddress (32 sockets per remote IP) is sized for a venue: a musician's
// phone holds one socket per open tab of the web app (a few), ledbridge itself holds one from
// loopback, and a guest Wi-Fi behind NAT can put several phones behind one address (eight phones
// with four tabs each still fit). Yet one LAN host can no longer take all DefaultMaxConnections
// sockets and lock every musician out: that now takes 32 addresses.
const DefaultMaxConnectionsPerAddress = 32

// DefaultMaxHTTPConnections (256 in all) and DefaultMaxHTTPConnectionsPerAddress (32 from one
// client) bound the plain HTTP connections Serve holds: REST broadcasts, metrics scrapes, and
// upgrade requests until their WebSocket opens (from then on the socket caps count it instead). A
// client needs few (supabase-js sends REST broadcasts only as a fallback; a browser opens at most 6
// connections to one host, and a guest Wi-Fi behind NAT puts several browsers behind one address),
// and they are the status page's caps. Idle ones are closed after httpIdleTimeout.
const (
	DefaultMaxHTTPConnections           = 256
	DefaultMaxHTTPConnectionsPerAddress = 32
)

// DefaultMaxRoomsPerAddress (4) bounds the rooms one client has started that exist at once. A jam
// is one room and the web app joins one channel per room, so a musician starts at most one. Yet one LAN host can no longer hold all MaxRooms
// rooms and keep every other jam from starting: that now takes MaxRooms/4 addresses.
const DefaultMaxRoomsPerAddress = 4

// Path is where supabase-js connects: new URL('realtime/v1', supabaseUrl) plus Phoenix's
// "/websocket". SupabasePath is the Realtime server's own endpoint, for clients that talk to it
// without the API gateway.
const (
	Path         = "/realtime/v1/websocket"
	SupabasePath = "/socket/websocket"
	// BroadcastAPIPath is the REST batch broadcast endpoint supabase-js falls back to when it sends
	// on a channel it has not joined.
	BroadcastAPIPath = "/realtime/v1/api/broadcast"
)

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// Addr is the TCP address Run listens on (default ":4000"). Serve ignores it.
	Addr string
	// MaxFrameBytes bounds one WebSocket message, text or binary, and one REST broadcast body
	// (default 260 KiB; at most 1 MiB, the wire decoders' limit: larger values are lowered to the
	// default). A larger message closes the socket with status 1009, as the Realtime server does
	// past its 5 MB limit.
	MaxFrameBytes int64
	// MaxConnections bounds the open sockets on the server (default 1024); past it the upgrade is
	// refused with HTTP 429.
	MaxConnections int
	// MaxConnectionsPerAddress bounds the open sockets from one client (default 32): one IPv4
	// address or one IPv6 address on the machine's own links, or one IPv6 /64 beyond them, since
	// such a host can give itself any number of addresses in its prefix (clientaddr.Key). So one
	// host cannot hold all MaxConnections sockets; past it the
	// upgrade is refused with HTTP 429. Loopback is not exempt: a reverse proxy (TLS in front of
	// the hub) makes every client arrive from its address, and must then be given a larger value
	// (up to MaxConnections, which means no per-address bound) deliberately rather than by default.
	// ledbridge join's own session is a client of its own (OwnClientToken), so a proxy on its
	// machine does not share this with it. A client may open sockets at
	// most twice this many (at least 64) at once, then this many over 16 (at least 2) a second,
	// so that it cannot flood a room with Presence joins and leaves by reconnecting.
	MaxConnectionsPerAddress int
	// MaxHTTPConnections bounds the plain HTTP connections open on Serve's listener (default
	// 256): REST broadcasts, metrics scrapes, keep-alive connections between them, and upgrade
	// requests until their WebSocket opens (a WebSocket is then counted by MaxConnections and
	// MaxConnectionsPerAddress instead). MaxHTTPConnectionsPerAddress (default 32) bounds those
	// from one client (clientaddr.Key; MaxHTTPConnections or more means no per-address bound). At
	// MaxHTTPConnectionsPerAddress the client's oldest connection without a request in progress is
	// closed to admit its new one, which is closed as soon as it is accepted if there is none; at
	// MaxHTTPConnections the oldest one without a request in progress (its headers not all sent
	// yet, or a keep-alive between requests) is closed to admit it, so that hosts holding every
	// slot with bare connections cannot lock the musicians out; an idle one is closed after a
	// minute. A Handler mounted on a server of the caller's own is not bounded by them.
	MaxHTTPConnections           int
	MaxHTTPConnectionsPerAddress int
	// MaxRooms bounds the rooms (distinct topics) that exist at once (default 256).
	MaxRooms int
	// MaxRoomsPerAddress bounds the rooms started by one client (clientaddr.Key of the socket whose
	// join created the room) that exist at once (default 4), so that one host cannot hold all
	// MaxRooms: a room counts against its starter until it empties. Past it a join that would
	// start a room is refused ("ChannelRateLimitReached: Too many rooms started from this
	// address"); a join to a room that exists is not. Behind a reverse proxy every client shares
	// its address: raise it there (up to MaxRooms, which means no per-address bound).
	MaxRoomsPerAddress int
	// MaxClientsPerRoom bounds the channels joined to one room (default 64).
	MaxClientsPerRoom int
	// MaxClientsPerRoomPerAddress bounds the channels one client (clientaddr.Key) has joined to
	// one room, so that one host (a dual-stack laptop has two addresses and
	// MaxConnectionsPerAddress sockets on each) cannot fill MaxClientsPerRoom and keep the
	// musicians out; past it the join is refused ("RoomFull: Too many clients from this address
	// in this room"). A socket replacing its own client's channel (the same presence key) takes
	// that channel's seat. Zero (or MaxClientsPerRoom or more) means no per-address bound: tests
	// and programs run many members from one loopback address. ledbridge sets 8
	// (hub.max_clients_per_room_per_address): a phone joins once per open tab of the web app, and
	// a guest Wi-Fi behind NAT puts a few phones behind one address. Behind a reverse proxy every
	// client shares its address: raise it there.
	MaxClientsPerRoomPerAddress int
	// MaxChannelsPerClient bounds the channels one socket may join (default 100).
	MaxChannelsPerClient int
	// MaxMessagesPerSecond bounds the frames one socket may send per second, averaged (default
	// 100): hosted Supabase's limit is a rolling average too, so a burst passes. The budget is a
	// token bucket refilled at this rate and holding ten seconds of it, or a quarter of
	// OutboundQueueFrames if that is less (a burst reaches every member's queue at once), but at
	// least one second of it: with the defaults, a socket that was quiet may send 512 frames at
	// once, and at twice the rate is shut down after about five seconds. Once the budget is spent,
	// every channel of the socket gets a `system` error ("Too many messages per second") and
	// phx_close, and its frames are dropped until it has earned a second's worth back. A
	// client's sockets (clientaddr.Key) and REST broadcast messages together send at most one
	// socket's budget too, shared fairly (see MaxBytesPerSecond; a REST request past it is refused
	// with HTTP 429). Heartbeats (of at most 128 bytes, as clients send them)
	// count against neither this nor MaxBytesPerSecond and are answered past them, as the Realtime
	// server answers them outside its channels; more than ten times this many a second (beyond a
	// second's worth) close the socket. MaxMessagesPerSecond < 0 disables the limit.
	MaxMessagesPerSecond int
	// MaxBytesPerSecond bounds the bytes one socket may send per second, averaged (default 1 MiB;
	// it must hold at least one MaxFrameBytes frame). It is enforced like MaxMessagesPerSecond,
	// with a burst of ten seconds of it or a quarter of OutboundQueueBytes if that is less (2 MiB
	// with the defaults), but at least one second of it: once that is spent every channel of the
	// socket gets a `system` error ("Too many bytes per second") and phx_close, its frames are
	// dropped until it has earned a second's worth back, and a socket that keeps sending ten times
	// the rate meanwhile is closed. Every member receives what one member sends, so this is what
	// keeps a member sending large broadcasts from evicting the slower readers as slow clients.
	// MaxBytesPerSecond < 0 disables the limit. A client's sockets (clientaddr.Key) and its REST
	// broadcasts' bodies together burst and send at most one socket's budgets (times MaxConnectionsPerAddress over the default, when it
	// is larger), or eight sockets of one host would burst eight times a member's share of a queue:
	// each socket has an equal share of half of them that no other socket can spend, and borrows
	// beyond it from the other half, which any of them may spend. A socket alone keeps one
	// socket's budgets, and a light socket beside a heavy one keeps its share. A new socket starts
	// with a small share (enough to join, track and ask for state) that fills within seconds, so
	// that reconnecting in a loop brings no fresh burst.
	MaxBytesPerSecond int64
	// MaxPresenceBytes bounds one tracked Presence payload (default 8 KiB); a larger track gets the
	// Realtime server's "Track message size exceeded" shutdown.
	MaxPresenceBytes int
	// PresenceMaxCalls bounds the track/untrack calls of one channel per PresenceWindow (default 5
	// per 30 s, CLIENT_PRESENCE_MAX_CALLS and _WINDOW_MS on the Realtime server); one more gets the
	// server's "Client presence rate limit exceeded" system error and phx_close. Each call fans out
	// to the whole room, so this is what keeps one client from flooding it with diffs. The window
	// is the socket's, per topic, and survives leaving and rejoining the topic (unlike on the
	// Realtime server, whose window is the channel process's: there, a join rate limit bounds the
	// rejoins; here, the window does, and the first track of each join, a rejoin's re-track, is not
	// counted up to PresenceMaxCalls times a window; a new socket's fresh windows are bounded by how
	// fast a client may open sockets, see MaxConnectionsPerAddress). A socket keeps windows for at most MaxChannelsPerClient
	// topics: a call on one more topic while that many windows are running is refused the same way.
	// PresenceMaxCalls < 0 disables the limit.
	PresenceMaxCalls int
	PresenceWindow   time.Duration
	// OutboundQueueFrames bounds the frames waiting to be written to one socket (default 2048). A
	// socket whose queue is full is dropped, so one slow client never delays the others. A
	// quarter of it bounds the burst of messages one member may send at once (see
	// MaxMessagesPerSecond), since the burst reaches every member's queue; the default lets
	// through 512 at 100 a second.
	OutboundQueueFrames int
	// OutboundQueueBytes bounds the bytes waiting to be written to one socket (default 8 MiB;
	// frames shared by a fan-out count for every recipient). Past it the socket is dropped, like a
	// full queue: together with OutboundQueueFrames this bounds the memory a slow client can pin.
	OutboundQueueBytes int64
	// IdleTimeout closes a socket that sent nothing for this long (default 60 s, Phoenix's own
	// websocket timeout; supabase-js heartbeats every 25 s).
	IdleTimeout time.Duration
	// WriteTimeout drops a socket whose pending write has not completed for this long (default 10 s).
	WriteTimeout time.Duration
	// Secret, when set, is a shared key: a socket must present it as its apikey (the supabase-js
	// key, sent as the apikey query parameter or an x-api-key header) or it is refused with HTTP 401.
	Secret string
	// OwnClientToken, when set, marks the requests of the program running the hub (ledbridge
	// join's own session): a WebSocket upgrade or REST request carrying it in the OwnClientHeader
	// header counts as a client of its own, not as its address. ledbridge dials its hub from
	// 127.0.0.1 or the address the hub listens on, where a reverse proxy, browser tabs or other
	// programs on the same machine would share its per-address caps and budgets and could spend
	// them (review 317). Make it long and random, and never show it to anyone.
	OwnClientToken string
	// AllowedOrigins lists the browser origins allowed to connect, as coder/websocket
	// OriginPatterns (path.Match patterns on the origin host, or on "scheme://host" when the
	// pattern has a scheme; CheckOriginPattern says which it takes). Empty means any origin: musicians' pages are served from elsewhere.
	// When set, an Origin naming the Host the request was sent to passes only if that Host is a
	// LAN name (an IP literal, localhost, a single-label name, or under .local, .lan, .home.arpa or
	// .internal), so that a page rebinding its own domain to the Pi (DNS rebinding) does not pass.
	// It applies to the REST broadcast endpoints too: a browser request from another origin is
	// refused with 403, while an origin it admits (every origin, when empty) has its CORS
	// preflight approved and may read the answers, so that supabase-js's httpSend and send's REST
	// fallback work from its pages. Those endpoints take only JSON (or octet-stream) bodies, which
	// no web page can send without that preflight.
	AllowedOrigins []string
	// Metrics, when set, gets the server's ledbridge_hub_* series (connections, rooms, traffic,
	// drops, refusals by reason), read from Stats at scrape time. New registers them; registering
	// two servers' series in one registry fails.
	Metrics prometheus.Registerer
	// MetricsPath, when set (`ledbridge hub` uses "/metrics"), makes Handler answer GET on it with
	// every series in Metrics, in the Prometheus text format: Metrics must then also be a
	// prometheus.Gatherer (a *prometheus.Registry is both), and what else is in it is the
	// caller's choice. A scrape needs no key (the series are counts, never a secret or an
	// address), but a browser Origin outside AllowedOrigins is refused with 403, as at upgrade.
	// Empty (the default) serves nothing there: a program with a metrics page of its own (`join`
	// and its status page) serves the hub's series itself.
	MetricsPath string
	// Logger receives connection-level events (default: discard).
	Logger *slog.Logger
	// Now is the clock for the rate budgets and windows (default time.Now).
	Now func() time.Time
}

// Errors returned by New and the serving methods.
var (
	// ErrInvalidConfig indicates a Config field with an impossible value.
	ErrInvalidConfig = errors.New("hub: invalid configuration")
	// ErrServerClosed indicates Serve or Run called on a Server that has been closed.
	ErrServerClosed = errors.New("hub: server closed")
)

func (c Config) withDefaults() (Config, error) {
	setInt := func(v *int, def int, name string) error {
		if *v < 0 {
			return fmt.Errorf("%w: %s must not be negative (got %d)", ErrInvalidConfig, name, *v)
		}
		if *v == 0 {
			*v = def
		}
		return nil
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxFrameBytes < 0 {
		return c, fmt.Errorf("%w: MaxFrameBytes must not be negative (got %d)", ErrInvalidConfig, c.MaxFrameBytes)
	}
	if c.MaxFrameBytes == 0 || c.MaxFrameBytes > wire.MaxFrameSize {
		// The wire decoders refuse frames over wire.MaxFrameSize (1 MiB) anyway.
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	for _, f := range []struct {
		v    *int
		def  int
		name string
	}{
		{&c.MaxConnections, DefaultMaxConnections, "MaxConnections"},
		{&c.MaxConnectionsPerAddress, DefaultMaxConnectionsPerAddress, "MaxConnectionsPerAddress"},
		{&c.MaxHTTPConnections, DefaultMaxHTTPConnections, "MaxHTTPConnections"},
		{&c.MaxHTTPConnectionsPerAddress, DefaultMaxHTTPConnectionsPerAddress, "MaxHTTPConnectionsPerAddress"},
		{&c.MaxRooms, DefaultMaxRooms, "MaxRooms"},
		{&c.MaxRoomsPerAddress, DefaultMaxRoomsPerAddress, "MaxRoomsPerAddress"},
		{&c.MaxClientsPerRoom, DefaultMaxClientsPerRoom, "MaxClientsPerRoom"},
		{&c.MaxChannelsPerClient, DefaultMaxChannelsPerClient, "MaxChannelsPerClient"},
		{&c.MaxPresenceBytes, DefaultMaxPresenceBytes, "MaxPresenceBytes"},
		{&c.OutboundQueueFrames, DefaultOutboundQueueFrames, "OutboundQueueFrames"},
	} {
		if err := setInt(f.v, f.def, f.name); err != nil {
			return c, err
		}
	}
	// No per-address bound by default: the room's own.
	if err := setInt(&c.MaxClientsPerRoomPerAddress, c.MaxClientsPerRoom, "MaxClientsPerRoomPerAddress"); err != nil {
		return c, err
	}
	if c.OutboundQueueBytes < 0 {
		return c, fmt.Errorf("%w: OutboundQueueBytes must not be negative (got %d)", ErrInvalidConfig, c.OutboundQueueBytes)
	}
	if c.OutboundQueueBytes == 0 {
		c.OutboundQueueBytes = DefaultOutboundQueueBytes
	}
	if c.OutboundQueueBytes < c.MaxFrameBytes {
		return c, fmt.Errorf("%w: OutboundQueueBytes (%d) must hold at least one frame of MaxFrameBytes (%d)", ErrInvalidConfig, c.OutboundQueueBytes, c.MaxFrameBytes)
	}
	if c.PresenceMaxCalls == 0 {
		c.PresenceMaxCalls = DefaultPresenceMaxCalls
	}
	if c.PresenceWindow < 0 {
		return c, fmt.Errorf("%w: PresenceWindow must not be negative", ErrInvalidConfig)
	}
	if c.PresenceWindow == 0 {
		c.PresenceWindow = DefaultPresenceWindow
	}
	if c.MaxMessagesPerSecond == 0 {
		c.MaxMessagesPerSecond = DefaultMaxMessagesPerSecond
	}
	if c.MaxBytesPerSecond == 0 {
		c.MaxBytesPerSecond = DefaultMaxBytesPerSecond
	}
	if c.MaxBytesPerSecond > 0 && c.MaxBytesPerSecond < c.MaxFrameBytes {
		return c, fmt.Errorf("%w: MaxBytesPerSecond (%d) must allow at least one frame of MaxFrameBytes (%d) per second", ErrInvalidConfig, c.MaxBytesPerSecond, c.MaxFrameBytes)
	}
	if c.IdleTimeout < 0 || c.WriteTimeout < 0 {
		return c, fmt.Errorf("%w: timeouts must not be negative", ErrInvalidConfig)
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if err := c.checkMetricsPath(); err != nil {
		return c, err
	}
	for _, p := range c.AllowedOrigins {
		if err := CheckOriginPattern(p); err != nil {
			return c, fmt.Errorf("%w: AllowedOrigins %v", ErrInvalidConfig, err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// checkMetricsPath refuses a MetricsPath that Handler could not serve next to its own endpoints, or
// a Metrics it could not gather.
func (c Config) checkMetricsPath() error {
	p := c.MetricsPath
	if p == "" {
		return nil
	}
	switch {
	case p[0] != '/' || p == "/" || strings.HasSuffix(p, "/") || path.Clean(p) != p:
		return fmt.Errorf("%w: MetricsPath %q is not a clean absolute path such as /metrics", ErrInvalidConfig, p)
	case strings.ContainsAny(p, "{} \t\r\n%?#"):
		// ServeMux would read braces as a wildcard; the rest cannot be part of a plain request path.
		return fmt.Errorf("%w: MetricsPath %q holds a character a plain path cannot", ErrInvalidConfig, p)
	case p == Path || p == SupabasePath || p == BroadcastAPIPath || strings.HasPrefix(p, BroadcastAPIPath+"/"):
		return fmt.Errorf("%w: MetricsPath %q is one of the room server's own endpoints", ErrInvalidConfig, p)
	}
	if _, ok := c.Metrics.(prometheus.Gatherer); !ok {
		return fmt.Errorf("%w: MetricsPath needs Metrics to be a prometheus.Gatherer too (a *prometheus.Registry), got %T", ErrInvalidConfig, c.Metrics)
	}
	return nil
}

// CheckOriginPattern reports whether p can be one of Config.AllowedOrigins: a pattern
// originAllowed can match against a browser's Origin, "[scheme://]host[:port]", where host is a
// DNS name or an IPv4 address (any case) in which '*' stands for any run of characters
// ("*.example.org", "jam-*.vercel.app", "192.168.1.*", "*") and port is a number or '*'.
// path.Match would take more ("[jam.example.org]" is a character class, "jam.example.org/" a
// path) and match no origin, so that the room server answered every musician's page 403.
func CheckOriginPattern(p string) error {
	if problem := originPatternProblem(p); problem != "" {
		return fmt.Errorf("pattern %q: %s", p, problem)
	}
	return nil
}

func originPatternProblem(p string) string {
	host := p
	if scheme, rest, ok := strings.Cut(p, "://"); ok {
		if !validScheme(scheme) {
			return fmt.Sprintf("%q is not a URL scheme such as https", scheme)
		}
		host = rest
	}
	if name, port, ok := strings.Cut(host, ":"); ok {
		if n, err := strconv.Atoi(port); port != "*" && (err != nil || n < 1 || n > 65535 || port[0] == '+') {
			return fmt.Sprintf("port %q is not a number from 1 to 65535 (or *)", port)
		}
		host = name
	}
	if host == "" || len(host) > 253 {
		return "the host must be 1 to 253 characters"
	}
	for _, label := range strings.Split(host, ".") {
		if label == "*" {
			continue
		}
		if label == "" || len(label) > 63 {
			return "each dot-separated part of the host must be 1 to 63 characters"
		}
		for _, c := range strings.ToLower(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*') {
				return fmt.Sprintf("%q is not allowed in a host (letters, digits, '-', '_' and '*'; no path, brackets or ?)", c)
			}
		}
	}
	return ""
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then letters, digits, +, - or .).
func validScheme(s string) bool {
	for i, c := range strings.ToLower(s) {
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}
