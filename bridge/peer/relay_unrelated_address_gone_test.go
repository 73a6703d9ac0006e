package peer

import (
	"net/netip"
	"testing"
)

// The relayed pair of TestHostAddressGoneRestartsARelayedPairBoundToEveryAddress (IPv4, its
// TURN socket bound to 0.0.0.0) is left alone when only an address that could not carry it goes:
// an IPv6 link-local one (the veth of a stopped container) or a global IPv6 one, of the other
// family. It used to be restarted for any address that went. An IPv4 address going after that
// still restarts it: what went is judged against the addresses the host had at the last check.
func TestAddressGoneOfAnotherFamilyOrLinkLocalLeavesARelayedPairAlone(t *testing.T) {
	m, s := startRelayedIvy(t)

	loopback, bridgeV4 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.1")
	linkLocal, globalV6 := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::1")
	m.HostAddressesChanged([]netip.Addr{loopback, bridgeV4, linkLocal, globalV6})
	waitFor(t, "ivy's first check of the host's addresses", func() bool { return hostAddressChecks(m, "ivy") >= 1 })
	m.HostAddressesChanged([]netip.Addr{loopback, bridgeV4}) // both IPv6 addresses gone
	waitFor(t, "ivy's second check", func() bool { return hostAddressChecks(m, "ivy") >= 2 })
	before := s.fromMic("ivy")
	waitFor(t, "ivy's audio after the change", func() bool { return s.fromMic("ivy") >= before+25 })
	if st, _ := musicianStats(m, "ivy"); st.ICERestarts != 0 || st.AddressGoneRestarts != 0 {
		t.Fatalf("ICERestarts = %d, AddressGoneRestarts = %d after only IPv6 addresses went from an IPv4 relayed pair, want none",
			st.ICERestarts, st.AddressGoneRestarts)
	}

	m.HostAddressesChanged([]netip.Addr{loopback, netip.MustParseAddr("10.0.0.9")}) // 10.0.0.1 gone
	waitFor(t, "an ICE restart for the IPv4 address gone", func() bool { st, _ := musicianStats(m, "ivy"); return st.AddressGoneRestarts == 1 })
	waitFor(t, "bridge reconnected to ivy", bridgeConnected(m, "ivy"))
}

// Which addresses, when they go, may have been what a socket bound to every address of a family
// sent from: that family's addresses pion would gather on, not loopback or link-local.
func TestAddressGoneCountsOnlyAddressesThatCouldCarryThePair(t *testing.T) {
	tests := []struct {
		base, gone string
		counts     bool
	}{
		{"0.0.0.0", "10.0.0.1", true},
		{"0.0.0.0", "127.0.0.1", false},
		{"0.0.0.0", "169.254.7.1", false},
		{"0.0.0.0", "fe80::1", false},
		{"0.0.0.0", "2001:db8::1", false},
		{"::", "2001:db8::1", true},
		{"::", "fd00::1", true},
		{"::", "fe80::1", false},
		{"::", "::1", false},
		{"::", "fec0::1", false}, // site-local: pion gathers nothing on it
		{"::", "10.0.0.1", false},
	}
	for _, tt := range tests {
		counts := couldCarryPairBasedOn(netip.MustParseAddr(tt.base))
		if got := counts(netip.MustParseAddr(tt.gone)); got != tt.counts {
			t.Errorf("pair based on %s, %s gone: counts = %v, want %v", tt.base, tt.gone, got, tt.counts)
		}
	}
}
