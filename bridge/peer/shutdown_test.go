package peer

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blackHoleDNS is a DNS server on loopback that holds every query unanswered until release,
// after which it answers each (held or new) with NXDOMAIN.
type blackHoleDNS struct {
	conn     *net.UDPConn
	queries  atomic.Int64
	mu       sync.Mutex
	released bool
	held     []heldQuery
	done     chan struct{}
}

type heldQuery struct {
	from *net.UDPAddr
	msg  []byte
}

func newBlackHoleDNS(t *testing.T) *blackHoleDNS {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	d := &blackHoleDNS{conn: conn, done: make(chan struct{})}
	go d.serve()
	t.Cleanup(func() {
		d.release()
		_ = conn.Close()
		<-d.done
	})
	return d
}

func (d *blackHoleDNS) serve() {
	defer close(d.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		d.queries.Add(1)
		q := heldQuery{from: from, msg: append([]byte(nil), buf[:n]...)}
		d.mu.Lock()
		if d.released {
			d.answer(q)
		} else {
			d.held = append(d.held, q)
		}
		d.mu.Unlock()
	}
}

// answer replies NXDOMAIN: the query with QR and RA set and RCODE 3.
func (d *blackHoleDNS) answer(q heldQuery) {
	q.msg[2] |= 0x80
	q.msg[3] = q.msg[3]&0x70 | 0x80 | 3
	_, _ = d.conn.WriteToUDP(q.msg, q.from)
}

func (d *blackHoleDNS) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.released = true
	for _, q := range d.held {
		d.answer(q)
	}
	d.held = nil
}

// deadlineless hides a UDP connection's deadlines, so that the resolver waits for the server's
// answer however long it takes, as behind a DNS forwarder that never gives up. (It stays a
// net.PacketConn, so the resolver frames its queries as UDP.)
type deadlineless struct{ *net.UDPConn }

func (deadlineless) SetDeadline(time.Time) error      { return nil }
func (deadlineless) SetReadDeadline(time.Time) error  { return nil }
func (deadlineless) SetWriteDeadline(time.Time) error { return nil }

// Shutdown does not wait for a DNS lookup of the STUN server that pion's ICE gatherer started
// without a context: with a DNS server that does not answer, Run returned only once it did
// (about 10 s with resolv.conf's defaults), far past the daemon's 2 s shutdown budget.
func TestRunReturnsWhileSTUNLookupHangs(t *testing.T) {
	requireLoopback(t)
	dns := newBlackHoleDNS(t)
	saved := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, err := net.DialUDP("udp4", nil, dns.conn.LocalAddr().(*net.UDPAddr))
		if err != nil {
			return nil, err
		}
		return deadlineless{c}, nil
	}}
	t.Cleanup(func() { net.DefaultResolver = saved })

	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	cfg.OfferDelay = time.Millisecond // the bridge offers, so its gathering starts
	cfg.ICEServers = []ICEServer{{URLs: []string{"stun:stun.ledbridge.invalid:3478"}}}
	m, cancel, done := runManager(t, cfg, r)
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the gatherer's DNS query", func() bool { return dns.queries.Load() > 0 })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(15 * time.Second): // only bounds a broken test: the DNS server answers nothing until released
		t.Error("Run did not return while the STUN server's name lookup was unanswered")
		dns.release()
		<-done
	}
}
