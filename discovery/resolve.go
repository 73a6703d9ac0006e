package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DefaultLookupTimeout bounds one .local look-up when Resolver.Timeout is 0: a WLED answers an
// mDNS query within a few hundred milliseconds, and the query is repeated after a second.
const DefaultLookupTimeout = 3 * time.Second

// maxLookupAddrs bounds the addresses one look-up returns; a host has one or two.
const maxLookupAddrs = 8

// ErrNoMDNSAnswer indicates that no responder on the LAN answered for a .local name.
var ErrNoMDNSAnswer = errors.New("discovery: no mDNS answer")

// Resolver looks device host names up: a name under .local (wled-abcdef.local, the name WLED
// announces and `ledbridge discover` prints) by a multicast DNS query on the LAN (RFC 6762), any
// other with the system's resolver. The system resolver cannot be left the .local names: a
// program built without cgo (the release build) uses Go's own resolver, which asks the unicast
// DNS server for them, and no venue's DNS server knows them.
//
// Only IPv4 addresses are asked for (an A query): WLED speaks IPv4 only. Addresses a WLED cannot
// have are refused (loopback, this machine's own: see usableAddr), as for browsed devices:
// anyone on the LAN can answer an mDNS query. The zero value is ready to use; it is safe for
// concurrent use, and each .local look-up opens its sockets and closes them before it returns.
type Resolver struct {
	// Interfaces names the interfaces to query on; empty means every multicast-capable one.
	Interfaces []string
	// Timeout bounds one .local look-up, besides the caller's context; 0 means DefaultLookupTimeout.
	Timeout time.Duration
	// Logger receives send and join failures at debug level; nil means slog.Default().
	Logger *slog.Logger
}

// LookupNetIP returns host's addresses, as net.Resolver.LookupNetIP does: by mDNS for a name
// under .local, with net.DefaultResolver for any other name. network is "ip" or "ip4" for a
// .local name (only IPv4 is asked for); an IP address is returned as it is.
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if !IsLocalName(host) {
		return net.DefaultResolver.LookupNetIP(ctx, network, host)
	}
	if network != "ip" && network != "ip4" {
		return nil, fmt.Errorf("lookup %s: %s: only IPv4 is looked up on mDNS", host, network)
	}
	ifaces, err := queryInterfaces(r.Interfaces)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", host, err)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultLookupTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := lookupOn(ctx, host, ifaces, r.logger())
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", host, err)
	}
	return addrs, nil
}

// IsLocalName reports whether host is a name under .local, which only multicast DNS resolves
// (RFC 6762 §3), with or without the final dot, in any case.
func IsLocalName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return strings.HasSuffix(h, ".local") && len(h) > len(".local")
}

func (r *Resolver) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// lookupOn asks for host's A records on ifaces until an answer comes or ctx is done, and returns
// the addresses of the first answer that has usable ones.
func lookupOn(ctx context.Context, host string, ifaces []net.Interface, log *slog.Logger) ([]netip.Addr, error) {
	name := strings.ToLower(strings.TrimSuffix(host, ".")) + "."
	legacy, multicast, err := mdnsQueries(name, dnsmessage.TypeA)
	if err != nil {
		return nil, err
	}
	q, err := openQuerier(ifaces, log)
	if err != nil {
		return nil, err
	}
	defer q.close()

	parent := ctx
	ctx, answered := context.WithCancel(ctx)
	defer answered()
	var mu sync.Mutex
	var found []netip.Addr
	stopReaders := q.read(func(pkt []byte) {
		addrs := hostAddrs(pkt, name)
		if len(addrs) == 0 {
			return
		}
		mu.Lock()
		if found == nil {
			found = addrs
		}
		mu.Unlock()
		answered()
	})
	q.ask(ctx, legacy, multicast, log)
	stopReaders() // an answer came, or the time is up
	if found == nil {
		if err := parent.Err(); errors.Is(err, context.Canceled) {
			return nil, err // the caller gave up (shutdown, the device removed)
		}
		return nil, ErrNoMDNSAnswer
	}
	return found, nil
}

// hostAddrs returns the usable addresses pkt, an mDNS response, gives name (lower case, with the
// final dot) in its A records, answers or additionals; nil for any other or malformed packet.
// At most maxRecordsPerPacket records are read, and maxLookupAddrs addresses kept.
func hostAddrs(pkt []byte, name string) []netip.Addr {
	var p dnsmessage.Parser
	h, err := p.Start(pkt)
	if err != nil || !h.Response || h.RCode != dnsmessage.RCodeSuccess || p.SkipAllQuestions() != nil {
		return nil
	}
	var out []netip.Addr
	inAdditionals := false
	for read := 0; read < maxRecordsPerPacket; read++ {
		var rh dnsmessage.ResourceHeader
		if inAdditionals {
			rh, err = p.AdditionalHeader()
		} else {
			rh, err = p.AnswerHeader()
		}
		if err == dnsmessage.ErrSectionDone && !inAdditionals {
			if p.SkipAllAuthorities() != nil {
				return nil
			}
			inAdditionals = true
			continue
		}
		if err != nil {
			break // done, or the rest is malformed: keep what was read
		}
		// TTL 0 is a goodbye (RFC 6762 §10.1): the address is withdrawn.
		if rh.Type != dnsmessage.TypeA || rh.Class&^cacheFlush != dnsmessage.ClassINET || rh.TTL == 0 || !nameIs(&rh.Name, name) {
			if skipRecord(&p, inAdditionals) != nil {
				break
			}
			continue
		}
		r, err := p.AResource()
		if err != nil {
			break
		}
		if a := netip.AddrFrom4(r.A); usableAddr(a) && !slices.Contains(out, a) && len(out) < maxLookupAddrs {
			out = append(out, a)
		}
	}
	return out
}

func skipRecord(p *dnsmessage.Parser, inAdditionals bool) error {
	if inAdditionals {
		return p.SkipAdditional()
	}
	return p.SkipAnswer()
}

// LookupDeviceAddr looks host up with lookup and returns the address to drive a strip at. A name
// with several addresses keeps current (the one its strip drives) while it is among them, so that
// a DNS server rotating its answers does not move the strip at every look-up; else WLED's IPv4
// (an IPv6 address is used when the name has nothing else).
func LookupDeviceAddr(ctx context.Context, lookup func(context.Context, string, string) ([]netip.Addr, error), host string, current netip.Addr) (netip.Addr, error) {
	addrs, err := lookup(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("%s: no address", host)
	}
	i := slices.IndexFunc(addrs, func(a netip.Addr) bool { return current.IsValid() && a.Unmap() == current })
	if i < 0 {
		i = max(slices.IndexFunc(addrs, func(a netip.Addr) bool { return a.Unmap().Is4() }), 0)
	}
	return addrs[i].Unmap(), nil
}
