package peer

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// cancellableNet is the operating system's network for one PeerConnection, except that it
// lists the interfaces again for each ICE gathering (hostInterfaces), and that its name
// lookups and TCP dials end when ctx does. pion's ICE gatherer resolves STUN and TURN
// host names and dials TURN over TCP without a context, and PeerConnection.Close waits for the
// gatherer: behind a DNS server that does not answer (a venue's router whose uplink is down),
// closing a PeerConnection mid-gathering took as long as the resolver's timeouts, ~10 s, far
// past the daemon's 2 s shutdown budget. closePC cancels ctx before closing. (The lookup
// itself goes on in the net package's goroutine until the DNS server answers or the resolver
// times out; nothing waits for it.)
type cancellableNet struct {
	transport.Net // stdnet's, whose own list of interfaces, made once, is never read
	ctx           context.Context
	interfaces    *hostInterfaces
}

func (n *cancellableNet) Interfaces() ([]*transport.Interface, error) {
	return n.interfaces.current()
}

func (n *cancellableNet) InterfaceByIndex(index int) (*transport.Interface, error) {
	return n.findInterface(func(ifc *transport.Interface) bool { return ifc.Index == index }, fmt.Sprintf("index=%d", index))
}

func (n *cancellableNet) InterfaceByName(name string) (*transport.Interface, error) {
	return n.findInterface(func(ifc *transport.Interface) bool { return ifc.Name == name }, name)
}

// findInterface returns the first current interface that match accepts; what names the one
// sought in the error when there is none.
func (n *cancellableNet) findInterface(match func(*transport.Interface) bool, what string) (*transport.Interface, error) {
	ifaces, err := n.interfaces.current()
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(ifaces, match); i >= 0 {
		return ifaces[i], nil
	}
	return nil, fmt.Errorf("%w: %s", transport.ErrInterfaceNotFound, what)
}

// interfaceLister lists the host's network interfaces with their addresses.
type interfaceLister func() ([]*transport.Interface, error)

// listHostInterfaces lists them as pion's stdnet does (through anet, which also works on
// Android). Each call makes a new stdnet.Net, whose list nobody else writes: stdnet's own
// UpdateInterfaces replaces a Net's list without a lock while gathering goroutines read it.
func listHostInterfaces() ([]*transport.Interface, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return n.Interfaces()
}

// hostInterfaces is the host's network interfaces as one PeerConnection's ICE agent sees them.
// pion's stdnet.Net lists them once, when it is made, so every ICE restart gathered on the
// addresses the host had when the musician first connected: after a new DHCP lease it bound
// nothing ("Failed to listen udp <old address>") and the musician never reconnected. Here the
// list is made again at the first look-up after each relist, which the musician calls before
// every negotiation step that may start a gathering (an offer, ICE restart or not, and applying
// the musician's offer, which restarts ICE when its credentials change). pion looks the
// interfaces up a few times per gathering (agent creation, host, server-reflexive and relay
// candidates), from concurrent goroutines, and for each remote passive TCP candidate; they all
// share that one listing, a handful of netlink requests. The interface filter and network
// types are pion's to apply, to this list as to stdnet's.
type hostInterfaces struct {
	list interfaceLister

	mu     sync.Mutex
	stale  bool                   // guarded by mu: the next look-up lists them again
	ifaces []*transport.Interface // guarded by mu; never changed once listed
}

// newHostInterfaces lists the interfaces with list, or with listHostInterfaces if it is nil.
func newHostInterfaces(list interfaceLister) *hostInterfaces {
	if list == nil {
		list = listHostInterfaces
	}
	return &hostInterfaces{list: list, stale: true}
}

// relist makes the next look-up list the interfaces again.
func (h *hostInterfaces) relist() {
	h.mu.Lock()
	h.stale = true
	h.mu.Unlock()
}

// current returns the interfaces listed at the first look-up since relist. Concurrent callers
// wait for that one listing. A listing that fails is tried again at the next look-up.
func (h *hostInterfaces) current() ([]*transport.Interface, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stale {
		ifaces, err := h.list()
		if err != nil {
			return nil, fmt.Errorf("list network interfaces: %w", err)
		}
		h.ifaces, h.stale = ifaces, false
	}
	return slices.Clone(h.ifaces), nil
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
