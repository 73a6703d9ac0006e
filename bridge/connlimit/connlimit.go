// Package connlimit bounds the connections an HTTP server's listener hands out: at most Max open
// in all and PerClient from one client (clientaddr.Key), a connection past either cap being closed
// as soon as it is accepted. It is how the status page and the LAN room server keep one LAN host
// opening connections and sending nothing (or sending slowly) to a bounded share of their sockets,
// goroutines and buffers.
package connlimit

import (
	"log/slog"
	"net"
	"sync"
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
	// OnRefuse, when set, is called for each connection closed at accept (for a counter).
	OnRefuse func()
}

// Listener is a net.Listener whose Accept returns only connections within its caps. A connection
// it returned gives its slot back when closed (net/http closes every connection it took, on error,
// timeout, client close and shutdown alike), or earlier through Release.
type Listener struct {
	net.Listener
	cfg      Config
	refusals lograte.Limiter

	mu sync.Mutex
	// The mutex protects the following elements.
	conns clientaddr.Tally // open connections
}

// New wraps ln. Zero or negative caps are raised to 1.
func New(ln net.Listener, cfg Config) *Listener {
	cfg.Max, cfg.PerClient = max(cfg.Max, 1), max(cfg.PerClient, 1)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, cfg: cfg, refusals: lograte.Limiter{Every: RefusalLogInterval}}
}

// Accept returns the next connection within the caps, closing those past them.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := clientaddr.Key(c.RemoteAddr().String())
		if l.admit(client) {
			return &Conn{Conn: c, l: l, client: client}, nil
		}
		_ = c.Close()
	}
}

// Open returns the connections open in all and from client (a clientaddr.Key).
func (l *Listener) Open(client string) (all, fromClient int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns.Total(), l.conns.Of(client)
}

func (l *Listener) admit(client string) bool {
	l.mu.Lock()
	var limit string
	switch {
	case l.conns.Of(client) >= l.cfg.PerClient:
		limit = "per client"
	case l.conns.Total() >= l.cfg.Max:
		limit = "in all"
	default:
		l.conns.Add(client)
		l.mu.Unlock()
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

func (l *Listener) release(client string) {
	l.mu.Lock()
	l.conns.Remove(client)
	l.mu.Unlock()
}

// Conn is a connection Listener.Accept returned, counted against its caps until Close or Release.
type Conn struct {
	net.Conn
	l      *Listener
	client string
	once   sync.Once
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
func (c *Conn) Release() { c.once.Do(func() { c.l.release(c.client) }) }

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
