package peer

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/pion/transport/v5"
)

// cancellableNet is the operating system's network for one PeerConnection, except that its
// name lookups and TCP dials end when ctx does. pion's ICE gatherer resolves STUN and TURN
// host names and dials TURN over TCP without a context, and PeerConnection.Close waits for the
// gatherer: behind a DNS server that does not answer (a venue's router whose uplink is down),
// closing a PeerConnection mid-gathering took as long as the resolver's timeouts, ~10 s, far
// past the daemon's 2 s shutdown budget. closePC cancels ctx before closing. (The lookup
// itself goes on in the net package's goroutine until the DNS server answers or the resolver
// times out; nothing waits for it.)
type cancellableNet struct {
	transport.Net
	ctx context.Context
}

// resolve looks host:port up like net.ResolveUDPAddr (an IPv4 address first), but with ctx.
func (n *cancellableNet) resolve(network, address string) (netip.AddrPort, error) {
	host, portName, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := net.DefaultResolver.LookupPort(n.ctx, network, portName)
	if err != nil {
		return netip.AddrPort{}, err
	}
	family := "ip"
	switch {
	case strings.HasSuffix(network, "4"):
		family = "ip4"
	case strings.HasSuffix(network, "6"):
		family = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(n.ctx, family, host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolve %s: no %s address", host, family)
	}
	pick := addrs[0]
	for _, a := range addrs {
		if a.Unmap().Is4() {
			pick = a
			break
		}
	}
	if pick.Is4In6() {
		pick = pick.Unmap()
	}
	return netip.AddrPortFrom(pick, uint16(port)), nil
}

func (n *cancellableNet) ResolveUDPAddr(network, address string) (*net.UDPAddr, error) {
	ap, err := n.resolve(network, address)
	if err != nil {
		return nil, err
	}
	return net.UDPAddrFromAddrPort(ap), nil
}

func (n *cancellableNet) ResolveTCPAddr(network, address string) (*net.TCPAddr, error) {
	ap, err := n.resolve(network, address)
	if err != nil {
		return nil, err
	}
	return net.TCPAddrFromAddrPort(ap), nil
}

func (n *cancellableNet) DialTCP(network string, laddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	d := net.Dialer{}
	if laddr != nil {
		d.LocalAddr = laddr
	}
	c, err := d.DialContext(n.ctx, network, raddr.String())
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}
