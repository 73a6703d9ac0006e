package peer

import (
	"context"
	"net/netip"
	"slices"

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
// next negotiation. It never blocks: each musician checks on its own goroutine.
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
// restart's own retries hold) if the connection is up or disconnected, stable, and the local
// address of its selected pair is no longer one of the host's. Called on the musician's goroutine
// after HostAddressesChanged.
func (mus *musician) checkHostAddress(ctx context.Context, retry *timer) {
	defer mus.hostAddrChecks.Add(1)
	present := mus.mgr.hostAddrs.Load()
	h := mus.cur
	if present == nil || h == nil || mus.goneAddress.IsValid() {
		return // no addresses known, no connection, or its restart waits for the signal budget
	}
	switch webrtc.PeerConnectionState(mus.connState.Load()) {
	case webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateDisconnected:
	default:
		return // not connected yet, or failed (its restart is scheduled): the next gathering lists the addresses again
	}
	if h.pc.SignalingState() != webrtc.SignalingStateStable {
		return // a negotiation under way gathers on the new addresses
	}
	local, ok := selectedLocalAddress(h.pc)
	if !ok || slices.Contains(*present, local) {
		return
	}
	mus.goneAddress = local
	mus.settleAttempts()
	retry.stop()
	mus.retry(ctx, retry)
}

// selectedLocalAddress is the host address the selected candidate pair sends from: a host
// candidate's own, a server-reflexive or relay candidate's base (its related address). ok is
// false with no pair selected, or one whose address says nothing (a socket bound to every
// address, an mDNS name).
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
	if err != nil || a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return comparableAddr(a), true
}
