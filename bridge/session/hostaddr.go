package session

import "net/netip"

// HostAddressesChanged tells the session the host's addresses are now addrs (the daemon's host
// address watch calls it when their set changes): each musician whose connection sends from an
// address the host no longer has restarts ICE at once (peer.Manager.HostAddressesChanged), rather
// than after half a minute of silence, when pion's timeouts call the connection failed. It never
// blocks, and may be called before Run and after it returns.
func (s *Session) HostAddressesChanged(addrs []netip.Addr) {
	s.peers.HostAddressesChanged(addrs)
}
