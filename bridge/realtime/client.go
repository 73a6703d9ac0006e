package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// While the server cannot be reached (the venue's internet down overnight, a paused project) the
// socket is retried every ~10 s: the first reconnectWarnInFull failures in a row are logged in
// full, then one line per reconnectSummaryEvery counts the ones held back, so an outage writes a
// few hundred lines a day into journald, not thousands; the join that ends it is logged once.
const (
	reconnectWarnInFull   = 5
	reconnectSummaryEvery = 5 * time.Minute
)

// Client is one Realtime connection joined to one room channel. Create it with New, run it with
// Run; the other methods may be called from any goroutine, before or during Run.
type Client struct {
	// Constant after New.
	cfg     Config
	topic   string
	wsURL   string // contains the API key: never log it, log logURL
	logURL  string
	urlPass string // the password in Config.URL's user info, if any: redacted like the keys
	version wire.Version
	log     *slog.Logger
	events  eventQueue
	closed  chan struct{} // closed when Run returns

	ref     atomic.Uint64 // the last ref sent; refs are shared by all pushes of all sessions
	running atomic.Bool
	stats   stats
	// textBroadcasts is set, for the Client's life, when the server could not take a binary
	// broadcast (see session.binaryBroadcastFailed): broadcasts then go out as JSON text.
	textBroadcasts atomic.Bool
	// droppedAfterBinary counts sockets in a row lost without a close frame right after a binary
	// broadcast (see binaryBroadcastFailed); owned by the connection loop.
	droppedAfterBinary int

	// Used only by the goroutine running Run (and its session loop).
	limiter       callLimiter
	rejoinAttempt int

	// The mutex protects the following elements.
	mu       sync.Mutex
	status   Status
	token    string          // the access_token to send: Config.AccessToken, SetAccessToken, or the API key
	meta     json.RawMessage // the Presence meta we want tracked; nil means untracked
	active   *session        // the connected session, nil between sockets
	presence *presenceTable
	logged   map[string]bool // malformed-input kinds already logged once
	outage   outage          // sockets lost in a row since a join of the channel last lasted
	lastJoin time.Time       // when the channel was last joined
	// joins tells runSessionWatchingJoins that setStatus saw a join (buffered 1: a signal, the time is lastJoin).
	joins chan struct{}
}

// outage is a run of lost sockets without a lasting join between them (one that stableJoin would
// accept: a server that accepts each join and cuts the socket at once is no more reachable than one
// that refuses it), for the reconnect log lines.
type outage struct {
	failures  int
	since     time.Time        // when the first socket of the run was lost
	summaries *lograte.Limiter // paces the lines after the first reconnectWarnInFull
	// socketConnected: a socket connected during the outage (reconnectLogLevel).
	socketConnected bool
}

// New validates cfg and returns a Client. It starts no goroutines.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	version, _ := wire.ParseVersion(cfg.Vsn)
	wsURL, _ := websocketURL(cfg.URL, cfg.APIKey, cfg.Vsn)
	logURL, _ := websocketURL(cfg.URL, "REDACTED", cfg.Vsn)
	var urlPassword string
	if u, err := url.Parse(logURL); err == nil && u.User != nil { // a proxy's user:password@
		urlPassword, _ = u.User.Password()
		u.User = url.UserPassword("REDACTED", "REDACTED")
		logURL = u.String()
	}
	c := &Client{
		cfg:      cfg,
		topic:    "realtime:" + cfg.Channel,
		wsURL:    wsURL,
		logURL:   logURL,
		urlPass:  urlPassword,
		version:  version,
		log:      cfg.Logger.With("component", "realtime", "topic", "realtime:"+cfg.Channel),
		events:   newEventQueue(cfg.EventQueue, cfg.EventQueueBytes),
		closed:   make(chan struct{}),
		limiter:  callLimiter{max: cfg.PresenceMaxCalls, window: cfg.PresenceWindow + presenceWindowMargin},
		token:    cfg.AccessToken,
		presence: newPresenceTable(cfg.MaxPresenceKeys, cfg.MaxMetasPerKey, cfg.MaxMetaBytes, cfg.MaxPresenceBytes),
		logged:   map[string]bool{},
		joins:    make(chan struct{}, 1),
	}
	if c.token == "" {
		c.token = cfg.APIKey
	}
	return c, nil
}

// Topic returns the channel topic, "realtime:<Channel>".
func (c *Client) Topic() string { return c.topic }

// PresenceKey returns this client's Presence key.
func (c *Client) PresenceKey() string { return c.cfg.PresenceKey }

// Events returns the channel of broadcasts and Presence changes. It is bounded (Config.EventQueue
// events and Config.EventQueueBytes of payload): when the consumer falls behind, the oldest events
// are dropped and counted in Stats, except EventPresenceSync, which is never lost (a consumer that
// reads Presence() on each sync always ends up with the current table). It is closed when Run
// returns.
func (c *Client) Events() <-chan Event { return c.events.ch }

// State returns the current connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status.State
}

// Status returns the current connection state with its last error and backoff.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Presence returns a snapshot of the channel's Presence table: key → metas. The table persists
// across reconnects until the next presence_state replaces it.
func (c *Client) Presence() map[string][]Meta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.presence.snapshot()
}

// PresenceView is the Presence table with what tells apart, of the participants it lacks, one
// that left in a leave the server saw from one missing from the server's fresh Presence after a
// rejoin. Client.PresenceView takes it under one lock, so that all of it is of the same moment.
type PresenceView struct {
	// Table is Presence(): key → metas.
	Table map[string][]Meta
	// Join is the number of the join the table follows: 1 for the first, one more for every
	// rejoin, 0 before the first.
	Join uint64
	// Applied reports whether that join's presence_state has been applied (or given up on as
	// unreadable). Until it has, the table is an earlier join's.
	Applied bool
	// Survived reports whether the server's Presence outlived the rejoin: the join's
	// presence_state lists a meta under a ref the table held before it. A room server that
	// restarted gives every meta a new ref, so a key missing from its fresh Presence may be a
	// participant whose own client has not rejoined yet; one missing from a Presence that
	// survived left. False too when the state lists nobody seen before, who could tell.
	Survived bool
	// joinKeys are the keys the join's presence_state listed (read-only: shared with the table).
	joinKeys map[string]struct{}
}

// InJoinState reports whether the join's presence_state listed key: once it is applied, a key
// it listed that the table lacks left in a leave the server saw.
func (v PresenceView) InJoinState(key string) bool {
	_, listed := v.joinKeys[key]
	return listed
}

// PresenceView returns the Presence table with the join it follows (see PresenceView).
func (c *Client) PresenceView() PresenceView {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.presence
	return PresenceView{Table: p.snapshot(), Join: p.joins, Applied: p.joinApplied, Survived: p.survived, joinKeys: p.joinKeys}
}

// Track sets this client's Presence meta (a JSON object; any value encoding/json turns into one,
// or a json.RawMessage). If the channel is joined it is pushed now and Track waits for the
// server's reply; otherwise it is tracked on the next join. It is re-tracked after every rejoin.
// Pushes are rate-limited (Config.PresenceMaxCalls per PresenceWindow): one over the limit is
// deferred, coalesced with later calls, and Track returns nil without waiting.
func (c *Client) Track(ctx context.Context, meta any) error {
	raw, err := marshalPayload(meta)
	if err != nil {
		return fmt.Errorf("realtime: track: %w", err)
	}
	if raw[0] != '{' {
		return fmt.Errorf("realtime: track: %w: meta must be a JSON object", ErrInvalidPayload)
	}
	if len(raw) > MaxFrameSize/2 {
		return fmt.Errorf("realtime: track: %w: meta of %d bytes", ErrInvalidPayload, len(raw))
	}
	c.mu.Lock()
	c.meta = raw
	c.mu.Unlock()
	return c.submit(ctx, &request{op: opPresence}, nil)
}

// Untrack removes this client's Presence meta (now if joined, waiting for the reply; otherwise it
// is simply not tracked on the next join). Like Track, it returns ErrClosed after Run has returned.
func (c *Client) Untrack(ctx context.Context) error {
	c.mu.Lock()
	c.meta = nil
	c.mu.Unlock()
	return c.submit(ctx, &request{op: opPresence}, nil)
}

// Broadcast sends a broadcast with the given user event and payload (marshalled with encoding/json;
// pass json.RawMessage for pre-encoded JSON). On vsn 2.0.0 it is a binary kind-3 frame unless
// Config.BroadcastText, or unless a server closed the socket abnormally right after one (a Realtime
// server before v2.63 cannot decode them: from then on the Client sends text); on vsn 1.0.0 a text
// frame. With Config.BroadcastAck it waits for the
// server's acknowledgement. It returns ErrNotJoined while the channel is not joined.
func (c *Client) Broadcast(ctx context.Context, event string, payload any) error {
	if event == "" || len(event) > 255 {
		return fmt.Errorf("realtime: broadcast: %w: event name must be 1–255 bytes", ErrInvalidPayload)
	}
	raw, err := marshalPayload(payload)
	if err != nil {
		return fmt.Errorf("realtime: broadcast %q: %w", event, err)
	}
	if len(raw) > MaxFrameSize-1024 {
		return fmt.Errorf("realtime: broadcast %q: %w: payload of %d bytes", event, ErrInvalidPayload, len(raw))
	}
	return c.submit(ctx, &request{op: opBroadcast, event: event, payload: raw}, ErrNotJoined)
}

// SetAccessToken replaces the access token (a user JWT; empty means the API key) used for every
// later join and, if the channel is joined, sends it to the server at once with the access_token
// message (as realtime-js's setAuth does). If the channel is waiting to rejoin (after the server
// refused the old token, ErrAccessTokenRejected), it rejoins at once with the new one. It does not
// block.
func (c *Client) SetAccessToken(token string) {
	if token == "" {
		token = c.cfg.APIKey
	}
	c.mu.Lock()
	c.token = token
	s := c.active
	c.mu.Unlock()
	if s != nil {
		select {
		case s.tokenChanged <- struct{}{}:
		default: // a refresh is already pending; it reads the newest token
		}
	}
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats { return c.stats.snapshot() }

func marshalPayload(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		raw = bytes.TrimSpace(raw)
		if !json.Valid(raw) {
			return nil, fmt.Errorf("%w: invalid JSON", ErrInvalidPayload)
		}
		return raw, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPayload, err)
	}
	return raw, nil
}

// submit hands r to the active session and waits for its result. Without a session it returns
// inactive (nil for Presence: it is applied on the next join).
func (c *Client) submit(ctx context.Context, r *request, inactive error) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	c.mu.Lock()
	s := c.active
	c.mu.Unlock()
	if s == nil {
		return inactive
	}
	r.done = make(chan error, 1)
	select {
	case s.reqs <- r:
	case <-s.done:
		return inactive
	case <-ctx.Done():
		return ctx.Err()
	}
	t := c.cfg.Clock.NewTimer(c.cfg.PushTimeout)
	defer t.Stop()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return fmt.Errorf("realtime: %s: %w", r.op, ErrTimeout)
	}
}

// Run connects, joins and keeps the channel joined until ctx is cancelled: it reconnects the socket
// with Config.ReconnectBackoff (plus jitter) and rejoins the channel with Config.RejoinBackoff. On
// cancellation it leaves the channel, closes the socket and returns nil once its goroutines have
// exited. Run may be called once.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer func() {
		c.setStatus(StateClosed, nil, 0)
		close(c.closed)
		close(c.events.ch)
	}()
	c.log.Info("realtime: starting", "url", c.logURL, "vsn", c.cfg.Vsn, "presence_key", c.cfg.PresenceKey)
	attempt := 0
	for {
		c.setStatus(StateConnecting, nil, 0)
		stable, refused, err := c.runSessionWatchingJoins(ctx)
		if ctx.Err() != nil {
			c.log.Info("realtime: stopped")
			return nil
		}
		if stable { // a socket whose join never lasted is no recovery (see stableJoin)
			attempt = 0
			c.endOutage() // if runSessionWatchingJoins' timer had not yet seen the join last
		}
		delay := c.retryDelay(c.cfg.ReconnectBackoff, attempt, err)
		if c.cfg.ReconnectJitter > 0 {
			delay += time.Duration(c.cfg.Rand() * c.cfg.ReconnectJitter * float64(delay))
		}
		attempt++
		c.stats.reconnects.Add(1)
		c.setStatus(StateReconnecting, err, delay)
		switch refused {
		case notRefused:
			c.logSocketLost(err, delay)
		case refusalUnlogged:
			var refusal *ReplyError
			errors.As(err, &refusal)
			c.logJoinRefused(refusal, "realtime: join refused; reconnecting", delay)
		case refusalLogged:
			// Counted and logged as it came: the server closed the socket after it (TenantNotFound),
			// so the same failure is retried with a new socket instead of a rejoin.
			c.log.Debug("realtime: socket closed after join refused; reconnecting", "err", err, "in", delay)
		}
		t := c.cfg.Clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			c.log.Info("realtime: stopped")
			return nil
		case <-t.C():
		}
	}
}

// runSessionWatchingJoins is runSession, with the outage ended once a join of the session has
// lasted a heartbeat interval (stableJoin's test, which resets the backoff), while the session
// goes on: the recovery is logged when it is proven, not at the next loss. The session runs in
// a goroutine that this function owns and waits for (runSession returns when ctx is cancelled).
func (c *Client) runSessionWatchingJoins(ctx context.Context) (stable bool, refused refusalReport, err error) {
	type result struct {
		stable  bool
		refused refusalReport
		err     error
	}
	ended := make(chan result, 1)
	go func() {
		stable, refused, err := c.runSession(ctx)
		ended <- result{stable, refused, err}
	}()
	var lasted Timer // fires a heartbeat interval after the latest join
	var joinedAt time.Time
	defer func() { stopTimer(&lasted) }()
	for {
		select {
		case r := <-ended:
			return r.stable, r.refused, r.err
		case <-c.joins:
			stopTimer(&lasted)
			c.mu.Lock()
			joinedAt = c.lastJoin
			c.mu.Unlock()
			lasted = c.cfg.Clock.NewTimer(c.cfg.HeartbeatInterval)
		case <-timerC(lasted):
			lasted = nil
			c.mu.Lock()
			still := c.status.State == StateJoined && c.lastJoin.Equal(joinedAt) &&
				c.cfg.Clock.Now().Sub(joinedAt) >= c.cfg.HeartbeatInterval
			c.mu.Unlock()
			if still {
				c.endOutage()
			}
		}
	}
}

// endOutage logs the end of the current outage, if there is one, as lasting until the last join.
func (c *Client) endOutage() {
	c.mu.Lock()
	ended, endedAt := c.outage, c.lastJoin
	c.outage = outage{}
	c.mu.Unlock()
	if ended.failures > 0 {
		c.log.Info("realtime: connected again", "failed_attempts", ended.failures,
			"down_for", endedAt.Sub(ended.since).Round(time.Second))
	}
}

// backoffAt returns schedule[attempt], repeating the last value.
func backoffAt(schedule []time.Duration, attempt int) time.Duration {
	return schedule[min(attempt, len(schedule)-1)]
}

// retryDelay is schedule's delay for the attempt-th retry after cause: past the schedule's
// first steps, at least Config.RefusedJoinBackoff after a join refusal that retrying cannot fix
// soon.
func (c *Client) retryDelay(schedule []time.Duration, attempt int, cause error) time.Duration {
	delay := backoffAt(schedule, attempt)
	var refusal *ReplyError
	if attempt >= len(schedule)-1 && errors.As(cause, &refusal) && refusal.lasting() {
		delay = max(delay, c.cfg.RefusedJoinBackoff)
	}
	return delay
}

// logSocketLost logs a lost socket as a failure of the outage (logFailure).
func (c *Client) logSocketLost(err error, delay time.Duration) {
	c.logFailure("realtime: socket lost; reconnecting", "realtime: still reconnecting", "err", err, "in", delay)
}

// logJoinRefused logs a refused join as a failure of the outage (logFailure): a server that
// refuses every join keeps the room out as surely as one that cannot be reached.
// inFull says how it is retried.
func (c *Client) logJoinRefused(refusal *ReplyError, inFull string, delay time.Duration) {
	c.logFailure(inFull, "realtime: join still refused", "reason", refusal.Reason, "in", delay)
}

// logFailure counts a failure in the current outage and logs it as inFull if it is the
// reconnectWarnInFull-th or earlier, later ones as a summary per reconnectSummaryEvery
// (see reconnectWarnInFull).
func (c *Client) logFailure(inFull, summary string, attrs ...any) {
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	o := &c.outage
	if o.failures == 0 {
		o.since, o.summaries = now, &lograte.Limiter{Every: reconnectSummaryEvery}
	}
	o.failures++
	failures, since := o.failures, o.since
	heldBack, summarise := 0, false
	if failures >= reconnectWarnInFull {
		// The last line in full starts the limiter's interval, so the first summary comes
		// reconnectSummaryEvery after it.
		heldBack, summarise = o.summaries.Allow(now)
	}
	c.mu.Unlock()
	switch {
	case failures < reconnectWarnInFull:
		c.log.Warn(inFull, attrs...)
	case failures == reconnectWarnInFull:
		c.log.Warn(inFull, append(attrs,
			"note", fmt.Sprintf("%d failures in a row: further ones are summarised every %v", failures, reconnectSummaryEvery))...)
	case summarise:
		c.log.Warn(summary, append(attrs, "held_back", heldBack,
			"failed_attempts", failures, "down_for", now.Sub(since).Round(time.Second))...)
	}
}

// setStatus records a state change (err nil keeps the last error) and reports it to OnStatus.
// Every join passes here: it is noted for runSessionWatchingJoins, which ends an outage once the
// join has lasted.
func (c *Client) setStatus(state State, err error, retryIn time.Duration) {
	c.mu.Lock()
	if state == StateJoined {
		c.lastJoin = c.cfg.Clock.Now()
		select {
		case c.joins <- struct{}{}:
		default: // a signal is pending: it will read this lastJoin
		}
	}
	changed := state != c.status.State || retryIn != c.status.RetryIn || err != nil
	if err != nil {
		c.status.Err = err
	}
	if state != c.status.State {
		c.status.Since = c.cfg.Clock.Now()
	}
	c.status.State = state
	c.status.RetryIn = retryIn
	cur := c.status
	c.mu.Unlock()
	if changed && c.cfg.OnStatus != nil {
		c.cfg.OnStatus(cur)
	}
}

// noteError records err as the last error without changing the state.
func (c *Client) noteError(err error) {
	c.mu.Lock()
	state, retry := c.status.State, c.status.RetryIn
	c.mu.Unlock()
	c.setStatus(state, err, retry)
}

// malformed counts a dropped input and logs the first of each kind.
func (c *Client) malformed(kind string, err error) {
	c.stats.malformed.Add(1)
	c.mu.Lock()
	first := !c.logged[kind]
	c.logged[kind] = true
	c.mu.Unlock()
	if first {
		c.log.Warn("realtime: dropped malformed input; further ones of this kind are only counted",
			"kind", kind, "err", c.redact(err.Error()))
	}
}

func (c *Client) nextRef() string { return strconv.FormatUint(c.ref.Add(1), 10) }

// redact removes the API key and the access token from s (dial errors quote the URL).
func (c *Client) redact(s string) string {
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	for _, secret := range []string{c.cfg.APIKey, c.cfg.AccessToken, token, c.urlPass} {
		if len(secret) < 4 {
			continue
		}
		// Errors quote the URL, where the key appears query-escapes ("+" → "%2B").
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			s = strings.ReplaceAll(s, form, "REDACTED")
		}
	}
	return s
}

// Stats are the client's counters since New.
type Stats struct {
	FramesIn          uint64 // frames read
	FramesOut         uint64 // frames written
	Malformed         uint64 // frames, payloads or single Presence metas dropped as malformed (including oversize frames)
	Oversize          uint64 // frames over MaxFrameSize, discarded unread
	EventsDropped     uint64 // events dropped because the Events queue was full (by count or by bytes); Presence syncs are coalesced, never dropped
	PresenceOverflow  uint64 // Presence metas dropped for the table bounds, and diffs held for a presence_state dropped for theirs
	PresenceDeferred  uint64 // track/untrack pushes deferred by the rate limit
	Reconnects        uint64 // reconnect attempts: one per lost socket and one per failed retry
	Rejoins           uint64 // channel rejoins on a live socket
	HeartbeatTimeouts uint64
}

type stats struct {
	framesIn, framesOut, malformed, oversize, eventsDropped, presenceOverflow atomic.Uint64
	presenceDeferred, reconnects, rejoins, heartbeatTimeouts                  atomic.Uint64
}

func (s *stats) snapshot() Stats {
	return Stats{
		FramesIn: s.framesIn.Load(), FramesOut: s.framesOut.Load(), Malformed: s.malformed.Load(),
		Oversize: s.oversize.Load(), EventsDropped: s.eventsDropped.Load(),
		PresenceOverflow: s.presenceOverflow.Load(), PresenceDeferred: s.presenceDeferred.Load(),
		Reconnects: s.reconnects.Load(), Rejoins: s.rejoins.Load(), HeartbeatTimeouts: s.heartbeatTimeouts.Load(),
	}
}
