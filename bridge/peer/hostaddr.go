package peer

import (
	"context"
	"net"
	"net/netip"
	"slices"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// HostAddressesChanged tells the Manager the host's addresses are now addrs (the daemon's
// host address watch calls it when the set changes: a new DHCP lease, Wi-Fi roaming). Each
// musician whose connection is up, or was up until its traffic stopped (ICE disconnected),
// restarts ICE at once if the local address of its selected candidate pair is not among addrs:
// a socket bound to an address the host no longer has sends and receives nothing, and pion
// would notice only when its ICE timeouts run out (half a minute by default) and the connection
// fails. A connection whose pair is on an address still present is left alone, since an ICE
// restart drops pion's working pair; one not connected yet gathers on the new addresses at its
// next negotiation. While addrs hold nothing a restart could gather on, nothing is restarted
// (see checkHostAddress). It never blocks: each musician checks on its own goroutine.
func (m *Manager) HostAddressesChanged(addrs []netip.Addr) {
	present := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		present = append(present, comparableAddr(a))
	}
	m.hostAddrs.Store(&present)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mus := range m.musicians {
		select {
		case mus.newAddrs <- struct{}{}:
		default: // a check is pending already; it reads the newest addresses
		}
	}
}

// comparableAddr is a as the host address watch and pion's candidates may both write it: IPv4
// unmapped, without an IPv6 zone.
func comparableAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// checkHostAddress restarts ICE (retry, the failure's path: the signal budget, glare and the
// restart's own retries hold) if the connection is up or disconnected, stable, and the host
// address its selected pair sends from is no longer one of the host's: the pair's own, or, for a
// pair based on every address (a TURN or STUN socket bound to 0.0.0.0 or :: with no
// webrtc.interfaces), any address the host had at the last check that could carry it
// (couldCarryPairBasedOn: its family, neither loopback nor link-local). Called on
// the musician's goroutine after HostAddressesChanged.
//
// While the host has no address a restart could gather on (gatherable) it does nothing: the
// restart would find no candidate and wait ConnectTimeout before the next, where the pair's
// socket works again as soon as a link that dropped for a moment has its address back. The
// check after the next change decides, against the addresses seen before the drop. And an
// address-gone restart still not connected when an address appears is restarted again at once:
// it gathered on what the host had then, which may have been nothing the musician can reach.
func (mus *musician) checkHostAddress(ctx context.Context, retry *timer) {
	defer mus.hostAddrChecks.Add(1)
	p := mus.mgr.hostAddrs.Load()
	if p == nil || !mus.gatherable(*p) {
		return // seenAddrs kept: what went is judged once there is something to gather on
	}
	present, seen := *p, mus.seenAddrs
	mus.seenAddrs = present
	h := mus.cur
	if h == nil || mus.goneAddress.IsValid() {
		return // no connection, or its restart waits for the signal budget
	}
	state := webrtc.PeerConnectionState(mus.connState.Load())
	if mus.addressRestart.IsValid() && state != webrtc.PeerConnectionStateConnected {
		if added := firstMissing(present, seen, gatherableAddr4or6); added.IsValid() {
			mus.log.Info("host address added while an ICE restart for one gone is not connected; restarting again", "added", added)
			mus.restartForAddress(ctx, retry, mus.addressRestart)
		}
		return
	}
	switch state {
	case webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateDisconnected:
	default:
		return // not connected yet, or failed (its restart is scheduled): the next gathering lists the addresses again
	}
	if h.pc.SignalingState() != webrtc.SignalingStateStable {
		return // a negotiation under way gathers on the new addresses
	}
	local, ok := selectedLocalAddress(h.pc)
	switch {
	case !ok:
		return
	case local.IsUnspecified():
		// The kernel picks the source address of each packet: if one the host had went, it sends
		// from another now, which the TURN server (or the musician's side) does not know. Only an
		// address it could have picked counts: a link-local one or one of the other family going
		// (the veth of a stopped container) leaves the pair as it was.
		local = firstMissing(seen, present, couldCarryPairBasedOn(local))
		if !local.IsValid() {
			return
		}
	case slices.Contains(present, local):
		return
	}
	mus.restartForAddress(ctx, retry, local)
}

// restartForAddress restarts ICE at once because the host address gone went.
func (mus *musician) restartForAddress(ctx context.Context, retry *timer, gone netip.Addr) {
	mus.goneAddress = gone
	mus.settleAttempts()
	retry.stop()
	mus.retry(ctx, retry)
}

// firstMissing is the first address of from that counts and is not in in; invalid if none.
func firstMissing(from, in []netip.Addr, counts func(netip.Addr) bool) netip.Addr {
	for _, a := range from {
		if counts(a) && !slices.Contains(in, a) {
			return a
		}
	}
	return netip.Addr{}
}

// couldCarryPairBasedOn reports, for a pair based on every address of unspecified's family
// (0.0.0.0 or ::), whether the kernel could send its packets from a: an address of that family
// that a restart would gather on (announcedAddr), not loopback, which reaches no TURN server on
// another machine. pion binds such a socket only without webrtc.interfaces (ice/v4 v4.4.8
// gatherCandidatesRelay, gatherCandidatesSrflx: with an interface filter, one socket per
// address of those interfaces), so the interfaces need no look here.
func couldCarryPairBasedOn(unspecified netip.Addr) func(netip.Addr) bool {
	return func(a netip.Addr) bool {
		ip, ok := announcedAddr(&net.IPAddr{IP: a.AsSlice()}, unspecified.Is4(), unspecified.Is6())
		return ok && !ip.IsLoopback()
	}
}

// announcedAddr is a's address and whether pion announces a candidate on it when it gathers
// the families wanted: gatherableAddr's rules, and not link-local (pion binds link-local IPv6
// sockets but announces no candidate on them), unspecified or multicast.
func announcedAddr(a net.Addr, want4, want6 bool) (netip.Addr, bool) {
	ip, ok := gatherableAddr(a, want4, want6)
	return ip, ok && !ip.IsLinkLocalUnicast() && !ip.IsUnspecified() && !ip.IsMulticast()
}

// gatherableAddr4or6 reports whether a is an address ICE announces a candidate on, whatever the
// network types: not loopback, link-local, unspecified or multicast.
func gatherableAddr4or6(a netip.Addr) bool {
	return !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsUnspecified() && !a.IsMulticast()
}

// gatherable reports whether the host has an address that a restart could gather a candidate
// on: of a configured network type's family, announced (announcedAddr), and with
// webrtc.interfaces, on one of those interfaces, up, as they are listed now; without, one of
// addrs (the host's) but loopback, which no musician on another machine reaches. If the
// interfaces cannot be listed, it reports true.
func (mus *musician) gatherable(addrs []netip.Addr) bool {
	want4, want6 := true, true
	if types, err := mus.cfg.networkTypes(); err == nil {
		want4, want6 = false, false
		for _, t := range types {
			want4 = want4 || t == webrtc.NetworkTypeUDP4
			want6 = want6 || t == webrtc.NetworkTypeUDP6
		}
	}
	counts := func(a net.Addr) bool {
		_, ok := announcedAddr(a, want4, want6)
		return ok
	}
	if len(mus.cfg.Interfaces) == 0 {
		return slices.ContainsFunc(addrs, func(a netip.Addr) bool {
			return !a.IsLoopback() && counts(&net.IPAddr{IP: a.AsSlice()})
		})
	}
	ifaces, err := mus.listInterfaces()
	if err != nil {
		return true
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || !slices.Contains(mus.cfg.Interfaces, ifc.Name) {
			continue
		}
		if ifAddrs, err := ifc.Addrs(); err == nil && slices.ContainsFunc(ifAddrs, counts) {
			return true
		}
	}
	return false
}

// listInterfaces lists the host's interfaces as the musician's ICE agents see them.
func (mus *musician) listInterfaces() ([]*transport.Interface, error) {
	switch {
	case mus.cfg.net != nil:
		return mus.cfg.net.Interfaces()
	case mus.cfg.listInterfaces != nil:
		return mus.cfg.listInterfaces()
	}
	return listHostInterfaces()
}

// knownHostAddresses is the host's addresses as HostAddressesChanged last gave them, or, before
// it is first called, as the interfaces have them now; nil if they cannot be listed.
func (mus *musician) knownHostAddresses() []netip.Addr {
	if p := mus.mgr.hostAddrs.Load(); p != nil {
		return *p
	}
	ifaces, err := mus.listInterfaces()
	if err != nil {
		return nil
	}
	var addrs []netip.Addr
	for _, ifc := range ifaces {
		ifAddrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range ifAddrs {
			if addr, ok := interfaceIP(a); ok {
				addrs = append(addrs, comparableAddr(addr))
			}
		}
	}
	return addrs
}

// selectedLocalAddress is the host address the selected candidate pair sends from: a host
// candidate's own, a server-reflexive or relay candidate's base (its related address), which is
// the unspecified address for a socket bound to every address. ok is false with no pair
// selected, or one whose address says nothing (an mDNS name).
func selectedLocalAddress(pc *webrtc.PeerConnection) (addr netip.Addr, ok bool) {
	pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil {
		return netip.Addr{}, false
	}
	s := pair.Local.Address
	if pair.Local.Typ != webrtc.ICECandidateTypeHost {
		s = pair.Local.RelatedAddress
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return comparableAddr(a), true
}
