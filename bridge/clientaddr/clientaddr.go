// Package clientaddr names the client a network peer belongs to, for limits that one client must
// not be able to dodge: the LAN room server's sockets per address and the status page's live
// streams per client.
package clientaddr

import "net/netip"

// Key is the client a remote "ip:port" (http.Request.RemoteAddr) is charged to: its IPv4 address
// (an IPv4-mapped IPv6 address counts as IPv4: a dual-stack listener reports IPv4 clients that
// way), or its IPv6 /64, since one host may give itself any number of addresses in its prefix
// (privacy addresses, SLAAC). A remote address that is not an IP and port (a Unix socket, a
// handler mounted on a server of the caller's own) is its own key.
func Key(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
