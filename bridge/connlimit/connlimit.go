// Package connlimit bounds the connections an HTTP server's listener hands out: at most Max open
// in all and PerClient from one client (clientaddr.Key). At either cap, the oldest open
// connection without a request in progress (one that has not sent its request headers yet, or a
// keep-alive waiting for its next request) is closed to admit the new one (at PerClient, the
// oldest of that client's), which is refused only when every such connection is being served.
// It is how the status page and the LAN room server keep one LAN host opening connections and
// sending nothing (or sending slowly) to a bounded share of their sockets, goroutines and buffers:
// a host with many addresses dodges PerClient, and without eviction could hold all Max slots with
// bare connections, reconnecting as each timed out, and lock every other client out.
package connlimit

import (
	"container/list"
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clientaddr"
	"github.com/ledbridge/ledbridge/bridge/lograte"
)

// RefusalLogInterval spaces the log lines about refused connections: a host hammering a server
// gets one line per interval, counting the refusals since the last.
const RefusalLogInterval = 10 * time.Second

// Config configures a Listener.
type Config struct {
	// Max bounds the connections open at once; PerClient those from one client (clientaddr.Key).
	// Both must be positive.
	Max, PerClient int
	// Logger receives the refusal lines (default: discard); Subject opens them ("status page").
	Logger  *slog.Logger
	Subject string
	// OnRefuse, when set, is called for each connection the caps close: refused at accept, or
	// evicted at either cap to admit a new one (for a counter).
	OnRefuse func()
}

// Listener is a net.Listener whose Accept returns only connections within its caps. A connection
// it returned gives its slot back when closed (net/http closes every connection it took, on error,
// timeout, client close and shutdown alike), or earlier through Release.
//
// Which connections have a request in progress it learns from the server through Track; without
// it, a connection counts as having one from the first byte it sends on, so only bare
// connections are evicted.
type Listener struct {
	net.Listener
	cfg       Config
	refusals  lograte.Limiter
	evictions lograte.Limiter
	tracked   atomic.Bool // Track was called

	mu sync.Mutex
	// The mutex protects the following elements.
	conns clientaddr.Tally // open connections
	// waiting holds the open connections without a request in progress (*Conn), in the order
	// they became so, oldest first: the eviction order. It holds at most Max.
	waiting list.List
}

// New wraps ln. Zero or negative caps are raised to 1.
func New(ln net.Listener, cfg Config) *Listener {
	cfg.Max, cfg.PerClient = max(cfg.Max, 1), max(cfg.PerClient, 1)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, cfg: cfg,
		refusals: lograte.Limiter{Every: RefusalLogInterval}, evictions: lograte.Limiter{Every: RefusalLogInterval}}
}

// Accept returns the next connection within the caps, closing those past them.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := &Conn{Conn: nc, l: l, client: clientaddr.Key(nc.RemoteAddr().String())}
		if l.admit(c) {
			return c, nil
		}
		_ = nc.Close()
	}
}

// connKey keys the *Conn that Track's ConnContext stores in each request's context.
type connKey struct{}

// Track makes l learn from srv, which must serve l, which of its connections have a request in
// progress: from the moment srv has read a request's headers (its Handler runs) until srv waits
// for the connection's next request (http.StateIdle). It wraps srv's Handler (nil is
// http.DefaultServeMux), ConnContext and ConnState, which must be set before; call it before srv
// serves.
func (l *Listener) Track(srv *http.Server) {
	l.tracked.Store(true)
	next := srv.Handler
	if next == nil {
		next = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*Conn); ok {
			l.setWaiting(c, false)
		}
		next.ServeHTTP(w, r)
	})
	connContext := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, nc net.Conn) context.Context {
		if connContext != nil {
			ctx = connContext(ctx, nc)
		}
		return context.WithValue(ctx, connKey{}, nc)
	}
	connState := srv.ConnState
	srv.ConnState = func(nc net.Conn, state http.ConnState) {
		if c, ok := nc.(*Conn); ok && state == http.StateIdle {
			l.setWaiting(c, true)
		}
		if connState != nil {
			connState(nc, state)
		}
	}
}

// setWaiting records whether c is without a request in progress; a connection that already gave
// its slot back is left alone.
func (l *Listener) setWaiting(c *Conn, waiting bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released || waiting == (c.inWaiting != nil) {
		return
	}
	if waiting {
		c.inWaiting = l.waiting.PushBack(c)
		return
	}
	l.waiting.Remove(c.inWaiting)
	c.inWaiting = nil
}

// Open returns the connections open in all and from client (a clientaddr.Key).
func (l *Listener) Open(client string) (all, fromClient int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns.Total(), l.conns.Of(client)
}

// admit counts c if the caps let it in, evicting the oldest waiting connection at Max (at
// PerClient, the client's own).
func (l *Listener) admit(c *Conn) bool {
	client := c.client
	l.mu.Lock()
	var limit string  // the cap that refuses c ("" for none)
	var evicted *Conn // the connection that gives way to c, at the cap evictedAt
	var evictedAt string
	switch {
	case l.conns.Of(client) >= l.cfg.PerClient:
		// The client's own oldest connection without a request gives way (review 320: a program
		// holding bare connections from ledbridge's address kept its session from its own hub).
		if evicted, evictedAt = l.oldestWaitingLocked(client), "per client"; evicted == nil {
			limit = "per client"
		}
	case l.conns.Total() >= l.cfg.Max:
		if l.waiting.Len() == 0 {
			limit = "in all"
		} else {
			evicted, evictedAt = l.waiting.Front().Value.(*Conn), "in all"
		}
	}
	if limit == "" {
		if evicted != nil {
			l.releaseLocked(evicted)
		}
		l.conns.Add(client)
		c.inWaiting = l.waiting.PushBack(c)
		l.mu.Unlock()
		if evicted != nil {
			l.evict(evicted, evictedAt)
		}
		return true
	}
	l.mu.Unlock()
	if l.cfg.OnRefuse != nil {
		l.cfg.OnRefuse()
	}
	if heldBack, ok := l.refusals.Allow(time.Now()); ok {
		l.cfg.Logger.Warn(l.cfg.Subject+": too many open connections; closing new ones", "client", client, "limit", limit,
			"max", l.cfg.Max, "max_per_client", l.cfg.PerClient, "refused", heldBack+1)
	}
	return false
}

// oldestWaitingLocked is client's oldest connection without a request in progress, or nil.
func (l *Listener) oldestWaitingLocked(client string) *Conn {
	for e := l.waiting.Front(); e != nil; e = e.Next() {
		if c := e.Value.(*Conn); c.client == client {
			return c
		}
	}
	return nil
}

// evict closes c, whose slot was given to a new connection; the server serving it sees a read
// error and closes it in turn.
func (l *Listener) evict(c *Conn, limit string) {
	_ = c.Conn.Close()
	if l.cfg.OnRefuse != nil {
		l.cfg.OnRefuse()
	}
	if heldBack, ok := l.evictions.Allow(time.Now()); ok {
		l.cfg.Logger.Warn(l.cfg.Subject+": too many open connections; closing the oldest one without a request in progress",
			"client", c.client, "limit", limit, "max", l.cfg.Max, "max_per_client", l.cfg.PerClient, "evicted", heldBack+1)
	}
}

// releaseLocked gives c's slot back, once; l.mu is held.
func (l *Listener) releaseLocked(c *Conn) {
	if c.released {
		return
	}
	c.released = true
	l.conns.Remove(c.client)
	if c.inWaiting != nil {
		l.waiting.Remove(c.inWaiting)
		c.inWaiting = nil
	}
}

// Conn is a connection Listener.Accept returned, counted against its caps until Close or Release.
type Conn struct {
	net.Conn
	l      *Listener
	client string
	sent   atomic.Bool // it has sent a byte (what marks a request in progress without Track)

	// l.mu protects the following elements.
	released  bool
	inWaiting *list.Element // its place in l.waiting; nil while a request is in progress
}

// Read reads from the connection; without Track, its first byte takes it out of the eviction
// order for good.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.sent.Load() && !c.l.tracked.Load() {
		c.sent.Store(true)
		c.l.setWaiting(c, false)
	}
	return n, err
}

// Close closes the connection and gives its slot back.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.Release()
	return err
}

// Release gives the connection's slot back while it stays open: for a connection that a budget
// of its own counts from then on (an HTTP connection hijacked into a WebSocket). Later calls, and
// Close, give nothing back again.
func (c *Conn) Release() {
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
}

// CloseWrite passes on the TCP half-close net/http uses to let a client read a refusal (a body
// too large) before the connection closes.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Release gives nc's slot back if it is a *Conn (see Conn.Release); other connections are left
// alone, so that a server can call it on whatever its listener handed out.
func Release(nc net.Conn) {
	if c, ok := nc.(*Conn); ok {
		c.Release()
	}
}
