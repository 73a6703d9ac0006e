package discovery

import (
	"net/netip"
	"testing"
	"time"
)

// An mDNS answer that gives this machine's own LAN address is not a WLED: a hostile device could
// otherwise point the bridge's probes at its own services (security review: 192.0.2.2:4000, the
// room server, was kept). The machine's addresses are re-read, so a new DHCP lease counts.
func TestOwnAddressesAreNotUsable(t *testing.T) {
	own := netip.MustParseAddr("192.0.2.2")
	now := time.Unix(1_764_000_000, 0)
	listed := []netip.Addr{own}
	saved := ownAddrs.list
	defer func() {
		ownAddrs.mu.Lock()
		ownAddrs.list, ownAddrs.now, ownAddrs.read = saved, time.Now, time.Time{}
		ownAddrs.mu.Unlock()
	}()
	ownAddrs.mu.Lock()
	ownAddrs.list = func() []netip.Addr { return listed }
	ownAddrs.now = func() time.Time { return now }
	ownAddrs.read = time.Time{}
	ownAddrs.mu.Unlock()

	if usableAddr(own) {
		t.Errorf("this machine's own address %s is usable", own)
	}
	other := netip.MustParseAddr("192.0.2.77")
	if !usableAddr(other) {
		t.Errorf("another LAN address %s is not usable", other)
	}
	listed = []netip.Addr{other} // a new lease: read again after refreshAfter
	now = now.Add(ownAddrs.refreshAfter)
	if usableAddr(other) || !usableAddr(own) {
		t.Errorf("after the address changed: %s usable %v, %s usable %v", other, usableAddr(other), own, usableAddr(own))
	}
}
