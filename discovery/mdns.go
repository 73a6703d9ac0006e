package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv4"
)

// wledSuffix ends every instance name of the DNS-SD service type WLED advertises
// (wled00/wled.cpp: MDNS.addService("wled", "tcp", 80)).
const (
	wledSuffix = "._wled._tcp.local."

	// maxAnswers bounds the instances one browse keeps, so a responder inventing names cannot
	// grow memory without limit. A venue has tens of controllers.
	maxAnswers = 256
)

// MDNSBrowser browses _wled._tcp with its own small DNS-SD querier on
// golang.org/x/net/dns/dnsmessage. Each Browse opens its sockets and closes them before
// returning, so nothing runs between rounds.
//
// Why not a library: hashicorp/mdns fails on a LAN without a default route and drops answers
// (docs/benchmarks/discovery.md); pion/mdns v2.2.2, used before, kept every PTR it heard in an
// unbounded map and scanned it for every SRV/TXT/A record, so any LAN host could make each
// browse window cost seconds of CPU, and it reads its socket itself, so nothing could bound
// that from outside. This browser keeps a bounded sample of instances and touches each record
// once, by map key (dnssd.go).
type MDNSBrowser struct {
	// Interfaces names the interfaces to query on; empty means every multicast-capable one.
	Interfaces []string
	// Logger receives send and join failures at debug level; nil means slog.Default().
	Logger *slog.Logger
}

// Browse sends _wled._tcp PTR queries on every interface (at once, then every second) for
// window and returns the IPv4 answers, one per service instance, sorted by instance name.
func (b *MDNSBrowser) Browse(ctx context.Context, window time.Duration) ([]Answer, error) {
	ifaces, err := queryInterfaces(b.Interfaces)
	if err != nil {
		return nil, err
	}
	answers, _, err := browseOn(ctx, window, ifaces, b.logger(), browseHooks{})
	return answers, err
}

var (
	mdnsGroupIP = net.IPv4(224, 0, 0, 251)
	mdnsGroup   = &net.UDPAddr{IP: mdnsGroupIP, Port: mdnsPort}
)

const (
	mdnsPort = 5353
	// maxMDNSPacket is the largest mDNS message (RFC 6762 §17); a longer datagram is cut and
	// then fails to parse.
	maxMDNSPacket = 9000
	// queryInterval spaces the queries of one browse; RFC 6762 §5.2 asks for at least 1 s
	// between the first two.
	queryInterval = time.Second
)

// browseHooks lets tests watch a browse; the zero value does nothing.
type browseHooks struct {
	listening func(unicast netip.AddrPort) // the unicast socket's address, before any query
	handled   func(browseStats)            // after each packet, with the state's lock held
}

// browseOn runs one browse on ifaces. With no interfaces nothing is sent or joined, which only
// tests do.
func browseOn(ctx context.Context, window time.Duration, ifaces []net.Interface, log *slog.Logger, hooks browseHooks) ([]Answer, browseStats, error) {
	q, err := openQuerier(ifaces, log)
	if err != nil {
		return nil, browseStats{}, err
	}
	defer q.close()
	legacy, multicast, err := mdnsQueries(wledServiceName, dnsmessage.TypePTR)
	if err != nil {
		return nil, browseStats{}, err
	}
	state := newBrowseState(rand.IntN)
	var mu sync.Mutex
	deadline := time.Now().Add(window)
	q.setReadDeadline(deadline)
	stopReaders := q.read(func(pkt []byte) {
		mu.Lock()
		defer mu.Unlock()
		state.handlePacket(pkt)
		if hooks.handled != nil {
			hooks.handled(state.stats)
		}
	})
	if hooks.listening != nil {
		hooks.listening(q.uc.LocalAddr().(*net.UDPAddr).AddrPort())
	}

	bctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	q.ask(bctx, legacy, multicast, log)
	stopReaders() // now: the context may end before the window

	mu.Lock()
	defer mu.Unlock()
	out := state.answers()
	slices.SortFunc(out, func(x, y Answer) int { return strings.Compare(x.Instance, y.Instance) })
	return out, state.stats, nil
}

// querier is the sockets of one mDNS question (a browse, a host name look-up): port 5353, joined
// to 224.0.0.251 on each interface, for multicast answers, and an ephemeral port for one-shot
// answers.
type querier struct {
	mc, uc *net.UDPConn
	mp, up *ipv4.PacketConn
	joined []net.Interface
}

// openQuerier opens a querier's sockets on ifaces; with none, nothing is joined (tests).
func openQuerier(ifaces []net.Interface, log *slog.Logger) (*querier, error) {
	// Port 5353 for multicast answers. Go binds a multicast listen address as 0.0.0.0 with
	// SO_REUSEADDR, so this shares the port with avahi-daemon (Raspberry Pi OS runs one) and
	// with a browse or look-up running at the same time: multicast datagrams reach every socket
	// on the port.
	mc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: mdnsGroupIP, Port: mdnsPort})
	if err != nil {
		return nil, fmt.Errorf("discovery: mDNS listen: %w", err)
	}
	if err := onlyJoinedGroups(mc); err != nil {
		log.Debug("mDNS: IP_MULTICAST_ALL stays on", "err", err)
	}
	// An ephemeral port for the one-shot ("legacy unicast", RFC 6762 §6.7) query: responders
	// answer it by unicast to this port, straight to us. A QU query (§5.4) would ask for a
	// unicast answer to port 5353, which the kernel hands to only one of the sockets sharing
	// that port: on a Pi with avahi-daemon, often not ours. So the first query is legacy
	// unicast from this port, and the QM queries from 5353 collect multicast answers.
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		mc.Close()
		return nil, fmt.Errorf("discovery: mDNS listen: %w", err)
	}
	q := &querier{mc: mc, uc: uc, mp: ipv4.NewPacketConn(mc), up: ipv4.NewPacketConn(uc)}
	var joinErr error
	for i := range ifaces {
		// Joining per interface (not via the routing table) is what makes browsing work on a
		// venue LAN without a default route.
		if err := q.mp.JoinGroup(&ifaces[i], &net.UDPAddr{IP: mdnsGroupIP}); err != nil {
			joinErr = err
			log.Debug("mDNS: cannot join 224.0.0.251", "interface", ifaces[i].Name, "err", err)
			continue
		}
		q.joined = append(q.joined, ifaces[i])
	}
	if len(ifaces) > 0 && len(q.joined) == 0 {
		q.close()
		return nil, fmt.Errorf("%w: join 224.0.0.251: %v", ErrNoInterface, joinErr)
	}
	// RFC 6762 §11: mDNS packets go out with IP TTL 255.
	_ = q.mp.SetMulticastTTL(255)
	_ = q.up.SetMulticastTTL(255)
	return q, nil
}

func (q *querier) close() {
	q.mc.Close()
	q.uc.Close()
}

func (q *querier) setReadDeadline(t time.Time) {
	_ = q.mc.SetReadDeadline(t)
	_ = q.uc.SetReadDeadline(t)
}

// ask sends the query on every joined interface until ctx is done: the one-shot query legacy
// from the ephemeral port once, at once, and multicast from 5353 at once and every
// queryInterval.
func (q *querier) ask(ctx context.Context, legacy, multicast []byte, log *slog.Logger) {
	tick := time.NewTicker(queryInterval)
	defer tick.Stop()
	for first := true; ; first = false {
		for i := range q.joined {
			if first {
				sendQuery(q.up, &q.joined[i], legacy, log)
			}
			sendQuery(q.mp, &q.joined[i], multicast, log)
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		return
	}
}

// read starts one reader goroutine per socket of q (readResponses); both hand responses to
// handle, which must therefore be safe for concurrent calls. The caller owns the readers: it
// must call the returned stop, which wakes them at once (before any read deadline) and waits
// until both have returned, before it closes q.
func (q *querier) read(handle func(pkt []byte)) (stop func()) {
	var wg sync.WaitGroup
	for _, c := range []*net.UDPConn{q.mc, q.uc} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readResponses(c, handle)
		}()
	}
	return func() {
		q.setReadDeadline(time.Now())
		wg.Wait()
	}
}

// readResponses hands every datagram from c to handle until c's read deadline. Only responses
// sent from port 5353 count (RFC 6762 §6 and §11: others MUST be ignored). handle must not keep
// the packet: its buffer is reused.
func readResponses(c *net.UDPConn, handle func(pkt []byte)) {
	buf := make([]byte, maxMDNSPacket)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable reported on the socket
		}
		if from.Port() != mdnsPort {
			continue
		}
		handle(buf[:n])
	}
}

// sendQuery multicasts q on ifi; a failure on one interface is not the browse's failure.
func sendQuery(c *ipv4.PacketConn, ifi *net.Interface, q []byte, log *slog.Logger) {
	if err := c.SetMulticastInterface(ifi); err != nil {
		log.Debug("mDNS: cannot select interface", "interface", ifi.Name, "err", err)
		return
	}
	if _, err := c.WriteTo(q, nil, mdnsGroup); err != nil {
		log.Debug("mDNS: query not sent", "interface", ifi.Name, "err", err)
	}
}

// mdnsQueries builds the two queries for name's records of type typ (_wled._tcp.local.'s PTR for
// a browse, a host's A): the one-shot query (a random ID, which responders echo) and the
// multicast query (ID 0, RFC 6762 §18.1). One question each: ESP8266 WLEDs (LEAmDNS) answer
// one-shot queries only with exactly one.
func mdnsQueries(name string, typ dnsmessage.Type) (legacy, multicast []byte, err error) {
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, nil, fmt.Errorf("discovery: mDNS query for %q: %w", name, err)
	}
	q := dnsmessage.Message{Questions: []dnsmessage.Question{{Name: n, Type: typ, Class: dnsmessage.ClassINET}}}
	if multicast, err = q.Pack(); err != nil {
		return nil, nil, fmt.Errorf("discovery: mDNS query: %w", err)
	}
	q.Header.ID = uint16(rand.Uint32())
	if legacy, err = q.Pack(); err != nil {
		return nil, nil, fmt.Errorf("discovery: mDNS query: %w", err)
	}
	return legacy, multicast, nil
}

// queryInterfaces returns the interfaces a browse or a look-up queries on: those named (see
// interfacesByName), or with no names every multicast-capable one.
func queryInterfaces(names []string) ([]net.Interface, error) {
	if len(names) > 0 {
		return interfacesByName(names)
	}
	return multicastInterfaces()
}

// multicastInterfaces lists the interfaces that are up and can multicast.
func multicastInterfaces() ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("discovery: list interfaces: %w", err)
	}
	var out []net.Interface
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 {
			out = append(out, ifi)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w (no interface is up with multicast)", ErrNoInterface)
	}
	return out, nil
}

// answerSample keeps at most limit instances of a browse, chosen uniformly from all the distinct
// instances heard (reservoir sampling) rather than the first ones: a responder that answers
// with invented instances faster than a real WLED cannot keep the real one out of every
// browse; with n instances heard, each is kept with probability limit/n.
type answerSample struct {
	limit      int
	heard      int // distinct instances offered so far
	byInstance map[string]Answer
	order      []string // the kept instances, for replacing one at random
	intN       func(n int) int
}

func newAnswerSample(limit int, intN func(int) int) *answerSample {
	return &answerSample{limit: limit, byInstance: make(map[string]Answer), intN: intN}
}

func (s *answerSample) add(a Answer) {
	if _, known := s.byInstance[a.Instance]; known {
		s.byInstance[a.Instance] = a // latest wins: follows an address change within the window
		return
	}
	s.heard++
	if len(s.order) < s.limit {
		s.byInstance[a.Instance] = a
		s.order = append(s.order, a.Instance)
		return
	}
	if i := s.intN(s.heard); i < s.limit {
		delete(s.byInstance, s.order[i])
		s.byInstance[a.Instance] = a
		s.order[i] = a.Instance
	}
}

func (b *MDNSBrowser) logger() *slog.Logger {
	if b.Logger != nil {
		return b.Logger
	}
	return slog.Default()
}

// interfacesByName resolves configured interface names; names that do not exist (yet) are
// skipped, and none at all is ErrNoInterface.
func interfacesByName(names []string) ([]net.Interface, error) {
	var out []net.Interface
	for _, n := range names {
		ifi, err := net.InterfaceByName(n)
		if err != nil || ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagUp == 0 {
			continue
		}
		out = append(out, *ifi)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w (configured: %s)", ErrNoInterface, strings.Join(names, ", "))
	}
	return out, nil
}
