package discovery

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// ownAddrs caches this machine's own IPv4 addresses, re-read at most every refreshAfter, so that
// a DHCP lease renewed with a new address is known within seconds while a flood of mDNS answers
// costs one interface listing, not one each.
var ownAddrs = addrCache{list: interfaceAddrs, refreshAfter: 10 * time.Second, now: time.Now}

type addrCache struct {
	list         func() []netip.Addr
	refreshAfter time.Duration
	now          func() time.Time

	mu    sync.Mutex
	addrs []netip.Addr
	read  time.Time
}

// has reports whether a is one of the machine's own addresses.
func (c *addrCache) has(a netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.read.IsZero() || now.Sub(c.read) >= c.refreshAfter {
		c.addrs, c.read = c.list(), now
	}
	return slices.Contains(c.addrs, a)
}

// interfaceAddrs lists the IPv4 addresses of this machine's interfaces; none if they cannot be
// read (the check then refuses loopback alone, as before it existed).
func interfaceAddrs() []netip.Addr {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ia := range ifAddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().Is4() {
			out = append(out, p.Addr())
		}
	}
	return out
}
