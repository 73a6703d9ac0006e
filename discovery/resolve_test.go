package discovery

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func TestIsLocalName(t *testing.T) {
	for name, want := range map[string]bool{
		"wled-abcdef.local": true, "WLED-ABCDEF.LOCAL.": true, "a.b.local": true,
		"local": false, ".local": false, "wled.local.example": false, "wled.lan": false, "192.168.1.2": false,
	} {
		if got := IsLocalName(name); got != want {
			t.Errorf("IsLocalName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestHostAddrs(t *testing.T) {
	const name = "wled-abcdef.local."
	goodbye := aRR(name, "192.168.1.9")
	goodbye.Header.TTL = 0
	query, _, err := mdnsQueries(name, dnsmessage.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	whole := response([]dnsmessage.Resource{aRR("WLED-ABCDEF.local.", "192.168.1.20")}, aRR(name, "192.168.1.21"))
	for _, tc := range []struct {
		what string
		pkt  []byte
		want []string
	}{
		{"an answer, any case, and an additional", whole, []string{"192.168.1.20", "192.168.1.21"}},
		{"another host's", response([]dnsmessage.Resource{aRR("wled-other.local.", "192.168.1.22")}), nil},
		{"beside another host's", response([]dnsmessage.Resource{aRR("wled-other.local.", "192.168.1.22"), aRR(name, "192.168.1.23")}), []string{"192.168.1.23"}},
		{"the same address twice", response([]dnsmessage.Resource{aRR(name, "192.168.1.24"), aRR(name, "192.168.1.24")}), []string{"192.168.1.24"}},
		{"a goodbye", response([]dnsmessage.Resource{goodbye}), nil},
		{"loopback and multicast", response([]dnsmessage.Resource{aRR(name, "127.0.0.1"), aRR(name, "224.0.0.251")}), nil},
		{"a query", query, nil},
		{"a cut packet keeps what it read", whole[:len(whole)-8], []string{"192.168.1.20"}},
		{"garbage", []byte{1, 2, 3}, nil},
	} {
		var want []netip.Addr
		for _, a := range tc.want {
			want = append(want, netip.MustParseAddr(a))
		}
		if got := hostAddrs(tc.pkt, name); !slices.Equal(got, want) {
			t.Errorf("%s: hostAddrs = %v, want %v", tc.what, got, want)
		}
	}
}

func TestHostAddrsBoundsOnePacket(t *testing.T) {
	// A responder answering with hundreds of addresses gets maxLookupAddrs kept.
	const name = "wled-abcdef.local."
	var rrs []dnsmessage.Resource
	for i := range 200 {
		rrs = append(rrs, aRR(name, netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(1 + i%250)}).String()))
	}
	if got := hostAddrs(response(rrs), name); len(got) != maxLookupAddrs {
		t.Errorf("kept %d addresses, want %d", len(got), maxLookupAddrs)
	}
}

func TestResolverLeavesOtherNamesToTheSystem(t *testing.T) {
	var r Resolver
	got, err := r.LookupNetIP(context.Background(), "ip4", "localhost")
	if err != nil || !slices.ContainsFunc(got, func(a netip.Addr) bool { return a.Unmap() == netip.MustParseAddr("127.0.0.1") }) {
		t.Errorf("LookupNetIP(localhost) = %v, %v; want 127.0.0.1 from the system's resolver", got, err)
	}
	if got, err := r.LookupNetIP(context.Background(), "ip", "fe80::1%eth0"); err != nil || len(got) != 1 || got[0].String() != "fe80::1%eth0" {
		t.Errorf("LookupNetIP(an address) = %v, %v; want it back", got, err)
	}
	if _, err := r.LookupNetIP(context.Background(), "ip6", "wled-abcdef.local"); err == nil {
		t.Error("an IPv6 look-up of a .local name did not fail (only A records are asked for)")
	}
}

func FuzzHostAddrs(f *testing.F) {
	f.Add(response([]dnsmessage.Resource{aRR("wled-abcdef.local.", "192.168.1.20")}))
	f.Add(wledAnswer("wled-abcdef", "wled-abcdef.local.", "192.168.1.20", 80, "mac=02fc00000001"))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if got := hostAddrs(pkt, "wled-abcdef.local."); len(got) > maxLookupAddrs {
			t.Fatalf("%d addresses", len(got))
		}
	})
}
