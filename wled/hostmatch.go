package wled

import (
	"net/netip"
	"strings"
)

// SameHost reports whether two hosts, as a device URL's host or a strips: entry gives them, name
// the same device: two IP addresses when they are one address, however written (compressed or
// not, any case, brackets or none), with the same zone (fe80::1%eth0 and fe80::1%eth1 are two
// links), an IPv4-mapped IPv6 address being its IPv4 address (frames sent to ::ffff:10.0.0.7
// reach 10.0.0.7); anything else as names, without regard to case or a final dot. An empty host
// names nothing.
//
// It is the one comparison a strips: entry's host and a device's names go by, in join
// (session.DeviceNames.NamedBy) and in the configuration's duplicate check alike.
func SameHost(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" || b == "" {
		return false
	}
	ipA, errA := parseHostAddr(a)
	ipB, errB := parseHostAddr(b)
	if errA == nil && errB == nil {
		return ipA == ipB
	}
	if errA == nil || errB == nil {
		return false // an address is no name
	}
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// parseHostAddr parses host as an IP address, in brackets or not, an IPv4-mapped IPv6 address
// as its IPv4 address.
func parseHostAddr(host string) (netip.Addr, error) {
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, err
	}
	if ip.Is4In6() {
		ip = ip.Unmap() // Unmap drops a zone, which an IPv4 address has no use for
	}
	return ip, nil
}
