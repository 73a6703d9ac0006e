package discovery

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeDNS is a unicast DNS server on loopback UDP that answers A queries for one name with an
// address the test can change (a venue's DHCP server updating its DNS). Everything else gets
// NXDOMAIN.
type fakeDNS struct {
	name string // fully qualified, "stage.venue."
	pc   net.PacketConn
	mu   sync.Mutex
	addr netip.Addr
	done chan struct{}
}

func startFakeDNS(t *testing.T, name string, addr netip.Addr) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDNS{name: name, pc: pc, addr: addr, done: make(chan struct{})}
	go d.serve()
	t.Cleanup(func() { _ = pc.Close(); <-d.done })
	return d
}

func (d *fakeDNS) set(addr netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addr = addr
}

func (d *fakeDNS) serve() {
	defer close(d.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := d.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: dnsmessage.RCodeNameError}
		match := q.Name.String() == d.name
		if match {
			rh.RCode = dnsmessage.RCodeSuccess
		}
		b := dnsmessage.NewBuilder(nil, rh)
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if match && q.Type == dnsmessage.TypeA {
			d.mu.Lock()
			a := d.addr.As4()
			d.mu.Unlock()
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}, dnsmessage.AResource{A: a})
		}
		msg, err := b.Finish()
		if err == nil {
			_, _ = d.pc.WriteTo(msg, from)
		}
	}
}

// resolver sends every DNS query to d.
func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "udp4", d.pc.LocalAddr().String())
	}}
}

func TestRegistryConfiguredHostNameFollowsItsDHCPMove(t *testing.T) {
	// A strip is configured by host name (mDNS off, as in a venue that names its controllers in
	// its own DNS). DHCP moves it to a new address and hands its old one to another controller
	// that is not in the list. The configured name says where the strip is: it must be found
	// there under its MAC, not re-keyed to whichever controller now answers at its old IP (that
	// one would get its stream and the strip would go dark).
	const macA, macC = "02fc00000800", "02fc00000801"
	a := startFake(t, "127.0.0.8:0", macA, 30)
	port := netip.MustParseAddrPort(a.HTTPAddr()).Port()
	dns := startFakeDNS(t, "stage.venue.", netip.MustParseAddr("127.0.0.8"))
	h := startRegistry(t, Config{DisableMDNS: true, Resolver: dns.resolver(),
		Static: []string{"wled://stage.venue:" + strconv.Itoa(int(port))}})
	h.waitRound()
	if got := kinds(h.drain()); got != "added:"+macA {
		t.Fatalf("events = %s, want the configured strip added", got)
	}

	_ = a.Close()
	startFake(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.9"), port).String(), macA, 30)
	startFake(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.8"), port).String(), macC, 60)
	dns.set(netip.MustParseAddr("127.0.0.9"))
	h.nextRound()
	ds := h.reg.Devices()
	if len(ds) != 1 || ds[0].Key != macA || !ds[0].Online || ds[0].IP != netip.MustParseAddr("127.0.0.9") || ds[0].LEDs != 30 {
		t.Errorf("Devices() = %+v (events %s), want %s online at 127.0.0.9 with 30 LEDs", ds, kinds(h.drain()), macA)
	}
}
