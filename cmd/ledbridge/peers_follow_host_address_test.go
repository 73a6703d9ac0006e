package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

// addressChanges records what the host address watch hands the peer layer.
type addressChanges struct {
	mu    sync.Mutex
	calls [][]netip.Addr
}

func (c *addressChanges) record(addrs []netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, slices.Clone(addrs))
}

func (c *addressChanges) get() [][]netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// TestHostAddressChangeReachesThePeers: the one host address watch tells the peer layer (through
// the callback join gives it, the session's HostAddressesChanged) when the host's address set
// changes, a new DHCP lease here, so that a musician whose connection was on the address that went
// is restarted at once; an unchanged list, or one that cannot be read, tells it nothing. It does
// so in a Supabase room without a status page as well, where it follows no URL.
func TestHostAddressChangeReachesThePeers(t *testing.T) {
	host := &fakeAddrs{}
	host.set("127.0.0.1/8", "192.168.77.2/24", "::1/128", "fe80::1/64")
	var listErr error
	list := func() ([]net.Addr, error) {
		if listErr != nil {
			return nil, listErr
		}
		return host.interfaceAddrs()
	}
	watch := newHostAddressWatch(slog.New(slog.NewTextHandler(io.Discard, nil)), list)
	changes := &addressChanges{}
	watch.watchHostAddresses(changes.record)

	watch.refresh()
	if got := changes.get(); len(got) != 0 {
		t.Fatalf("an unchanged address list reached the peers: %v", got)
	}

	host.set("127.0.0.1/8", "192.168.77.3/24", "::1/128", "fe80::1/64")
	watch.refresh()
	got := changes.get()
	if len(got) != 1 {
		t.Fatalf("the new lease reached the peers %d times, want once: %v", len(got), got)
	}
	want := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.168.77.3"), netip.MustParseAddr("::1"), netip.MustParseAddr("fe80::1")}
	if !sameAddrSet(got[0], want) {
		t.Errorf("the peers were told the host has %v, want %v", got[0], want)
	}

	watch.refresh()
	listErr = errors.New("netlink: no buffer space")
	watch.refresh()
	if got := changes.get(); len(got) != 1 {
		t.Errorf("an unchanged list or a failed listing reached the peers: %v", got[1:])
	}

	listErr = nil
	host.set("127.0.0.1/8", "::1/128")
	watch.refresh()
	if got := changes.get(); len(got) != 2 || !sameAddrSet(got[1], []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}) {
		t.Errorf("losing the LAN addresses: the peers were told %v, want loopback alone", got[1:])
	}
}

func sameAddrSet(a, b []netip.Addr) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}
