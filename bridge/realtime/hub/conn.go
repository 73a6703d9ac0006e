package hub

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// frame is one encoded server frame. A fan-out shares one frame between every recipient's queue,
// so frames are reference-counted and recycled through a free list once the last writer is done:
// steady broadcast traffic allocates nothing. A frame is never modified after encoding.
type frame struct {
	data   []byte
	binary bool
	refs   atomic.Int32
}

// The free list is a bounded channel rather than a sync.Pool so that what it keeps is explicit:
// at most freeFrames × maxPooledFrame bytes (4 MiB), whatever the traffic was.
const (
	freeFrames     = 256
	maxPooledFrame = 16 << 10 // rare larger frames are left to the garbage collector
)

var freeList = make(chan *frame, freeFrames)

// newFrame returns an empty frame holding one reference, owned by the caller.
func newFrame(binary bool) *frame {
	var f *frame
	select {
	case f = <-freeList:
		f.data = f.data[:0]
	default:
		f = &frame{data: make([]byte, 0, 512)}
	}
	f.binary = binary
	f.refs.Store(1)
	return f
}

func (f *frame) retain() { f.refs.Add(1) }

// release drops one reference; the last one returns the frame to the free list.
func (f *frame) release() {
	if f.refs.Add(-1) != 0 || cap(f.data) > maxPooledFrame {
		return
	}
	select {
	case freeList <- f:
	default:
	}
}

// conn is one client socket. Its reader runs on the HTTP handler's goroutine (serve) and owns
// channels and the rate budgets; its writer goroutine owns every write to ws.
//
// Reads and writes use ctx, which only drop cancels (coder/websocket watches it with
// context.AfterFunc, no per-frame timer): cancelling it closes the socket even while a close
// handshake or a write is stuck, which CloseNow alone cannot do. The idle and write-stall timeouts
// are two reusable timers.
type conn struct {
	s      *Server
	vsn    wire.Version
	remote string
	addr   string // the remote address this socket counts against (clientaddr.Key)
	ws     *websocket.Conn
	// tcp is ws's TCP connection when the server runs on Serve (nil under a Handler mounted
	// elsewhere). While coder/websocket waits for a peer's close frame (up to 5 s) it holds the
	// socket's read lock and reads with a context of its own, so neither cancelling ctx nor
	// CloseNow can end it; closing tcp can. Set before the socket's goroutines start.
	tcp    net.Conn
	ctx    context.Context
	cancel context.CancelFunc
	out    chan *frame
	// done is closed, once, when the socket must end; the writer then closes ws.
	done      chan struct{}
	closeOnce sync.Once
	closeCode websocket.StatusCode // set with done; 0 means drop without a handshake
	closeText string               // the close frame's reason (at most 123 bytes)
	reason    atomic.Pointer[string]
	queued    atomic.Int64 // bytes in out, bounded by Config.OutboundQueueBytes
	// probing is set while the reader waits for another socket's pong (holderAnswers): it reads
	// nothing meanwhile, so it cannot answer a probe of its own.
	probing atomic.Bool

	idleTimer  *time.Timer // reset on every frame read
	writeTimer *time.Timer // armed while a write is in progress

	// Reader-goroutine state.
	channels   map[string]*member // joined channels by topic
	budget     rateBudget         // Config.MaxMessagesPerSecond and MaxBytesPerSecond (ratelimit.go)
	client     *addressBudget     // its client's budgets (nil when the table had no room for them)
	reserve    rateBudget         // its reserve of its client's frame budgets (addressBudgets.admitFrame)
	limited    bool               // budget ran out: channels were shut down, frames are dropped
	flood      rateBudget         // the frames dropped while limited, at floodFactor times the limits
	heartbeats tokenBucket        // heartbeats, which budget does not count (admitHeartbeat)
	// presenceWindows are the track/untrack windows by topic. They belong to the socket, not to
	// a channel membership, so that leaving and rejoining a topic does not reset the limit. At
	// most MaxChannelsPerClient (admitPresence).
	presenceWindows map[string]*presenceWindow
	readBuf         []byte
	msg             wire.Message
	bin             wire.UserBroadcast
}

func newConn(s *Server, ws *websocket.Conn, vsn wire.Version, remote string) *conn {
	ws.SetReadLimit(s.cfg.MaxFrameBytes)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		ctx:      ctx,
		cancel:   cancel,
		s:        s,
		vsn:      vsn,
		remote:   remote,
		ws:       ws,
		out:      make(chan *frame, s.cfg.OutboundQueueFrames),
		done:     make(chan struct{}),
		channels: make(map[string]*member),
	}
	c.idleTimer = time.AfterFunc(c.s.cfg.IdleTimeout, func() {
		c.close(websocket.StatusPolicyViolation, "idle timeout: no heartbeat")
	})
	c.writeTimer = time.AfterFunc(time.Hour, func() {
		c.s.stats.slowClients.Add(1)
		c.drop("write stalled")
	})
	c.writeTimer.Stop()
	return c
}

// serve runs the reader until the socket ends, then leaves every channel and waits for the writer.
func (c *conn) serve() {
	defer c.cancel()
	writerDone := make(chan struct{})
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		defer close(writerDone)
		c.writeLoop()
	}()
	err := c.readLoop()
	c.idleTimer.Stop()
	if c.reason.Load() == nil {
		c.setReason(describeReadError(err))
	}
	c.leaveAll()
	c.close(websocket.StatusNormalClosure, "")
	<-writerDone
	c.writeTimer.Stop()
}

func describeReadError(err error) string {
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		return "frame larger than the server's limit"
	case websocket.CloseStatus(err) != -1:
		return "closed by client: " + websocket.CloseStatus(err).String()
	default:
		return err.Error()
	}
}

func (c *conn) readLoop() error {
	for {
		typ, data, err := c.readFrame()
		if err != nil {
			return err
		}
		c.idleTimer.Reset(c.s.cfg.IdleTimeout)
		c.s.stats.framesIn.Add(1)
		c.s.stats.bytesIn.Add(uint64(len(data)))
		if c.ending() {
			continue // closing (e.g. after invalid UTF-8): read on for the close handshake only
		}
		c.receive(typ, data)
		if cap(c.readBuf) > maxPooledFrame {
			c.readBuf = nil // do not keep a rare large frame's buffer for the socket's lifetime
		}
	}
}

// readFrame reads one message into the connection's reusable buffer (valid until the next call).
// SetReadLimit bounds it: a larger message fails with ErrMessageTooBig and closes the socket (1009).
func (c *conn) readFrame() (websocket.MessageType, []byte, error) {
	typ, r, err := c.ws.Reader(c.ctx)
	if err != nil {
		return 0, nil, err
	}
	buf := c.readBuf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, err
		}
	}
	c.readBuf = buf
	return typ, buf, nil
}

// maxHeartbeatFrame is the largest frame taken for a heartbeat: supabase-js's are about 40 bytes
// (`[null,"12","phoenix","heartbeat",{}]`), 70 on vsn 1.0.0. A larger one is rate-limited like
// any other frame, so that exempting heartbeats exempts no bytes worth counting.
const maxHeartbeatFrame = 128

// heartbeatMark is in every heartbeat frame; frames without it are not decoded twice.
var heartbeatMark = []byte(`"heartbeat"`)

// receive applies the rate limits to one frame read from the client, then handles it. Heartbeats
// are admitted on their own terms (admitHeartbeat): the Realtime server answers them in the socket,
// outside any channel, and counts only channel messages against its rate limits.
func (c *conn) receive(typ websocket.MessageType, data []byte) {
	if typ == websocket.MessageText && len(data) <= maxHeartbeatFrame && bytes.Contains(data, heartbeatMark) &&
		utf8.Valid(data) && c.vsn.DecodeText(data, &c.msg) == nil && c.msg.Topic == "phoenix" && c.msg.Event == "heartbeat" {
		if c.admitHeartbeat() {
			c.reply(c.msg.JoinRef, c.msg.Ref, c.msg.Topic, okEmptyReply)
		}
		return
	}
	if c.admit(len(data)) {
		c.handleFrame(typ, data)
	}
}

// admitHeartbeat admits a heartbeat outside the message and byte budgets: dropping one because
// the socket went over its message rate (a burst of broadcasts) would make supabase-js, 25 s
// later, declare the connection dead and reconnect. Heartbeats still have a budget of their own:
// a socket sending them at more than ten times MaxMessagesPerSecond (beyond a second's worth) is
// closed, like any other flood.
func (c *conn) admitHeartbeat() bool {
	r := c.s.limits.floodMsgs
	if !r.on() {
		return true
	}
	c.heartbeats.refill(c.s.cfg.Now(), r)
	if c.heartbeats.holds(1, r) {
		c.heartbeats.level--
		return true
	}
	c.s.stats.rateLimited.Add(1)
	c.close(websocket.StatusPolicyViolation, "too many heartbeats per second")
	return false
}

// admit applies the per-socket message and byte budgets to a frame of n bytes. They are averages
// (token buckets holding burstSeconds of the rate, see ratelimit.go), as hosted Supabase's limit
// is: a burst passes, a sustained rate above the limit does not. The frame that finds a budget
// spent shuts every channel down with the Realtime server's "Too many messages per second" (or
// "… bytes …") system error; the socket's frames are then dropped until it has earned back a
// second's worth of both budgets. A socket that keeps sending at ten times a limit meanwhile is
// closed.
func (c *conn) admit(n int) bool {
	l := &c.s.limits
	if !l.msgs.on() && !l.bytes.on() {
		return true
	}
	now := c.s.cfg.Now()
	c.budget.refill(now, l.msgs, l.bytes)
	if c.limited && c.budget.holdsASecond(l.msgs, l.bytes) && c.s.addrs.frameBudgetsHoldASecond(now, c.client, &c.reserve) {
		c.limited = false
	}
	var overMsgs, overBytes bool
	if !c.limited {
		if overMsgs, overBytes = c.budget.over(1, int64(n), l.msgs, l.bytes); !overMsgs && !overBytes {
			// Its client's sockets share the client's budgets too (addressBudgets.admitFrame).
			if overMsgs, overBytes = c.s.addrs.admitFrame(now, c.client, &c.reserve, int64(n)); !overMsgs && !overBytes {
				c.budget.take(1, int64(n))
				return true
			}
		}
	}
	// Counted before the client hears of it (the system error below), so that Stats read after
	// that includes it.
	c.s.stats.rateLimited.Add(1)
	if !c.limited {
		c.limited = true
		suppressed, logIt := c.s.rateLimitLog.Allow(now)
		if overMsgs {
			if logIt {
				c.s.log.Info("hub: client over message rate limit", "remote", c.remote, "limit", c.s.cfg.MaxMessagesPerSecond, "suppressed", suppressed)
			}
			c.shutdownAll("Too many messages per second")
		} else {
			if logIt {
				c.s.log.Info("hub: client over byte rate limit", "remote", c.remote, "limit_bytes", c.s.cfg.MaxBytesPerSecond, "suppressed", suppressed)
			}
			c.shutdownAll("Too many bytes per second")
		}
		return false
	}
	c.flood.refill(now, l.floodMsgs, l.floodBytes)
	floodMsgs, floodBytes := c.flood.over(1, int64(n), l.floodMsgs, l.floodBytes)
	c.flood.take(1, int64(n))
	switch {
	case floodMsgs:
		c.close(websocket.StatusPolicyViolation, "too many messages per second")
	case floodBytes:
		c.close(websocket.StatusPolicyViolation, "too many bytes per second")
	}
	return false
}

// send queues f without blocking, taking over the caller's reference to it. A full queue means
// the client is not reading fast enough: it is dropped, so that the room never waits for it.
func (c *conn) send(f *frame) {
	select {
	case <-c.done:
		f.release()
		return
	default:
	}
	n := int64(len(f.data))
	if c.queued.Add(n) > c.s.cfg.OutboundQueueBytes {
		c.queued.Add(-n)
		f.release()
		c.dropSlow("outbound queue over its byte limit")
		return
	}
	// Counted before the frame can reach the client, so that Stats read by someone who has seen
	// the frame arrive includes it. A frame that finds the queue full is counted too: it goes
	// with its client, which SlowClients counts.
	c.s.stats.framesOut.Add(1)
	c.s.stats.bytesOut.Add(uint64(n))
	select {
	case c.out <- f:
	default:
		c.queued.Add(-n)
		f.release()
		c.dropSlow("outbound queue full")
	}
}

func (c *conn) dropSlow(reason string) {
	total := c.s.stats.slowClients.Add(1)
	if suppressed, ok := c.s.slowClientLog.Allow(c.s.cfg.Now()); ok {
		c.s.log.Info("hub: dropping slow client", "remote", c.remote, "reason", reason, "queued_frames", len(c.out),
			"queued_bytes", c.queued.Load(), "suppressed", suppressed, "slow_clients_total", total)
	}
	c.drop(reason)
}

func (c *conn) writeLoop() {
	defer c.discardQueued()
	for {
		select {
		case f := <-c.out:
			if !c.write(f) {
				return
			}
		case <-c.done:
			if c.closeCode == 0 {
				c.ws.CloseNow()
				return
			}
			// Flush what was queued before the close (a system error, a phx_close), then say goodbye.
			for {
				select {
				case f := <-c.out:
					if !c.write(f) {
						return
					}
					continue
				default:
				}
				break
			}
			c.writeTimer.Reset(c.s.cfg.WriteTimeout)
			c.ws.Close(c.closeCode, c.closeText)
			c.writeTimer.Stop()
			return
		}
	}
}

func (c *conn) write(f *frame) bool {
	typ := websocket.MessageText
	if f.binary {
		typ = websocket.MessageBinary
	}
	c.writeTimer.Reset(c.s.cfg.WriteTimeout)
	err := c.ws.Write(c.ctx, typ, f.data)
	c.writeTimer.Stop()
	c.queued.Add(-int64(len(f.data)))
	f.release()
	if err != nil {
		c.setReason("write: " + err.Error())
		c.drop("write failed")
		return false
	}
	return true
}

// discardQueued releases the frames left in the queue when the writer stops.
func (c *conn) discardQueued() {
	for {
		select {
		case f := <-c.out:
			c.queued.Add(-int64(len(f.data)))
			f.release()
		default:
			return
		}
	}
}

// ending reports whether the socket is being closed; its frames are no longer handled.
func (c *conn) ending() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *conn) setReason(r string) { c.reason.CompareAndSwap(nil, &r) }

func (c *conn) closeReason() string {
	if r := c.reason.Load(); r != nil {
		return *r
	}
	return ""
}

// close ends the socket with a close handshake after flushing its queue.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		if reason != "" {
			c.setReason(reason)
		}
		c.closeCode = code
		c.closeText = reason
		close(c.done)
	})
}

// drop ends the socket at once, without a close handshake: its writer may be stuck.
func (c *conn) drop(reason string) {
	c.closeOnce.Do(func() {
		c.setReason(reason)
		close(c.done)
	})
	if c.cancel != nil {
		c.cancel()
	}
	if c.tcp != nil {
		c.tcp.Close() // first: CloseNow waits for a close handshake in progress to give up
	}
	if c.ws != nil { // nil only for the fuzz target's socketless conns
		c.ws.CloseNow()
	}
}
