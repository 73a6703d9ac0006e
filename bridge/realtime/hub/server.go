package hub

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/bridge/clientaddr"
	"github.com/ledbridge/ledbridge/bridge/connlimit"
	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// shutdownGrace bounds how long Close waits for sockets to finish their close handshake before it
// drops them (cancelling their context, which ends even a stuck close). The embedded server lives
// inside a daemon that must exit within 2 s of SIGTERM.
const shutdownGrace = 500 * time.Millisecond

// Serve's bounds on a plain HTTP connection (a WebSocket's connection is free of them once it has
// been upgraded). A request's header must arrive within httpReadHeaderTimeout and the whole
// request within httpReadTimeout (a REST body has restBodyTimeout from the end of its header), an
// answer must be read within httpWriteTimeout, and a keep-alive connection with no request is
// closed after httpIdleTimeout, the Phoenix idle timeout the sockets have too. A header may be
// httpMaxHeaderBytes long (net/http's default is 1 MB): an upgrade request with a JWT as its key
// is a few KiB.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = httpReadHeaderTimeout + restBodyTimeout
	httpWriteTimeout      = 30 * time.Second
	httpIdleTimeout       = 60 * time.Second
	httpMaxHeaderBytes    = 32 << 10
)

// Server is the LAN room server. Create it with New; serve it with Run, Serve, or by mounting
// Handler on an http.Server of your own (then call Close to end every connection).
type Server struct {
	cfg Config
	log *slog.Logger
	// httpLimiter is Serve's plain-HTTP connection limiter, once Serve runs (its counts, for tests).
	httpLimiter atomic.Pointer[connlimit.Listener]
	acceptOpt   *websocket.AcceptOptions
	// refPrefix makes presence phx_refs unique across server runs, so a client that reconnects to
	// a restarted server never mistakes a new meta for an old one.
	refPrefix string
	nextRef   atomic.Uint64
	stats     counters
	limits    rateLimits      // the rate budgets derived from cfg
	addrs     *addressBudgets // each client's budgets across its REST requests and sockets
	restSlots restInFlight
	// malformedLog and restLimitLog keep the malformed-frame and REST-limit log lines to one a
	// second: a hostile client must not turn the log into an amplifier. rateLimitLog,
	// presenceLimitLog and slowClientLog do the same for the lines each socket could otherwise
	// log once (per second, per topic and window, or when dropped): an attacker opens sockets.
	malformedLog, restLimitLog                    lograte.Limiter
	rateLimitLog, presenceLimitLog, slowClientLog lograte.Limiter
	// connLimitLog does the same for upgrades refused by MaxConnections and
	// MaxConnectionsPerAddress: a host hammering the endpoint gets one line a second.
	connLimitLog lograte.Limiter
	// forgedLog does the same for broadcasts dropped because they name another sender, or because
	// their sender may not send their event (relaygate.go).
	forgedLog lograte.Limiter
	// untrackedLog does the same for the Debug lines of gated events from members that have not
	// tracked Presence: a page sending before its track would otherwise log every frame.
	untrackedLog lograte.Limiter
	// roomFullLog does the same for joins refused by MaxClientsPerRoom and
	// MaxClientsPerRoomPerAddress, logged at WARN: a full room keeps musicians out.
	roomFullLog lograte.Limiter
	// metrics serves Config.MetricsPath (nil when it is empty).
	metrics http.Handler
	// httpIdle is httpIdleTimeout and restBody restBodyTimeout; tests change them.
	httpIdle, restBody time.Duration

	// wg counts the goroutines of every accepted socket (its reader and its writer).
	wg sync.WaitGroup

	mu sync.Mutex
	// The mutex protects the following elements.
	closed    bool
	upgrading int // sockets counted against MaxConnections while their upgrade completes
	conns     map[*conn]struct{}
	// perAddress counts the sockets of each client (clientaddr.Key: an IPv4 address, an IPv6
	// one on this machine's own links, or an IPv6 /64 beyond them), upgrading ones included,
	// against MaxConnectionsPerAddress; a client with none has no entry.
	perAddress clientaddr.Tally
	rooms      map[string]*room
	// roomsStarted counts the rooms each client (clientaddr.Key) started that still exist, against
	// MaxRoomsPerAddress; a client with none has no entry.
	roomsStarted clientaddr.Tally
}

// New returns a Server for cfg, with its metrics registered in cfg.Metrics if set. It starts no
// goroutines and opens no sockets.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var seed [6]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("hub: seed presence refs: %w", err)
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		limits:    newRateLimits(cfg),
		refPrefix: base64.RawURLEncoding.EncodeToString(seed[:]),
		conns:     make(map[*conn]struct{}),
		rooms:     make(map[string]*room),

		malformedLog:     lograte.Limiter{Every: time.Second},
		restLimitLog:     lograte.Limiter{Every: time.Second},
		rateLimitLog:     lograte.Limiter{Every: time.Second},
		presenceLimitLog: lograte.Limiter{Every: time.Second},
		slowClientLog:    lograte.Limiter{Every: time.Second},
		connLimitLog:     lograte.Limiter{Every: time.Second},
		forgedLog:        lograte.Limiter{Every: time.Second},
		untrackedLog:     lograte.Limiter{Every: time.Second},
		roomFullLog:      lograte.Limiter{Every: time.Second},
		httpIdle:         httpIdleTimeout,
		restBody:         restBodyTimeout,
	}
	s.addrs = newAddressBudgets(s.limits, cfg.MaxConnectionsPerAddress, cfg.MaxConnections, cfg.MaxFrameBytes)
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(newCollector(s)); err != nil {
			return nil, fmt.Errorf("hub: register metrics: %w", err)
		}
	}
	if cfg.MetricsPath != "" {
		s.metrics = s.newMetricsHandler(cfg.Metrics.(prometheus.Gatherer)) // checked by withDefaults
	}
	s.acceptOpt = &websocket.AcceptOptions{OriginPatterns: cfg.AllowedOrigins}
	if len(cfg.AllowedOrigins) == 0 {
		// Musicians' pages are served from another origin than the bridge (the jam web app), and a
		// LAN server has no list of them: accept any origin unless the operator configured one.
		s.acceptOpt.InsecureSkipVerify = true
	}
	return s, nil
}

// Handler returns the HTTP handler serving the WebSocket endpoint on Path and SupabasePath, the
// REST batch broadcast on BroadcastAPIPath, and the metrics on Config.MetricsPath if set.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Path, s.serveWebSocket)
	mux.HandleFunc(SupabasePath, s.serveWebSocket)
	mux.HandleFunc(BroadcastAPIPath, s.serveBroadcastAPI)
	mux.HandleFunc(BroadcastAPIPath+"/", s.serveBroadcastAPI)
	if s.metrics != nil {
		// GET (and HEAD) only: ServeMux answers any other method with 405 and an Allow header.
		mux.Handle("GET "+s.cfg.MetricsPath, s.metrics)
	}
	return mux
}

// Run listens on Config.Addr and serves until ctx is cancelled; see Serve.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("hub: listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled, then closes ln and every connection and returns nil
// once all of the server's goroutines have exited. Cancellation is the only way to stop it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		ln.Close()
		return ErrServerClosed
	}
	// httpConns counts the connections net/http is serving itself (not yet hijacked into a
	// WebSocket, which s.wg counts): Shutdown neither closes a connection still sending its
	// request nor waits for one past its deadline, so Serve must end and await them itself.
	var httpConns sync.WaitGroup
	// The listener bounds the plain HTTP connections (Config.MaxHTTPConnections): upgrades are
	// bounded by the socket caps in serveWebSocket, REST bodies by restInFlight, but without it
	// a host could hold any number of idle keep-alive connections, goroutines and buffers.
	limiter := connlimit.New(ln, connlimit.Config{
		Max: s.cfg.MaxHTTPConnections, PerClient: s.cfg.MaxHTTPConnectionsPerAddress,
		Logger: s.log, Subject: "hub", OnRefuse: func() { s.stats.httpConnsRefused.Add(1) },
	})
	s.httpLimiter.Store(limiter)
	ln = limiter
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       s.httpIdle,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnContext: func(ctx context.Context, nc net.Conn) context.Context {
			return context.WithValue(ctx, tcpConnKey{}, nc)
		},
		ConnState: func(nc net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew: // reported on Serve's goroutine, before Serve can return
				httpConns.Add(1)
			case http.StateHijacked: // a WebSocket: the socket caps count it from now on
				connlimit.Release(nc)
				httpConns.Done()
			case http.StateClosed: // each connection's last state, unless hijacked
				httpConns.Done()
			}
		},
	}
	// At MaxHTTPConnections the limiter closes the oldest connection without a request in
	// progress to admit a new one: hosts holding every slot with bare or half-sent requests
	// (reconnecting as each times out) cannot lock the musicians out.
	limiter.Track(srv)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("hub: serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	// Shutdown closes ln and the idle connections; WebSockets are hijacked, so s.Close ends them.
	if srv.Shutdown(shutdownCtx) != nil {
		// A request still in progress past the grace (a client trickling its headers or a REST
		// body) is cut, not left running after Serve returns.
		srv.Close()
	}
	cancel()
	if err == nil {
		<-serveErr
	}
	s.Close()
	httpConns.Wait()
	return err
}

// Close ends every connection with status 1001 (going away), refuses new ones, and waits for the
// connections' goroutines to exit. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		// A peer that does not answer the close handshake is not worth waiting for.
		for _, c := range conns {
			c.drop("shutdown: close handshake timed out")
		}
		<-done
	}
	return nil
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Connections      int    // open sockets, counting those still completing their upgrade
	Rooms            int    // rooms with at least one member
	Channels         int    // channel memberships (joined topics) over every room
	Presences        int    // tracked Presence metas over every room
	FramesIn         uint64 // frames received
	FramesOut        uint64 // frames queued for sending, counted before the client can see them; one that finds the client's queue full is counted, then dropped with its slow client (one over the queue's byte limit is not)
	BytesIn          uint64 // bytes of the frames received (payloads, without WebSocket framing)
	BytesOut         uint64 // bytes of the frames FramesOut counts, those dropped with a slow client included
	Broadcasts       uint64 // broadcasts fanned out to a room, from sockets and the REST endpoints
	Malformed        uint64 // frames dropped because they did not decode or made no sense
	RateLimited      uint64 // frames and REST messages dropped by the message and byte rate limits
	SlowClients      uint64 // sockets dropped because their outbound queue was full or a write stalled
	JoinsRefused     uint64 // joins answered with an error: the sum of JoinRefusals
	Undeliverable    uint64 // (frame, recipient) pairs skipped: binary payloads for vsn 1.0.0 sockets
	HandshakeRefused uint64 // upgrades refused, for any reason: the sum of HandshakeRefusals
	// HandshakeRefusals breaks HandshakeRefused down by reason.
	HandshakeRefusals HandshakeRefusals
	// JoinRefusals breaks JoinsRefused down by reason.
	JoinRefusals    JoinRefusals
	RESTRefused     uint64 // REST broadcast requests answered with an error (bad key or body, too many messages or requests at once, rate limit)
	PresenceLimited uint64 // track/untrack calls refused by the presence rate limit (each closes its channel)
	// ForgedSenders counts the broadcasts dropped because their payload's fromPeerId was not the
	// sending channel's presence key (webrtc-signal, state-request, state-response), and the REST
	// ones refused because it was not held in the room by a socket of the requesting client; and
	// the led-update from a member that tracks Presence and is not the room's host, dropped, or
	// refused over REST for a client with such a member or none in the room.
	ForgedSenders uint64
	// UntrackedSenders counts the led-update, tempo-change and playback-control dropped because
	// their member had not tracked Presence (a page sending before its track, or after it
	// untracked), and refused over REST for a client whose members in the room had not: refused,
	// but no forgery. The host whose socket left is still heard for hostLeaveGrace.
	UntrackedSenders uint64
	// ChannelsReplaced counts the channels closed because a newer socket joined the room with
	// their presence key while theirs was closing or did not answer a ping (a supabase-js
	// reconnect, a musician whose address changed).
	ChannelsReplaced uint64
	// HTTPConnectionsRefused counts the TCP connections Serve closed for its caps: as soon as it
	// accepted them, past MaxHTTPConnectionsPerAddress or MaxHTTPConnections with every open one
	// (of the client's, or in all) being served, or without a request in progress, to admit a new
	// one at either cap.
	HTTPConnectionsRefused uint64
}

// HandshakeRefusals counts the WebSocket upgrades refused, by reason. The per-address cap has a
// counter of its own because it is the one an operator tunes (behind a reverse proxy every client
// shares one address, and a count that climbs here means the proxy needs a larger cap).
type HandshakeRefusals struct {
	BadKey      uint64 // HTTP 401: API key missing, or not Config.Secret
	BadVsn      uint64 // HTTP 400: a vsn other than 1.0.0 and 2.0.0
	ServerFull  uint64 // HTTP 429: MaxConnections sockets open
	AddressFull uint64 // HTTP 429: MaxConnectionsPerAddress sockets open from the client (clientaddr.Key)
	// Closing counts upgrades refused with HTTP 503 because the server is shutting down, and
	// sockets closed with 1001 as soon as their upgrade completed, because the shutdown began
	// during it.
	Closing uint64
	// BadUpgrade counts requests the WebSocket library refused: not a WebSocket upgrade, or a
	// browser Origin outside Config.AllowedOrigins.
	BadUpgrade uint64
}

// JoinRefusals counts the channel joins refused, by reason. The per-address room cap has a counter
// of its own because it is the one an operator tunes (behind a reverse proxy every client shares
// one address).
type JoinRefusals struct {
	BadRequest   uint64 // a topic, payload or presence key the server does not take, or postgres_changes
	Channels     uint64 // MaxChannelsPerClient channels joined on the socket
	ServerRooms  uint64 // MaxRooms rooms exist
	AddressRooms uint64 // MaxRoomsPerAddress rooms started by the client exist
	RoomFull     uint64 // MaxClientsPerRoom channels joined to the room
	// PresenceKeyTaken counts joins refused because another live socket holds their presence
	// key in the room (a key is a peerId: holding it is speaking as that participant).
	PresenceKeyTaken uint64
}

// joinRefusal is a reason a join is refused; it indexes counters.joinsRefused.
type joinRefusal int

const (
	joinRefusedBadRequest joinRefusal = iota
	joinRefusedChannels
	joinRefusedServerRooms
	joinRefusedAddressRooms
	joinRefusedRoomFull
	joinRefusedPresenceKeyTaken
	numJoinRefusals
)

// refusal is a reason a WebSocket upgrade is refused; it indexes counters.handshakeRefused.
type refusal int

const (
	refusedBadKey refusal = iota
	refusedBadVsn
	refusedServerFull
	refusedAddressFull
	refusedClosing
	refusedBadUpgrade
	numRefusals
)

type counters struct {
	framesIn, framesOut, bytesIn, bytesOut, broadcasts atomic.Uint64
	malformed, rateLimited, slowClients                atomic.Uint64
	undeliverable, restRefused, presenceLimited        atomic.Uint64
	forgedSenders, channelsReplaced                    atomic.Uint64
	untrackedSenders                                   atomic.Uint64
	joinsRefused                                       [numJoinRefusals]atomic.Uint64
	httpConnsRefused                                   atomic.Uint64
	handshakeRefused                                   [numRefusals]atomic.Uint64
}

// handshakesRefused is the total of the refusal counters.
func (c *counters) handshakesRefused() uint64 {
	var n uint64
	for i := range c.handshakeRefused {
		n += c.handshakeRefused[i].Load()
	}
	return n
}

// Stats returns the current counters. It takes the server's and every room's lock once, to count
// channels and Presence metas: it is meant for a status page or a metrics scrape, not a hot loop.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Connections: len(s.conns) + s.upgrading, Rooms: len(s.rooms)}
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	// Each room is locked after s.mu is released, so that a scrape waiting on one busy room never
	// holds up joins, leaves and upgrades on the whole server. A room emptied meanwhile adds nothing.
	for _, r := range rooms {
		r.mu.Lock()
		st.Channels += len(r.members)
		st.Presences += len(r.presence)
		r.mu.Unlock()
	}
	st.FramesIn = s.stats.framesIn.Load()
	st.FramesOut = s.stats.framesOut.Load()
	st.BytesIn = s.stats.bytesIn.Load()
	st.BytesOut = s.stats.bytesOut.Load()
	st.Broadcasts = s.stats.broadcasts.Load()
	st.Malformed = s.stats.malformed.Load()
	st.RateLimited = s.stats.rateLimited.Load()
	st.SlowClients = s.stats.slowClients.Load()
	joins := &s.stats.joinsRefused
	st.JoinRefusals = JoinRefusals{
		BadRequest:   joins[joinRefusedBadRequest].Load(),
		Channels:     joins[joinRefusedChannels].Load(),
		ServerRooms:  joins[joinRefusedServerRooms].Load(),
		AddressRooms: joins[joinRefusedAddressRooms].Load(),
		RoomFull:     joins[joinRefusedRoomFull].Load(),

		PresenceKeyTaken: joins[joinRefusedPresenceKeyTaken].Load(),
	}
	j := st.JoinRefusals
	st.JoinsRefused = j.BadRequest + j.Channels + j.ServerRooms + j.AddressRooms + j.RoomFull + j.PresenceKeyTaken
	st.Undeliverable = s.stats.undeliverable.Load()
	refused := &s.stats.handshakeRefused
	st.HandshakeRefusals = HandshakeRefusals{
		BadKey:      refused[refusedBadKey].Load(),
		BadVsn:      refused[refusedBadVsn].Load(),
		ServerFull:  refused[refusedServerFull].Load(),
		AddressFull: refused[refusedAddressFull].Load(),
		Closing:     refused[refusedClosing].Load(),
		BadUpgrade:  refused[refusedBadUpgrade].Load(),
	}
	h := st.HandshakeRefusals
	st.HandshakeRefused = h.BadKey + h.BadVsn + h.ServerFull + h.AddressFull + h.Closing + h.BadUpgrade
	st.RESTRefused = s.stats.restRefused.Load()
	st.PresenceLimited = s.stats.presenceLimited.Load()
	st.ForgedSenders = s.stats.forgedSenders.Load()
	st.UntrackedSenders = s.stats.untrackedSenders.Load()
	st.ChannelsReplaced = s.stats.channelsReplaced.Load()
	st.HTTPConnectionsRefused = s.stats.httpConnsRefused.Load()
	return st
}

// refuseHandshake counts a refused upgrade under why and answers like the Realtime server's
// handshake failures: a status and {"error": "..."}.
func (s *Server) refuseHandshake(w http.ResponseWriter, why refusal, status int, msg string) {
	s.stats.handshakeRefused[why].Add(1)
	// The client will dial again for its next try: a refused connection kept alive would count
	// against its HTTP connection caps until it idled out.
	w.Header().Set("Connection", "close")
	writeJSONError(w, status, msg)
}

// writeJSONError writes status and {"error": msg}.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(body)
}

// keyProblem enforces Config.Secret on a request: the supabase-js key arrives as the apikey query
// parameter (WebSocket) or the apikey / x-api-key header (REST). It returns why the request is
// refused (HTTP 401), or "" when its key is good.
func (s *Server) keyProblem(r *http.Request) string {
	if s.cfg.Secret == "" {
		return ""
	}
	key := r.URL.Query().Get("apikey")
	if key == "" {
		key = r.Header.Get("apikey")
	}
	if key == "" {
		key = r.Header.Get("x-api-key")
	}
	if key == "" {
		return "API key is missing"
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.Secret)) != 1 {
		return "API key is not valid for this room server"
	}
	return ""
}

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if msg := s.keyProblem(r); msg != "" {
		s.refuseHandshake(w, refusedBadKey, http.StatusUnauthorized, msg)
		return
	}
	// Phoenix treats a missing vsn as 1.0.0 (supabase-js always sends one).
	vsnParam := r.URL.Query().Get("vsn")
	if vsnParam == "" {
		vsnParam = "1.0.0"
	}
	vsn, err := wire.ParseVersion(vsnParam)
	if err != nil {
		s.refuseHandshake(w, refusedBadVsn, http.StatusBadRequest, err.Error())
		return
	}
	if !s.originAllowed(r) {
		// Checked here, not only by websocket.Accept, which takes any Origin equal to Host
		// (see originAllowed: DNS rebinding).
		s.log.Debug("hub: websocket upgrade refused: Origin not allowed", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "host", r.Host)
		s.refuseHandshake(w, refusedBadUpgrade, http.StatusForbidden, "Origin not allowed")
		return
	}
	addr := s.clientKey(r)
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		s.refuseHandshake(w, refusedClosing, http.StatusServiceUnavailable, "room server is shutting down")
		return
	case len(s.conns)+s.upgrading >= s.cfg.MaxConnections:
		s.mu.Unlock()
		s.refuseHandshake(w, refusedServerFull, http.StatusTooManyRequests, "Too many connected users")
		s.logConnLimit("hub: upgrade refused: server at its socket limit", addr, s.cfg.MaxConnections)
		return
	case s.perAddress.Of(addr) >= s.cfg.MaxConnectionsPerAddress:
		s.mu.Unlock()
		s.refuseHandshake(w, refusedAddressFull, http.StatusTooManyRequests, "Too many connections from this address")
		s.logConnLimit("hub: upgrade refused: too many sockets from one address", addr, s.cfg.MaxConnectionsPerAddress)
		return
	}
	client, ok := s.addrs.connect(s.cfg.Now(), addr)
	if !ok {
		s.mu.Unlock()
		s.refuseHandshake(w, refusedAddressFull, http.StatusTooManyRequests, "Too many new connections from this address")
		s.logConnLimit("hub: upgrade refused: one address opening sockets too fast", addr, s.cfg.MaxConnectionsPerAddress)
		return
	}
	s.upgrading++
	s.perAddress.Add(addr)
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := websocket.Accept(w, r, s.acceptOpt)
	if testHookAccepted != nil {
		testHookAccepted()
	}
	if err != nil {
		s.mu.Lock()
		s.upgrading--
		s.perAddress.Remove(addr)
		s.mu.Unlock()
		s.addrs.refund(s.cfg.Now(), client) // a request that never became a socket (review 310)
		// Accept has already answered the request (bad upgrade, origin not allowed).
		s.log.Debug("hub: websocket upgrade refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "err", err)
		s.stats.handshakeRefused[refusedBadUpgrade].Add(1)
		return
	}
	c := newConn(s, ws, vsn, r.RemoteAddr)
	c.addr, c.client = addr, client
	s.addrs.startReserve(s.cfg.Now(), client, &c.reserve)
	defer s.addrs.release(client, &c.reserve)
	c.tcp, _ = r.Context().Value(tcpConnKey{}).(net.Conn)
	// Registering and checking closed in one critical section means Close either sees this
	// socket or this handler sees closed: no socket escapes a shutdown.
	s.mu.Lock()
	s.upgrading--
	closed := s.closed
	if !closed {
		s.conns[c] = struct{}{}
	} else {
		s.perAddress.Remove(addr)
	}
	s.mu.Unlock()
	if closed {
		s.stats.handshakeRefused[refusedClosing].Add(1)
		c.idleTimer.Stop()
		// Close has not seen this socket, so its grace does not cut the handshake: a client
		// that never answers it would hold shutdown for coder/websocket's 5 s.
		cut := time.AfterFunc(shutdownGrace, func() { c.drop("shutdown: close handshake timed out") })
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		cut.Stop()
		return
	}
	s.log.Debug("hub: socket open", "remote", c.remote, "vsn", vsn)
	c.serve()
	s.removeConn(c)
	s.log.Debug("hub: socket closed", "remote", c.remote, "reason", c.closeReason())
}

// OwnClientHeader is the request header that carries Config.OwnClientToken.
const OwnClientHeader = "X-Ledbridge-Own-Client"

// ownClientKey is the client key of requests carrying Config.OwnClientToken: no address's key
// (clientaddr.Key gives addresses and prefixes), so no other client shares it.
const ownClientKey = "own client"

// clientKey is the client r counts against: its address (clientaddr.Key), or, for the program
// running the hub, ownClientKey.
func (s *Server) clientKey(r *http.Request) string {
	if tok := s.cfg.OwnClientToken; tok != "" {
		if got := r.Header.Get(OwnClientHeader); got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
			return ownClientKey
		}
	}
	return clientaddr.Key(r.RemoteAddr)
}

// testHookAccepted, when set by a test, runs after an upgrade's Accept and before the socket is
// registered: the window in which a shutdown can begin without seeing the socket.
var testHookAccepted func()

// tcpConnKey is the request context key under which Serve passes a WebSocket's TCP connection to
// its handler, so that drop can cut a socket whose close handshake is stuck.
type tcpConnKey struct{}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.perAddress.Remove(c.addr) // its socket's MaxConnectionsPerAddress budget
	}
	s.mu.Unlock()
}

// logConnLimit logs a refused upgrade at most once a second per server: a host retrying in a loop
// must not turn the log into an amplifier. The line says how many refusals it stands for.
func (s *Server) logConnLimit(msg, addr string, limit int) {
	if suppressed, ok := s.connLimitLog.Allow(s.cfg.Now()); ok {
		s.log.Warn(msg, "remote", addr, "limit", limit, "suppressed", suppressed,
			"handshake_refused_total", s.stats.handshakesRefused())
	}
}

// newPresenceRef returns a phx_ref unique within this server run and across runs.
func (s *Server) newPresenceRef() string {
	var buf [32]byte
	b := append(buf[:0], 'F')
	b = append(b, s.refPrefix...)
	b = fmt.Appendf(b, "%x", s.nextRef.Add(1))
	return string(b)
}

// newPresenceKey returns a random UUID, which the Realtime server assigns to a join whose
// presence key is empty.
func newPresenceKey() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	const hex = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[b>>4], hex[b&0xf]
		j += 2
	}
	return string(out[:])
}
