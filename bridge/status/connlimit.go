package status

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clientaddr"
	"github.com/ledbridge/ledbridge/bridge/lograte"
)

// connLimiter is the status server's listener: it closes, as soon as it accepts it, a connection
// past max open ones in all or past perClient from one client (clientaddr.Key), so that a LAN
// host opening connections and sending nothing (or sending slowly) holds a bounded share of the
// server's sockets, goroutines and buffers, and the rest of the LAN is still served.
type connLimiter struct {
	net.Listener
	max, perClient int
	log            *slog.Logger

	refusals lograte.Limiter // one log line per refusalLogInterval for a host hammering the server

	// The mutex protects the following elements.
	mu       sync.Mutex
	open     int
	perConns map[string]int // open connections per clientaddr.Key; a client with none has no entry
}

// refusalLogInterval spaces the log lines about refused connections: a host hammering the
// server gets one line per interval.
const refusalLogInterval = 10 * time.Second

func newConnLimiter(ln net.Listener, max, perClient int, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perClient: perClient, log: log, perConns: map[string]int{},
		refusals: lograte.Limiter{Every: refusalLogInterval}}
}

// Accept returns the next connection within the caps, closing those past them.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := clientaddr.Key(c.RemoteAddr().String())
		if l.admit(client) {
			return &limitedConn{Conn: c, l: l, client: client}, nil
		}
		_ = c.Close()
	}
}

func (l *connLimiter) admit(client string) bool {
	l.mu.Lock()
	var limit string
	switch {
	case l.perConns[client] >= l.perClient:
		limit = "per client"
	case l.open >= l.max:
		limit = "in all"
	default:
		l.open++
		l.perConns[client]++
		l.mu.Unlock()
		return true
	}
	l.mu.Unlock()
	if heldBack, ok := l.refusals.Allow(time.Now()); ok {
		l.log.Warn("status page: too many open connections; closing new ones", "client", client, "limit", limit,
			"max", l.max, "max_per_client", l.perClient, "refused", heldBack+1)
	}
	return false
}

func (l *connLimiter) release(client string) {
	l.mu.Lock()
	l.open--
	if l.perConns[client]--; l.perConns[client] <= 0 {
		delete(l.perConns, client)
	}
	l.mu.Unlock()
}

// limitedConn gives its slot back when closed (net/http closes every connection it took, on
// error, timeout, client close and shutdown alike).
type limitedConn struct {
	net.Conn
	l      *connLimiter
	client string
	once   sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.client) })
	return err
}

// CloseWrite passes on the TCP half-close net/http uses to let a client read a refusal (a body
// too large) before the connection closes.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
