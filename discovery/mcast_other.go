//go:build !linux

package discovery

import "net"

// onlyJoinedGroups is Linux-only (IP_MULTICAST_ALL); elsewhere a socket gets the groups it
// joined.
func onlyJoinedGroups(*net.UDPConn) error { return nil }
