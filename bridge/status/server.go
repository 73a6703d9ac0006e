package status

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ledbridge/ledbridge/bridge/clientaddr"
	"github.com/ledbridge/ledbridge/bridge/connlimit"
)

//go:embed assets
var assets embed.FS

// streamWriteTimeout bounds one live-update write to a viewer.
const streamWriteTimeout = 5 * time.Second

// shutdownWait is how long a stop lets requests in progress finish before closing every
// connection. Short: the daemon's whole stop has 2 s, a page's request is answered in
// milliseconds and live streams end at once; net/http counts a new connection that has not sent
// a whole request yet (a browser's preconnect, a half-sent header) as busy, and waited the full
// second for it.
const shutdownWait = 200 * time.Millisecond

// Serve's bounds on one request, so that a client sending or reading slowly holds its connection
// for a bounded time: the header must arrive within readHeaderTimeout, header and body within
// readTimeout, and an answer be taken within writeTimeout (a live stream's writes have their own,
// streamWriteTimeout each). A header may be maxHeaderBytes long (net/http's default is 1 MB): a
// browser's, cookies of other apps on the same host name included, is far shorter.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	maxHeaderBytes    = 32 << 10
)

// TokenHeader carries the control token on POST requests.
const TokenHeader = "X-Ledbridge-Token"

// metricsMaxInFlight bounds the /metrics scrapes gathered at once; one more is answered 503 at
// once. Under join the registry holds the room server's collector, whose gathering locks the
// server and every room (as the hub's own /metrics, which has the same bound), so a LAN host
// scraping in a loop from many connections must not keep those locks busy. Prometheus scrapes
// one target one request at a time, and two servers scraping for redundancy still fit.
const metricsMaxInFlight = 2

// Provider supplies what the page shows.
type Provider interface {
	// Snapshot returns the current state. It must not block for long: the page polls it.
	Snapshot() Snapshot
	// Previews appends one Preview per device to dst, reusing dst's Pixels buffers.
	Previews(dst []Preview) []Preview
}

// Controller carries out the page's controls. Each method returns an error the page shows.
type Controller interface {
	SetMode(mode string) error
	SetBrightness(v float64) error
	SetBlackout(on bool) error
	TestPattern(d time.Duration) error
	Identify(deviceID string) error
}

// Config configures a Server. Provider is required.
type Config struct {
	Provider Provider
	// Controller and Token enable the controls; with either missing they answer 403. Token and
	// AllowedHosts are the starting values: SetAccess changes both on a running server.
	Controller Controller
	Token      string
	// Gatherer is served on /metrics, with the page's own ledbridge_status_* series (wrong
	// control tokens); nil serves those alone.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// StatusInterval and PreviewInterval pace the live updates (defaults 250 ms and 1/30 s).
	StatusInterval  time.Duration
	PreviewInterval time.Duration
	// MaxStreams caps concurrent live-update connections (default 32).
	MaxStreams int
	// MaxStreamsPerClient caps the live-update connections from one client address (default 4),
	// so that one host on the LAN cannot take every slot (a client is clientaddr.Key's: an IPv6
	// address beyond this machine's own links counts per /64, since such a host can pick any
	// number of addresses in its prefix).
	MaxStreamsPerClient int
	// MaxConnections caps the open connections Serve keeps (default 256), and
	// MaxConnectionsPerClient those from one client, as for streams (default 32:
	// a few browsers' six each, live streams included). At MaxConnectionsPerClient the client's
	// oldest connection without a request in progress is closed to admit its new one, which is
	// closed as soon as it is accepted if there is none; at MaxConnections, the oldest connection without a
	// request in progress (half-sent headers, an idle keep-alive) is closed to admit it, and it
	// is refused only when every open one is being served (a live stream always is). A handler
	// mounted on another server (Handler) has that server's.
	MaxConnections          int
	MaxConnectionsPerClient int
	// AllowedHosts lists host names (or "*.suffix" patterns) the page answers to besides IP
	// literals, localhost, single-label names and names under .local, .lan, .home.arpa and
	// .internal; any other Host header gets 421 Misdirected Request, which keeps a web page that
	// rebinds its own domain to this machine from reading the page (see CheckHostPattern).
	AllowedHosts []string
}

// ErrNoProvider is returned by New without a Provider.
var ErrNoProvider = errors.New("status: a Provider is required")

// Server is the status page's HTTP side.
type Server struct {
	cfg     Config // Token and AllowedHosts are read only by New: access holds the current ones
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler // mux behind the Host check
	streams *broadcaster
	access  atomic.Pointer[access]
	tokens  *tokenGuard
	// metrics holds the page's own series (ledbridge_status_*), served on /metrics with
	// Config.Gatherer's.
	metrics *prometheus.Registry

	// The constants of these names; fields so that tests can change them.
	streamWriteTimeout, readHeaderTimeout, readTimeout, writeTimeout time.Duration
	// heldPreviewRetry is how soon a live stream tries again a preview it held back for a full
	// send queue (writePending): Config.PreviewInterval, when the next one would come anyway.
	heldPreviewRetry time.Duration
}

// access is what a configuration reload may change on a running server (SetAccess): every
// request reads it once, so it sees either the old settings or the new, never a mix.
type access struct {
	token string
	hosts *hostPatterns
}

// New checks cfg and builds the server; it starts nothing.
func New(cfg Config) (*Server, error) {
	if cfg.Provider == nil {
		return nil, ErrNoProvider
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = 250 * time.Millisecond
	}
	if cfg.PreviewInterval <= 0 {
		cfg.PreviewInterval = time.Second / 30
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 32
	}
	if cfg.MaxStreamsPerClient <= 0 {
		cfg.MaxStreamsPerClient = 4
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 256
	}
	if cfg.MaxConnectionsPerClient <= 0 {
		cfg.MaxConnectionsPerClient = 32
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), metrics: prometheus.NewRegistry(),
		streamWriteTimeout: streamWriteTimeout, readHeaderTimeout: readHeaderTimeout, readTimeout: readTimeout, writeTimeout: writeTimeout}
	s.heldPreviewRetry = cfg.PreviewInterval
	s.tokens = newTokenGuard(cfg.Logger, s.metrics)
	s.streams = newBroadcaster(cfg, s.controlsEnabled)
	if err := s.SetAccess(cfg.Token, cfg.AllowedHosts); err != nil {
		return nil, err
	}
	s.handler = checkHost(func() *hostPatterns { return s.access.Load().hosts }, noFraming(s.mux))
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /", noCache(pageFiles(http.FileServerFS(static))))
	s.mux.HandleFunc("GET /api/status", s.handleStatus)
	s.mux.HandleFunc("GET /api/events", s.handleEvents)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{cfg.Gatherer, s.metrics}, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn), MaxRequestsInFlight: metricsMaxInFlight}))
	s.mux.HandleFunc("POST /api/control/{action}", s.handleControl)
	return s, nil
}

// SetAccess replaces the control token ("" disables the controls) and the extra host names the
// page answers to (Config.AllowedHosts), so that a configuration reload takes effect without a
// restart. Requests that arrive after it returns use the new settings, and it ends every live
// stream (/api/events) whose Host the new names no longer admit: at once when its handler is
// waiting for the next event, within StatusInterval when it is stuck writing to a viewer that
// stopped reading. Streams still admitted go on untouched; they need no token, so a new token
// alone ends none (their status events show the controls' new state). An invalid host pattern
// (ErrBadHostPattern) changes nothing.
func (s *Server) SetAccess(token string, allowedHosts []string) error {
	hosts, err := newHostPatterns(allowedHosts)
	if err != nil {
		return err
	}
	if old := s.access.Load(); old != nil && old.token != token {
		// After the new token is in place (below): clients trusted for knowing the old one
		// need not know the new one.
		defer s.tokens.forgetTrusted()
	}
	// Under the broadcaster's lock, so that a stream subscribing meanwhile is checked either
	// against the new names or by this sweep, never by neither.
	s.streams.replaceAccess(
		func() { s.access.Store(&access{token: token, hosts: hosts}) },
		func(host string) bool { return hostAllowed(host, hosts) },
		s.cfg.StatusInterval)
	return nil
}

// admitsHost reports whether the current access settings let a request with this Host in.
func (s *Server) admitsHost(host string) bool { return hostAllowed(host, s.access.Load().hosts) }

// Serve serves on ln until ctx is done, then shuts the server down (closing live streams) and
// returns nil. It holds at most Config.MaxConnections connections (MaxConnectionsPerClient from
// one client) and bounds the time a request may take to arrive or its answer to be read.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	limiter := connlimit.New(ln, connlimit.Config{Max: s.cfg.MaxConnections, PerClient: s.cfg.MaxConnectionsPerClient, Logger: s.log, Subject: "status page"})
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.readHeaderTimeout,
		ReadTimeout:       s.readTimeout,
		WriteTimeout:      s.writeTimeout, // a live stream moves its own deadline on each write
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		// For streamConnQueue, which a live stream's handler calls.
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connContextKey{}, c)
		},
	}
	// At MaxConnections the limiter closes the oldest connection without a request in progress
	// (half-sent headers, an idle keep-alive) to admit a new one; a live stream is a request in
	// progress for as long as it lasts, so it is never closed for a newcomer. Without Track, a
	// connection counted as busy from its first byte on, and hosts holding every slot with
	// half-sent requests or idle keep-alives locked new viewers out.
	limiter.Track(srv)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.streams.run(ctx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limiter) }()
	var err error
	select {
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		_ = srv.Shutdown(shutdownCtx)
		cancel()
		_ = srv.Close()
		<-errc
	case err = <-errc:
	}
	cancel() // also when Serve failed on its own: stop the broadcaster
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// noFraming forbids other sites to frame the page: a page that framed it could lead a member of
// staff into typing the control token into it (clickjacking).
func noFraming(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// pageFiles answers 404 for a path that is not UTF-8 ("/%BB"), which names none of the page's
// files: http.FileServerFS would answer 500, since fs.ValidPath refuses the name.
func pageFiles(files http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !utf8.ValidString(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) snapshot() Snapshot {
	snap := s.cfg.Provider.Snapshot()
	snap.Controls = s.controlsEnabled()
	return snap
}

func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.snapshot())
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	h := s.cfg.Provider.Snapshot().Health
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !h.OK {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unhealthy:", h.Reason)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) controlsEnabled() bool {
	return s.cfg.Controller != nil && s.access.Load().token != ""
}

func (s *Server) handleControl(w http.ResponseWriter, r *http.Request) {
	token := s.access.Load().token
	if s.cfg.Controller == nil || token == "" {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "controls are disabled: set status.token to enable them"})
		return
	}
	// No token tests no guess: it is not counted against the client or everyone. Counted, a
	// few viewers pressing the page's buttons with an empty token field spent the shared budget
	// and locked staff out.
	sent := r.Header.Get(TokenHeader)
	if sent == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing " + TokenHeader + ": type the token on the page"})
		return
	}
	// A client that sent too many wrong tokens waits, whatever it sends now: else guessing
	// would only be slowed down for wrong guesses, and a right one would still get through.
	wait, everyone, ok := s.tokens.check(clientaddr.Key(r.RemoteAddr), r.RemoteAddr, func() bool {
		// The token is read again here, under the guard's lock: a reload that changed it (and
		// forgot the trusted clients) between the check above and this comparison must not
		// let the old token in and make its sender trusted.
		return subtle.ConstantTimeCompare([]byte(sent), []byte(s.access.Load().token)) == 1
	})
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		why := "too many wrong tokens from this address"
		if everyone {
			why = "too many wrong tokens from all addresses together: every address waits"
		}
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": fmt.Sprintf("%s: try again in %d s", why, secs)})
		return
	}
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong " + TokenHeader})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	c := s.cfg.Controller
	var err error
	// Each control reads only its own fields, strictly: a misspelt or misplaced field, or data
	// after the object, is refused rather than read as "field absent", whose default would run
	// an action nobody asked for ({"onn":false} blacking the strips out).
	switch action := r.PathValue("action"); action {
	case "mode":
		var req struct {
			Mode string `json:"mode"`
		}
		if err = decodeControl(r, &req, `mode takes {"mode":"auto|local|broadcast"}`); err == nil {
			err = c.SetMode(req.Mode)
		}
	case "brightness":
		var req struct {
			Value *float64 `json:"value"`
		}
		if err = decodeControl(r, &req, `brightness takes {"value":0–1}`); err == nil {
			if req.Value == nil {
				err = errors.New("brightness needs value 0–1")
			} else {
				err = c.SetBrightness(*req.Value)
			}
		}
	case "blackout":
		var req struct {
			On *bool `json:"on"`
		}
		if err = decodeControl(r, &req, `blackout takes {"on":true|false}`); err == nil {
			on := true
			if req.On != nil {
				on = *req.On
			}
			err = c.SetBlackout(on)
		}
	case "test-pattern":
		var req struct {
			Seconds *float64 `json:"seconds"`
		}
		if err = decodeControl(r, &req, `test-pattern takes {"seconds":1–60}`); err == nil {
			secs := float64(defaultTestPattern / time.Second)
			if req.Seconds != nil {
				secs = *req.Seconds
			}
			switch {
			case secs < 1: // 1e-300 would be 0 s: nothing shown, and the page saying ok
				err = errors.New("test-pattern lasts at least 1 second")
			case secs > 60:
				err = errors.New("test-pattern lasts at most 60 seconds")
			default:
				err = c.TestPattern(time.Duration(secs * float64(time.Second)))
			}
		}
	case "identify":
		var req struct {
			DeviceID string `json:"device"`
		}
		if err = decodeControl(r, &req, `identify takes {"device":"<id from /api/status>"}`); err == nil {
			err = c.Identify(req.DeviceID)
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control " + strconv.Quote(action)})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.log.Info("status page control", "action", r.PathValue("action"), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// defaultTestPattern is how long a test pattern lasts when the request names no seconds.
const defaultTestPattern = 5 * time.Second

// decodeControl reads a control request's JSON object into req, which names every field the
// control accepts; usage, what the control takes, begins the error. An empty body leaves req as
// it is (every field absent); anything but white space after the object is an error.
func decodeControl(r *http.Request, req any, usage string) error {
	if r.ContentLength == 0 {
		return nil
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return fmt.Errorf("%s; the body is not such a JSON object: %w", usage, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s; the body has data after the JSON object", usage)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// handleEvents streams Server-Sent Events: "status" (a Snapshot) every StatusInterval and
// "preview" (every strip's pixels, base64) every PreviewInterval, until the viewer leaves, stops
// reading for streamWriteTimeout, the server stops, or a reload no longer admits its Host.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	st := &stream{
		wake:   make(chan struct{}, 1),
		client: clientaddr.Key(r.RemoteAddr),
		host:   r.Host,
		stop:   make(chan struct{}),
		rc:     http.NewResponseController(w),
	}
	if err := s.streams.subscribe(st, s.admitsHost); err != nil {
		switch {
		case errors.Is(err, errHostNotAdmitted): // a reload removed the name since checkHost
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusMisdirectedRequest)
			_, _ = w.Write([]byte(misdirectedBody))
		case errors.Is(err, errTooManyStreamsFromClient):
			w.Header().Set("Retry-After", streamRetryAfter)
			http.Error(w, err.Error(), http.StatusTooManyRequests)
		default:
			w.Header().Set("Retry-After", streamRetryAfter)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
		return
	}
	defer s.streams.unsubscribe(st)
	queue := streamConnQueue(r)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if !st.extendWriteDeadline(s.streamWriteTimeout) {
		return
	}
	_, _ = fmt.Fprintf(w, "retry: 2000\n\n")
	if err := st.rc.Flush(); err != nil {
		return
	}
	// held wakes the handler to try again a preview it held back (writePending).
	held := time.NewTimer(time.Hour)
	held.Stop()
	defer held.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.streams.done:
			return
		case <-st.stop:
			return // the end of the response is the end of the stream: a clean one
		case <-st.wake:
		case <-held.C:
		}
		heldBack, ok := s.writePending(w, st, queue)
		if !ok {
			return
		}
		if heldBack {
			held.Reset(s.heldPreviewRetry)
		}
	}
}

// writePending writes the events waiting for st, the status first: it is small, and what the
// viewer reads the page for. A preview is held back while the kernel still holds at least as much
// of what went before (queue): the viewer would see it only once stale. It waits in its slot,
// unless a newer one replaces it, and heldBack asks the caller to try again. ok is false when the
// stream must end.
func (s *Server) writePending(w http.ResponseWriter, st *stream, queue *sendQueue) (heldBack, ok bool) {
	for kind, msg := range st.take() {
		if msg == nil {
			continue
		}
		if eventKind(kind) == previewEvent {
			if queued, known := queue.bytes(); known && queued >= len(msg) {
				st.putBack(previewEvent, msg)
				heldBack = true
				continue
			}
		}
		// A phone that went to sleep stops reading; give up on it instead of holding one of the
		// MaxStreams slots until TCP notices.
		if !st.extendWriteDeadline(s.streamWriteTimeout) {
			return false, false
		}
		if _, err := w.Write(msg); err != nil {
			return false, false
		}
	}
	return heldBack, st.rc.Flush() == nil
}

// streamRetryAfter is the Retry-After of a refused live stream (too many viewers): a slot comes
// back only when someone closes a page, so the page need not ask again sooner.
const streamRetryAfter = "10"

// streamSendBuffer caps the kernel's send buffer of a live stream's connection. Left alone, Linux
// grows it to megabytes (net.ipv4.tcp_wmem), and on a link slower than the previews every byte in
// it is a frame the viewer must read before the current one: seconds of stale state. The latest-
// wins slots (stream.take) keep what waits in the server to one event of each kind, skipping a
// preview while the kernel holds an earlier one keeps what waits there to about one, and this cap
// bounds it where the queue cannot be read, while still filling a LAN's bandwidth-delay product.
const streamSendBuffer = 64 << 10

// connContextKey keys the net.Conn that Serve's server stores in each request's context.
type connContextKey struct{}

// streamConnQueue applies streamSendBuffer to r's connection and returns its send queue, when
// Serve accepted it; else nil (a handler mounted on another server cannot reach its connection:
// it keeps the kernel's buffer, and every preview is written).
func streamConnQueue(r *http.Request) *sendQueue {
	c, _ := r.Context().Value(connContextKey{}).(net.Conn)
	if lc, ok := c.(*connlimit.Conn); ok {
		c = lc.Conn
	}
	if sb, ok := c.(interface{ SetWriteBuffer(bytes int) error }); ok {
		_ = sb.SetWriteBuffer(streamSendBuffer)
	}
	if sc, ok := c.(syscall.Conn); ok {
		return newSendQueue(sc)
	}
	return nil
}

// eventKind is the kind of a live update, and the index of its slot in stream.pending.
type eventKind int

const (
	statusEvent eventKind = iota
	previewEvent
	eventKinds
)

// stream is one live viewer of /api/events.
type stream struct {
	wake   chan struct{} // capacity 1: an event waits in pending
	client string        // clientaddr.Key of the viewer, for MaxStreamsPerClient
	host   string        // the request's Host, checked again by every SetAccess
	stop   chan struct{} // closed by end
	rc     *http.ResponseController

	// pendingMu protects pending: the newest event of each kind that the handler has not taken
	// yet, nil when none. A newer event replaces the one waiting (latest wins): a viewer on a link
	// slower than the events skips those it could not take in time and gets the current state
	// next, never a backlog, and the frequent large previews cannot crowd status events out.
	pendingMu sync.Mutex
	pending   [eventKinds][]byte

	// The mutex protects the following element, and orders the write deadlines set on rc by
	// the handler and by end, so that the handler cannot undo end's.
	mu      sync.Mutex
	stopped bool
}

// offer makes msg the event of its kind the handler writes next, replacing one still waiting.
func (st *stream) offer(kind eventKind, msg []byte) {
	st.pendingMu.Lock()
	st.pending[kind] = msg
	st.pendingMu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default: // the handler is already woken
	}
}

// take empties the slots and returns what they held, the status first (nil where none waited).
func (st *stream) take() [eventKinds][]byte {
	st.pendingMu.Lock()
	defer st.pendingMu.Unlock()
	out := st.pending
	st.pending = [eventKinds][]byte{}
	return out
}

// putBack returns msg, taken but not written, to its slot, unless a newer event took the slot
// meanwhile.
func (st *stream) putBack(kind eventKind, msg []byte) {
	st.pendingMu.Lock()
	if st.pending[kind] == nil {
		st.pending[kind] = msg
	}
	st.pendingMu.Unlock()
}

// extendWriteDeadline gives the handler's next write d, unless end was called: then it reports
// false and the handler must stop.
func (st *stream) extendWriteDeadline(d time.Duration) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopped {
		return false
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(d))
	return true
}

// end asks the stream's handler to stop: a handler waiting for an event returns at once, one
// blocked writing to a viewer that stopped reading fails within grace (which also bounds the
// write of the response's end). It must be called only while the stream is subscribed: the
// broadcaster's lock then keeps the handler, and so rc, alive.
func (st *stream) end(grace time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopped {
		return
	}
	st.stopped = true
	close(st.stop)
	_ = st.rc.SetWriteDeadline(time.Now().Add(grace))
}

// broadcaster produces each event once, whatever the number of viewers, and offers it to every
// viewer (stream.offer); a slow viewer misses updates instead of slowing the others.
type broadcaster struct {
	cfg      Config
	controls func() bool // Snapshot.Controls: whether the page's controls are enabled now
	done     chan struct{}

	// The mutex protects the following elements.
	mu       sync.Mutex
	subs     map[*stream]struct{}
	perConns clientaddr.Tally // live streams per client
	stopped  bool
}

var (
	errTooManyStreams           = errors.New("status: too many live viewers; close another status page and reload")
	errTooManyStreamsFromClient = errors.New("status: too many live viewers from this address; close one of its status pages and reload")
	errHostNotAdmitted          = errors.New("status: host name no longer allowed")
)

func newBroadcaster(cfg Config, controls func() bool) *broadcaster {
	return &broadcaster{cfg: cfg, controls: controls, done: make(chan struct{}), subs: map[*stream]struct{}{}}
}

// subscribe adds st unless admits (the current access settings) refuses its Host, or the global
// or its client's cap is full.
func (b *broadcaster) subscribe(st *stream, admits func(host string) bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return errors.New("status: shutting down")
	}
	if !admits(st.host) {
		return errHostNotAdmitted
	}
	if b.perConns.Of(st.client) >= b.cfg.MaxStreamsPerClient {
		return errTooManyStreamsFromClient
	}
	if len(b.subs) >= b.cfg.MaxStreams {
		return errTooManyStreams
	}
	b.subs[st] = struct{}{}
	b.perConns.Add(st.client)
	return nil
}

// unsubscribe frees st's slots; its handler calls it on the way out, however the stream ended.
func (b *broadcaster) unsubscribe(st *stream) {
	b.mu.Lock()
	if _, ok := b.subs[st]; ok {
		delete(b.subs, st)
		b.perConns.Remove(st.client)
	}
	b.mu.Unlock()
}

// replaceAccess runs store (which installs new access settings) and ends every stream whose
// Host admits refuses, giving a blocked write grace; both under the lock subscribe takes.
func (b *broadcaster) replaceAccess(store func(), admits func(host string) bool, grace time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	store()
	for st := range b.subs {
		if !admits(st.host) {
			st.end(grace)
		}
	}
}

func (b *broadcaster) viewers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// publish offers msg, an event of kind, to every viewer. msg is shared by them all: it must not
// change once published.
func (b *broadcaster) publish(kind eventKind, msg []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for st := range b.subs {
		st.offer(kind, msg)
	}
}

func (b *broadcaster) run(ctx context.Context) {
	defer func() {
		b.mu.Lock()
		b.stopped = true
		b.mu.Unlock()
		close(b.done)
	}()
	statusTick := time.NewTicker(b.cfg.StatusInterval)
	defer statusTick.Stop()
	previewTick := time.NewTicker(b.cfg.PreviewInterval)
	defer previewTick.Stop()
	var previews []Preview
	var pbuf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-statusTick.C:
			if b.viewers() == 0 {
				continue
			}
			snap := b.cfg.Provider.Snapshot()
			snap.Controls = b.controls()
			body, err := json.Marshal(snap)
			if err != nil {
				continue
			}
			b.publish(statusEvent, sseEvent("status", body))
		case <-previewTick.C:
			if b.viewers() == 0 {
				continue
			}
			previews = b.cfg.Provider.Previews(previews[:0])
			pbuf = appendPreviewJSON(pbuf[:0], previews)
			b.publish(previewEvent, sseEvent("preview", pbuf))
		}
	}
}

// appendPreviewJSON writes {"<id>":{"rgbw":false,"px":"<base64>"},…}.
func appendPreviewJSON(dst []byte, previews []Preview) []byte {
	dst = append(dst, '{')
	for i, p := range previews {
		if i > 0 {
			dst = append(dst, ',')
		}
		id, _ := json.Marshal(p.ID)
		dst = append(dst, id...)
		dst = append(dst, `:{"rgbw":`...)
		dst = strconv.AppendBool(dst, p.RGBW)
		dst = append(dst, `,"px":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, p.Pixels)
		dst = append(dst, `"}`...)
	}
	return append(dst, '}')
}

// sseEvent frames one event; data must be a single line (JSON is).
func sseEvent(name string, data []byte) []byte {
	msg := make([]byte, 0, len(name)+len(data)+16)
	msg = append(msg, "event: "...)
	msg = append(msg, name...)
	msg = append(msg, "\ndata: "...)
	msg = append(msg, data...)
	return append(msg, "\n\n"...)
}
