package discovery

import (
	"net"
	"syscall"
)

// ipMulticastAll is Linux's IP_MULTICAST_ALL (linux/in.h; missing from package syscall on most
// architectures).
const ipMulticastAll = 49

// onlyJoinedGroups turns IP_MULTICAST_ALL off on c: by default Linux hands a socket bound to
// 0.0.0.0:5353 the multicast of every group any socket on the host joined, not only of the
// groups this socket joined on the interfaces it browses.
func onlyJoinedGroups(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipMulticastAll, 0)
	}); err != nil {
		return err
	}
	return serr
}
