package realtime

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// Phoenix and Supabase event names.
const (
	evJoin          = "phx_join"
	evReply         = "phx_reply"
	evLeave         = "phx_leave"
	evClose         = "phx_close"
	evError         = "phx_error"
	evHeartbeat     = "heartbeat"
	evPresence      = "presence"
	evPresenceState = "presence_state"
	evPresenceDiff  = "presence_diff"
	evBroadcast     = "broadcast"
	evAccessToken   = "access_token"
	evSystem        = "system"
	topicPhoenix    = "phoenix"
)

// readLimitFactor: frames up to MaxFrameSize×readLimitFactor are read and discarded; beyond that
// the WebSocket library closes the socket.
const readLimitFactor = 16

type requestOp string

const (
	opPresence  requestOp = "presence"
	opBroadcast requestOp = "broadcast"
)

// request is an API call handed to the session loop. done is buffered and answered exactly once.
type request struct {
	op      requestOp
	event   string
	payload json.RawMessage
	done    chan error
}

func (r *request) answer(err error) {
	if r != nil && r.done != nil {
		r.done <- err
	}
}

// pendingPush is a push waiting for its phx_reply, and the API calls waiting for that reply.
type pendingPush struct {
	op      string // "track", "untrack", "broadcast"
	waiters []*request
	sent    time.Time
}

func (p pendingPush) answer(err error) {
	for _, r := range p.waiters {
		r.answer(err)
	}
}

func waiting(r *request) []*request {
	if r == nil {
		return nil
	}
	return []*request{r}
}

// inbound is one decoded frame from the reader goroutine. Its byte fields alias a frame buffer that
// belongs to it alone.
type inbound struct {
	// droppedState marks a presence_state frame of our topic dropped as oversize (nothing else set).
	droppedState bool
	binary       bool
	msg          wire.Message       // a text frame
	bin          wire.UserBroadcast // a binary frame
}

// session is one WebSocket connection's lifetime. Its loop owns every field below the channels.
type session struct {
	c    *Client
	conn *websocket.Conn
	// tcp is conn's network connection (nil if the HTTP client's transport did not report it).
	// While coder/websocket waits for the peer's close frame it holds the read lock and reads
	// with a context of its own for up to 5 s, which cancelling readCtx cannot end; closing tcp
	// can.
	tcp net.Conn
	ctx context.Context // the socket's own context, cancelled when the session ends
	// readCtx is the read loop's context. Cancelling it makes the library close the connection at
	// once, which is what bounds a close whose peer never answers (CloseNow cannot interrupt a
	// Close in progress).
	readCtx    context.Context
	cancelRead context.CancelFunc
	inbox      chan inbound
	readDone   chan struct{}
	readErr    error // set before readDone closes
	// binarySentAt is when the last binary broadcast was written; binarySent says one was.
	binarySentAt time.Time
	binarySent   bool
	reqs         chan *request
	tokenChanged chan struct{}
	done         chan struct{} // closed when the loop has returned

	buf         []byte
	joinRef     string
	joinPending bool
	joined      bool
	joinedAt    time.Time // when the current join's ok reply arrived
	// stable is set once a join of this socket has lasted a heartbeat interval (stableJoin).
	stable      bool
	hbRef       string
	pending     map[string]pendingPush
	tracked     bool            // the server holds our meta for this join
	sentMeta    json.RawMessage // the meta last pushed on this join
	sentToken   string
	presenceRef string // ref of the latest track/untrack push (its reply may be pending)
	lastSystem  error
	// refusal is the server's refusal of this socket's latest join, until a join is accepted.
	refusal     *ReplyError
	refused     refusalReport // how the latest join sent was refused, if it was
	joinTimer   Timer
	rejoinTimer Timer
	trackTimer  Timer
}

// refusalReport says whether a socket's latest join was refused, and whether that refusal has
// been counted and logged as a failure of the outage: once per refused join, even when the server
// closes the socket right after (TenantNotFound), which Run then reports.
type refusalReport uint8

const (
	notRefused      refusalReport = iota // the latest join is pending, accepted or timed out
	refusalLogged                        // logged with its rejoin (scheduleRejoin)
	refusalUnlogged                      // read as the socket closed: no rejoin, Run logs it
)

// runSession dials, runs one connection until it fails or ctx is cancelled, and reports whether a
// join of the channel lasted (stableJoin) at some point, and whether the connection ended after a
// refusal of its latest join.
func (c *Client) runSession(ctx context.Context) (stable bool, refused refusalReport, err error) {
	conn, tcp, err := c.dial(ctx)
	if err != nil {
		return false, notRefused, err
	}
	conn.SetReadLimit(MaxFrameSize * readLimitFactor)
	sctx, cancel := context.WithCancel(context.Background())
	rctx, cancelRead := context.WithCancel(context.Background())
	defer cancelRead()
	s := &session{
		c: c, conn: conn, tcp: tcp, ctx: sctx, readCtx: rctx, cancelRead: cancelRead,
		inbox:        make(chan inbound, 32),
		readDone:     make(chan struct{}),
		reqs:         make(chan *request),
		tokenChanged: make(chan struct{}, 1),
		done:         make(chan struct{}),
		pending:      map[string]pendingPush{},
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.readLoop()
	}()
	go func() {
		defer wg.Done()
		s.endWritesAfterLeave(ctx, cancel)
	}()
	c.mu.Lock()
	c.active = s
	c.mu.Unlock()
	c.log.Log(ctx, c.reconnectLogLevel(true), "realtime: socket connected", "url", c.logURL)

	err = s.loop(ctx)
	s.noteStable()

	c.mu.Lock()
	c.active = nil
	c.mu.Unlock()
	close(s.done)
	s.closeConn(err)
	cancel()
	wg.Wait()
	s.stopTimers()
	s.failPending(ErrDisconnected)
	if err != nil && s.refusal != nil {
		err = &lostAfterRefusal{refusal: s.refusal, lost: err}
		refused = s.refused
	}
	return s.stable, refused, err
}

// reconnectLogLevel is the level of the lines a socket's connect and its channel's join log: INFO,
// but DEBUG once the outage (client.go) is past its warnings in full (reconnectWarnInFull) and has
// already seen a socket connect or a join that did not last. A server that accepts each socket and
// cuts it right after the join (a flapping link), or refuses each join (a wrong key, a rate limit),
// then writes the outage's first few cycles in full and afterwards only its summaries, one per
// reconnectSummaryEvery, as for a server that cannot be reached; the socket and join that end a
// real outage (none came since it began) are still logged at INFO, once.
// socket says the line is a socket's connect, which the outage notes.
func (c *Client) reconnectLogLevel(socket bool) slog.Level {
	c.mu.Lock()
	defer c.mu.Unlock()
	connectedBefore := socket && c.outage.socketConnected
	if socket {
		c.outage.socketConnected = true
	}
	if c.outage.failures >= reconnectWarnInFull && (connectedBefore || c.lastJoin.After(c.outage.since)) {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// stableJoin reports whether the channel is joined and has been for at least a heartbeat interval
// (one heartbeat round trip could have failed it): only such a join proves the cause of earlier
// failures gone, so only it resets the rejoin and reconnect backoff. A server that accepts each
// join and shuts it down at once (a project over its message rate, a rate-limited track) thus
// gets rejoins at 1, 2, 5, 10 s, not every second.
func (s *session) stableJoin() bool {
	return s.joined && s.c.cfg.Clock.Now().Sub(s.joinedAt) >= s.c.cfg.HeartbeatInterval
}

// noteStable is called when the current join ends (or the socket does): if it lasted, the rejoin
// schedule starts again from its first step.
func (s *session) noteStable() {
	if s.stableJoin() {
		s.stable = true
		s.c.rejoinAttempt = 0
	}
}

// dial opens the WebSocket and returns it with its network connection (under TLS, the TCP
// connection beneath it, so that closing it never waits to send a TLS alert), if the transport
// reported it. A refused upgrade becomes a HandshakeError with the server's message. Errors never
// carry the URL's API key.
func (c *Client) dial(ctx context.Context) (*websocket.Conn, net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.PushTimeout)
	defer cancel()
	var (
		mu  sync.Mutex
		tcp net.Conn
	)
	dctx = httptrace.WithClientTrace(dctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		nc := info.Conn
		if tc, ok := nc.(*tls.Conn); ok {
			nc = tc.NetConn()
		}
		mu.Lock()
		tcp = nc // the last one: a redirect's connection is not the WebSocket's
		mu.Unlock()
	}})
	conn, resp, err := websocket.Dial(dctx, c.wsURL, &websocket.DialOptions{HTTPClient: c.cfg.HTTPClient})
	if err == nil {
		mu.Lock()
		defer mu.Unlock()
		return conn, tcp, nil
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		herr := &HandshakeError{StatusCode: resp.StatusCode}
		if resp.Body != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(body, &e) == nil {
				herr.Message = c.redact(e.Error)
			}
		}
		return nil, nil, herr
	}
	// The library's error quotes the URL with its apikey: keep only a redacted copy of the text.
	return nil, nil, fmt.Errorf("realtime: dial %s: %w", c.logURL, errors.New(c.redact(err.Error())))
}

// endWritesAfterLeave cancels the socket's writes (cancelWrites, the session context's cancel)
// LeaveTimeout after ctx ends, unless the session ends first. A write waits up to PushTimeout
// (10 s) for a server that has stopped reading, and the loop notices ctx only between writes: so
// a half-open link whose send buffer filled up held shutdown for 10 s, past the daemon's 2 s
// budget. LeaveTimeout is what the leave may take anyway.
func (s *session) endWritesAfterLeave(ctx context.Context, cancelWrites context.CancelFunc) {
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
		return
	}
	t := s.c.cfg.Clock.NewTimer(s.c.cfg.LeaveTimeout)
	defer t.Stop()
	select {
	case <-t.C():
		cancelWrites()
	case <-s.ctx.Done():
	}
}

// closeConn closes the socket: a normal close (with "heartbeat timeout" as reason when that was
// the cause), giving the peer LeaveTimeout to answer before the connection is cut by cancelling
// the read loop's context.
func (s *session) closeConn(cause error) {
	reason := ""
	if errors.Is(cause, ErrHeartbeatTimeout) {
		reason = "heartbeat timeout"
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = s.conn.Close(websocket.StatusNormalClosure, reason)
	}()
	t := s.c.cfg.Clock.NewTimer(s.c.cfg.LeaveTimeout)
	defer t.Stop()
	select {
	case <-closed:
	case <-t.C():
		s.cancelRead()
		if s.tcp != nil {
			s.tcp.Close()
		}
		<-closed
	}
}

// readLoop reads frames, drops oversize and malformed ones, and hands the rest to the loop.
func (s *session) readLoop() {
	defer close(s.readDone)
	c := s.c
	var (
		buf     bytes.Buffer // reused for reading; each accepted frame gets one exact-size copy
		limited io.LimitedReader
		// Decoding into long-lived values lets the decoders keep the topic and event strings of the
		// previous frame when they repeat; the copies handed to the loop share them (strings are
		// immutable).
		lastMsg wire.Message
		lastBin wire.UserBroadcast
	)
	for {
		// readCtx is cancelled only when a close times out (coder/websocket 1.8 watches it with
		// context.AfterFunc, no timer per frame); normally closing the socket ends the read.
		typ, r, err := s.conn.Reader(s.readCtx)
		if err != nil {
			s.readErr = err
			return
		}
		buf.Reset()
		limited = io.LimitedReader{R: r, N: MaxFrameSize + 1}
		if _, err := buf.ReadFrom(&limited); err != nil {
			s.readErr = err
			return
		}
		data := buf.Bytes()
		if buf.Cap() > 64<<10 && len(data) < 4<<10 {
			buf = bytes.Buffer{} // do not keep a huge buffer alive after one big frame
		}
		if len(data) > MaxFrameSize {
			n, err := io.Copy(io.Discard, r)
			if err != nil {
				s.readErr = err
				return
			}
			c.stats.oversize.Add(1)
			c.malformed("oversize", fmt.Errorf("frame of %d bytes: %w", int64(len(data))+n, wire.ErrFrameTooLarge))
			if typ == websocket.MessageText && s.isPresenceState(data) {
				select {
				case s.inbox <- inbound{droppedState: true}:
				case <-s.ctx.Done():
					s.readErr = s.ctx.Err()
					return
				}
			}
			continue
		}
		c.stats.framesIn.Add(1)
		data = bytes.Clone(data)
		var in inbound
		if typ == websocket.MessageBinary {
			in.binary = true
			if err := wire.DecodeBinary(data, &lastBin); err != nil {
				c.malformed("binary", err)
				continue
			}
			in.bin = lastBin
			if in.bin.Kind != wire.KindUserBroadcast {
				c.malformed("binary", fmt.Errorf("server sent %v: %w", in.bin.Kind, wire.ErrUnknownKind))
				continue
			}
		} else {
			if err := c.version.DecodeText(data, &lastMsg); err != nil {
				c.malformed("text", err)
				continue
			}
			in.msg = lastMsg
		}
		select {
		case s.inbox <- in:
		case <-s.ctx.Done():
			s.readErr = s.ctx.Err()
			return
		}
	}
}

// isPresenceState reports whether a text frame's first bytes (of a frame too large to decode) are
// those of a presence_state on our topic: V2 `[join_ref,ref,"<topic>","presence_state",…` or the
// V1 object, whose keys the server writes sorted ({"event":"presence_state",…,"topic":…}).
func (s *session) isPresenceState(data []byte) bool {
	head := data[:min(len(data), 1024)]
	if s.c.version == wire.V1 {
		return bytes.Contains(head, []byte(`"event":"presence_state"`))
	}
	topic, _ := json.Marshal(s.c.topic)
	return bytes.Contains(head, append(topic, `,"presence_state",`...))
}

// timerC returns t's channel, or nil (never ready) for an unarmed timer.
func timerC(t Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C()
}

func stopTimer(t *Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

func (s *session) stopTimers() {
	stopTimer(&s.joinTimer)
	stopTimer(&s.rejoinTimer)
	stopTimer(&s.trackTimer)
}

// loop runs the connection: join, heartbeats, inbound frames, API requests and timers. It returns
// nil when ctx is cancelled (after leaving the channel), or the error that ended the connection.
func (s *session) loop(ctx context.Context) error {
	c := s.c
	if err := s.sendJoin(); err != nil {
		return err
	}
	heartbeat := c.cfg.Clock.NewTimer(c.cfg.HeartbeatInterval)
	defer func() { heartbeat.Stop() }()
	for {
		select {
		case <-ctx.Done():
			s.leave()
			return nil
		case <-s.readDone:
			if s.binaryBroadcastFailed() {
				c.textBroadcasts.Store(true)
				c.log.Warn("realtime: the server closed the socket right after a binary broadcast, before sending anything else: "+
					"it cannot decode them (Realtime before v2.63); broadcasts are sent as JSON text from now on",
					"close", c.redact(s.readErr.Error()))
			}
			// The frames read before the close come first: a server that refuses the join and
			// disconnects (TenantNotFound) sends the refusal right before its close frame.
			s.handleRead()
			return fmt.Errorf("realtime: socket closed: %w", s.readErr)
		case in := <-s.inbox:
			if in.droppedState {
				s.presenceStateDropped()
				continue
			}
			if err := s.handle(&in); err != nil {
				return err
			}
		case r := <-s.reqs:
			if err := s.handleRequest(r); err != nil {
				return err
			}
		case <-s.tokenChanged:
			if s.rejoinTimer != nil {
				// Waiting to rejoin (perhaps because the server refused the old token): a new
				// token is a new chance, taken now and with the backoff from its first step.
				stopTimer(&s.rejoinTimer)
				c.rejoinAttempt = 0
				c.stats.rejoins.Add(1)
				if err := s.sendJoin(); err != nil {
					return err
				}
				continue
			}
			if err := s.sendToken(); err != nil {
				return err
			}
		case <-heartbeat.C():
			if s.hbRef != "" {
				c.stats.heartbeatTimeouts.Add(1)
				return ErrHeartbeatTimeout
			}
			s.hbRef = c.nextRef()
			if err := s.write(&wire.Message{Ref: wire.RefOf(s.hbRef), Topic: topicPhoenix, Event: evHeartbeat}); err != nil {
				return err
			}
			s.expirePending()
			heartbeat = c.cfg.Clock.NewTimer(c.cfg.HeartbeatInterval)
		case <-timerC(s.joinTimer):
			s.joinTimer = nil
			if s.joinPending {
				// As phoenix.js does on a join timeout: leave that join, then rejoin with backoff.
				if err := s.write(s.channelMsg(c.nextRef(), evLeave, nil)); err != nil {
					return err
				}
				s.scheduleRejoin(fmt.Errorf("realtime: join: %w", ErrTimeout))
			}
		case <-timerC(s.rejoinTimer):
			s.rejoinTimer = nil
			c.stats.rejoins.Add(1)
			if err := s.sendJoin(); err != nil {
				return err
			}
		case <-timerC(s.trackTimer):
			s.trackTimer = nil
			if err := s.syncPresence(nil); err != nil {
				return err
			}
		}
	}
}

// handleRead handles the frames the read loop queued before the socket closed. Their answers
// cannot be sent any more: write errors are the closed socket's, already being reported.
func (s *session) handleRead() {
	for {
		select {
		case in := <-s.inbox:
			if in.droppedState {
				s.presenceStateDropped()
				continue
			}
			_ = s.handle(&in)
		default:
			return
		}
	}
}

// socketClosed reports whether the read loop has ended: the socket is gone, and what is still
// handled was read before its close (handleRead).
func (s *session) socketClosed() bool {
	select {
	case <-s.readDone:
		return true
	default:
		return false
	}
}

// crashWindow is how soon after a binary broadcast a lost socket counts as the server failing
// on it: an old server's socket process crashes as it reads the frame.
const crashWindow = time.Second

// binaryBroadcastFailed reports whether the socket, now closed, was lost right after a binary
// broadcast (within crashWindow) the way a Realtime server before v2.63 loses it: its V2
// serializer has no clause for kind 3, the socket process crashes and the web server closes with
// 1011 (internal error), again after every reconnect. A 1011 says so at once. A drop without a
// close frame (a reset, a Wi-Fi loss; also that crash, when our read ends before its close frame
// arrives) says so only the second time in a row: one such drop after a broadcast is ordinary.
func (s *session) binaryBroadcastFailed() bool {
	c := s.c
	if !s.binarySent || c.cfg.Clock.Now().Sub(s.binarySentAt) > crashWindow || c.textBroadcasts.Load() {
		c.droppedAfterBinary = 0
		return false
	}
	switch websocket.CloseStatus(s.readErr) {
	case websocket.StatusInternalError:
		return true
	case -1:
		c.droppedAfterBinary++
		return c.droppedAfterBinary >= 2
	}
	c.droppedAfterBinary = 0
	return false
}

// write encodes m with the socket's serializer and sends it.
func (s *session) write(m *wire.Message) error {
	var err error
	if s.buf, err = s.c.version.AppendText(s.buf[:0], m); err != nil {
		return fmt.Errorf("realtime: encode %s: %w", m.Event, err)
	}
	return s.send(websocket.MessageText, s.buf)
}

func (s *session) send(typ websocket.MessageType, data []byte) error {
	wctx, cancel := context.WithTimeout(s.ctx, s.c.cfg.PushTimeout)
	defer cancel()
	if err := s.conn.Write(wctx, typ, data); err != nil {
		return fmt.Errorf("realtime: write: %w", err)
	}
	s.c.stats.framesOut.Add(1)
	return nil
}

// channelMsg is a push on our topic with the current join_ref.
func (s *session) channelMsg(ref, event string, payload json.RawMessage) *wire.Message {
	return &wire.Message{JoinRef: wire.RefOf(s.joinRef), Ref: wire.RefOf(ref), Topic: s.c.topic, Event: event, Payload: payload}
}

// joinPayload is phx_join's payload (PROTOCOL.md §1; supabase-js 2.119.1's shape).
type joinPayload struct {
	Config struct {
		Broadcast struct {
			Ack  bool `json:"ack"`
			Self bool `json:"self"`
		} `json:"broadcast"`
		Presence struct {
			Key     string `json:"key"`
			Enabled bool   `json:"enabled"`
		} `json:"presence"`
		PostgresChanges []struct{} `json:"postgres_changes"`
		Private         bool       `json:"private"`
	} `json:"config"`
	AccessToken string `json:"access_token"`
	Version     string `json:"version"`
}

// sendJoin joins with a new join_ref (= its ref, as phoenix.js does) and arms the join timeout.
func (s *session) sendJoin() error {
	c := s.c
	var p joinPayload
	p.Config.Broadcast.Ack = c.cfg.BroadcastAck
	p.Config.Broadcast.Self = c.cfg.BroadcastSelf
	p.Config.Presence.Key = c.cfg.PresenceKey
	p.Config.Presence.Enabled = true
	p.Config.PostgresChanges = []struct{}{}
	p.Config.Private = c.cfg.Private
	c.mu.Lock()
	p.AccessToken = c.token
	c.mu.Unlock()
	p.Version = c.cfg.ClientVersion
	payload, err := json.Marshal(&p)
	if err != nil {
		return fmt.Errorf("realtime: join payload: %w", err)
	}
	s.failPending(ErrNotJoined) // pushes of an earlier join will never be answered
	s.joinRef = c.nextRef()
	s.joinPending, s.joined = true, false
	s.sentToken = p.AccessToken
	s.tracked, s.sentMeta, s.presenceRef = false, nil, ""
	s.lastSystem = nil
	// Hold presence_diffs until this join's presence_state (which may even precede the reply).
	c.mu.Lock()
	c.presence.joined()
	c.mu.Unlock()
	c.setStatus(StateConnecting, nil, 0)
	if err := s.write(s.channelMsg(s.joinRef, evJoin, payload)); err != nil {
		return err // the socket is lost: an earlier refusal is still the latest answer
	}
	s.refused = notRefused
	stopTimer(&s.joinTimer)
	s.joinTimer = c.cfg.Clock.NewTimer(c.cfg.PushTimeout)
	return nil
}

// scheduleRejoin drops the join and arms the rejoin timer from Config.RejoinBackoff (see
// retryDelay).
func (s *session) scheduleRejoin(cause error) {
	c := s.c
	if s.rejoinTimer != nil {
		return
	}
	s.noteStable()
	s.joined, s.joinPending = false, false
	stopTimer(&s.joinTimer)
	stopTimer(&s.trackTimer)
	s.failPending(ErrNotJoined)
	delay := c.retryDelay(c.cfg.RejoinBackoff, c.rejoinAttempt, cause)
	c.rejoinAttempt++
	c.setStatus(StateReconnecting, cause, delay)
	var refusal *ReplyError
	if errors.As(cause, &refusal) && refusal.Op == "join" {
		c.logJoinRefused(refusal, "realtime: join refused; rejoining", delay) // never joined: nothing was lost
	} else {
		c.log.Warn("realtime: channel lost; rejoining", "err", cause, "in", delay)
	}
	s.rejoinTimer = c.cfg.Clock.NewTimer(delay)
}

// leave sends phx_leave and waits up to LeaveTimeout for its reply (or phx_close).
func (s *session) leave() {
	if !s.joined && !s.joinPending {
		return
	}
	ref := s.c.nextRef()
	if s.write(s.channelMsg(ref, evLeave, nil)) != nil {
		return
	}
	t := s.c.cfg.Clock.NewTimer(s.c.cfg.LeaveTimeout)
	defer t.Stop()
	for {
		select {
		case in := <-s.inbox:
			m := &in.msg
			if !in.binary && m.Topic == s.c.topic &&
				((m.Event == evReply && m.Ref.Value == ref) || m.Event == evClose) {
				s.c.log.Info("realtime: left channel")
				return
			}
		case <-s.readDone:
			return
		case <-t.C():
			return
		}
	}
}

// failPending answers every waiting push with err. Presence pushes lost with the join answer nil
// when err is ErrNotJoined: the meta is tracked again on the next join.
func (s *session) failPending(err error) {
	for ref, p := range s.pending {
		if p.op != "broadcast" && errors.Is(err, ErrNotJoined) {
			p.answer(nil)
		} else {
			p.answer(err)
		}
		delete(s.pending, ref)
	}
}

// expirePending drops pushes older than PushTimeout (their callers have given up), so a server that
// never replies cannot grow the table.
func (s *session) expirePending() {
	now := s.c.cfg.Clock.Now()
	for ref, p := range s.pending {
		if now.Sub(p.sent) > s.c.cfg.PushTimeout {
			p.answer(ErrTimeout)
			delete(s.pending, ref)
		}
	}
}

// handleRequest runs an API call on the loop.
func (s *session) handleRequest(r *request) error {
	switch r.op {
	case opPresence:
		return s.syncPresence(r)
	case opBroadcast:
		return s.sendBroadcast(r)
	}
	r.answer(fmt.Errorf("realtime: unknown request %q", r.op))
	return nil
}

// syncPresence pushes track or untrack if the wanted meta differs from what this join has sent,
// within the rate limit; r (if any) is answered when the reply arrives, or at once when nothing is
// sent now.
func (s *session) syncPresence(r *request) error {
	c := s.c
	if !s.joined {
		r.answer(nil) // tracked on join
		return nil
	}
	c.mu.Lock()
	want := c.meta
	c.mu.Unlock()
	if (want == nil && !s.tracked) || (want != nil && s.tracked && bytes.Equal(want, s.sentMeta)) {
		// Already what the server has, or on its way there: wait for that push's reply, if any.
		if p, ok := s.pending[s.presenceRef]; ok && r != nil {
			p.waiters = append(p.waiters, r)
			s.pending[s.presenceRef] = p
			return nil
		}
		r.answer(nil)
		return nil
	}
	now := c.cfg.Clock.Now()
	if at := c.limiter.next(now); at.After(now) {
		c.stats.presenceDeferred.Add(1)
		if s.trackTimer == nil {
			c.log.Info("realtime: presence push deferred by the rate limit", "in", at.Sub(now))
			s.trackTimer = c.cfg.Clock.NewTimer(at.Sub(now))
		}
		r.answer(nil)
		return nil
	}
	c.limiter.record(now)
	ref := c.nextRef()
	op := "track"
	payload := append([]byte(`{"type":"presence","event":"track","payload":`), want...)
	payload = append(payload, '}')
	if want == nil {
		op = "untrack"
		payload = []byte(`{"type":"presence","event":"untrack"}`)
	}
	if err := s.write(s.channelMsg(ref, evPresence, payload)); err != nil {
		r.answer(err)
		return err
	}
	s.tracked, s.sentMeta = want != nil, want
	s.pending[ref] = pendingPush{op: op, waiters: waiting(r), sent: now}
	s.presenceRef = ref
	return nil
}

// sendBroadcast sends a broadcast as binary kind 3 (vsn 2.0.0 default) or text.
func (s *session) sendBroadcast(r *request) error {
	c := s.c
	if !s.joined {
		r.answer(ErrNotJoined)
		return nil
	}
	ref := c.nextRef()
	var err error
	if c.version == wire.V2 && !c.cfg.BroadcastText && !c.textBroadcasts.Load() {
		b := wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, JoinRef: wire.RefOf(s.joinRef), Ref: wire.RefOf(ref),
			Topic: c.topic, Event: r.event, Encoding: wire.EncodingJSON, Payload: r.payload}
		if s.buf, err = wire.AppendBinary(s.buf[:0], &b); err != nil {
			r.answer(fmt.Errorf("realtime: broadcast %q: %w", r.event, err))
			return nil
		}
		s.binarySent, s.binarySentAt = true, s.c.cfg.Clock.Now()
		err = s.send(websocket.MessageBinary, s.buf)
	} else {
		payload, merr := json.Marshal(struct {
			Type    string          `json:"type"`
			Event   string          `json:"event"`
			Payload json.RawMessage `json:"payload"`
		}{evBroadcast, r.event, r.payload})
		if merr != nil {
			r.answer(fmt.Errorf("realtime: broadcast %q: %w", r.event, merr))
			return nil
		}
		err = s.write(s.channelMsg(ref, evBroadcast, payload))
	}
	if err != nil {
		r.answer(err)
		return err
	}
	if c.cfg.BroadcastAck {
		s.pending[ref] = pendingPush{op: "broadcast", waiters: waiting(r), sent: c.cfg.Clock.Now()}
	} else {
		r.answer(nil)
	}
	return nil
}

// sendToken sends the access_token message if the joined channel has an older token.
func (s *session) sendToken() error {
	c := s.c
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	if !s.joined || token == s.sentToken {
		return nil // a join in progress or to come carries the new token
	}
	payload, err := json.Marshal(struct {
		AccessToken string `json:"access_token"`
	}{token})
	if err != nil {
		return fmt.Errorf("realtime: access_token payload: %w", err)
	}
	if err := s.write(s.channelMsg(c.nextRef(), evAccessToken, payload)); err != nil {
		return err
	}
	s.sentToken = token
	c.log.Info("realtime: access token refreshed")
	return nil
}
