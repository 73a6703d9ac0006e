// Package clientaddr names the client a network peer belongs to (Key) and tallies what each
// client holds (Tally), for limits that one client must not be able to dodge: the LAN room
// server's sockets, rooms and requests per address and the status page's live streams and
// connections per client.
package clientaddr

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Key is the client a remote "ip:port" (http.Request.RemoteAddr) is charged to:
//   - an IPv4 address is its own client (an IPv4-mapped IPv6 address counts as IPv4: a dual-stack
//     listener reports IPv4 clients that way);
//   - an IPv6 address on one of this machine's own links (link-local, or inside a prefix that one
//     of its interfaces has) is its own client too: on the venue's LAN every phone and laptop
//     takes an address in the same /64, and charging them by prefix made the whole room one
//     client;
//   - any other IPv6 address is charged by its /64, since a host beyond the router may give
//     itself any number of addresses in its prefix (privacy addresses, SLAAC).
//
// A remote address that is not an IP and port (a Unix socket, a handler mounted on a server of
// the caller's own) is its own key. On the LAN a host that takes many addresses dodges the
// per-client limits, in IPv4 as in IPv6; the limits in all bound its memory, and at those limits
// connlimit closes the oldest connection without a request, so that its idle sockets cannot keep
// everyone else out.
func Key(remoteAddr string) string {
	return key(remoteAddr, ownPrefixes.get)
}

// key is Key with the machine's own IPv6 prefixes from onLink, which is called only for a global
// or unique-local IPv6 address.
func key(remoteAddr string, onLink func() []netip.Prefix) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is4() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return a.String() // a link-local address keeps its zone: fe80::1 on two links is two hosts
	}
	for _, p := range onLink() {
		if p.Contains(a) {
			return a.String()
		}
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// ownPrefixes caches the IPv6 prefixes of this machine's interfaces. They are re-read at most
// every refreshAfter, so that a prefix the venue's router hands out later is found within
// seconds, while a flood of connections costs one interface listing, not one each.
var ownPrefixes = prefixCache{list: interfacePrefixes, refreshAfter: 10 * time.Second, now: time.Now}

type prefixCache struct {
	list         func() []netip.Prefix
	refreshAfter time.Duration
	now          func() time.Time

	mu       sync.Mutex
	prefixes []netip.Prefix
	read     time.Time
}

func (c *prefixCache) get() []netip.Prefix {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.read.IsZero() || now.Sub(c.read) >= c.refreshAfter {
		c.prefixes, c.read = c.list(), now
	}
	return c.prefixes
}

// interfacePrefixes lists the IPv6 prefixes (other than loopback and link-local ones, which Key
// handles by address) of this machine's interfaces; none when they cannot be read, so that
// every such address is charged by its /64, as before.
func interfacePrefixes() []netip.Prefix {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		ones, bits := ipn.Mask.Size()
		if !ok || bits != 128 || ip.Is4In6() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			continue
		}
		out = append(out, netip.PrefixFrom(ip, ones).Masked())
	}
	return out
}

// Tally counts what clients hold (sockets, live streams, rooms, requests in flight), in all and
// per client (a Key). It keeps an entry only for a client that holds something, so its size is
// bounded by what is held, not by every client ever seen. The zero Tally is empty and ready; it is
// not safe for concurrent use (its owner's lock guards it).
type Tally struct {
	total     int
	perClient map[string]int
}

// Total is what all clients hold.
func (t *Tally) Total() int { return t.total }

// Of is what client holds.
func (t *Tally) Of(client string) int { return t.perClient[client] }

// Clients is how many clients hold something.
func (t *Tally) Clients() int { return len(t.perClient) }

// Add counts one more for client.
func (t *Tally) Add(client string) {
	if t.perClient == nil {
		t.perClient = make(map[string]int)
	}
	t.total++
	t.perClient[client]++
}

// Remove counts one less for client; it does nothing for a client that holds nothing.
func (t *Tally) Remove(client string) {
	n := t.perClient[client]
	if n == 0 {
		return
	}
	t.total--
	if n == 1 {
		delete(t.perClient, client)
		return
	}
	t.perClient[client] = n - 1
}
