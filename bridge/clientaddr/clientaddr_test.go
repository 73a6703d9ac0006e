package clientaddr

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
)

func TestKey(t *testing.T) {
	venueLAN := []netip.Prefix{netip.MustParsePrefix("2001:db8:1:2::/64"), netip.MustParsePrefix("fd00:7::/64")}
	for in, want := range map[string]string{
		"192.168.1.20:51234":          "192.168.1.20",
		"[::ffff:192.168.1.20]:51234": "192.168.1.20", // an IPv4 client on a dual-stack listener
		"[::1]:51234":                 "::1",
		// On the venue's LAN: every host is a client of its own, like an IPv4 one.
		"[2001:db8:1:2:aaaa::1]:443": "2001:db8:1:2:aaaa::1",
		"[2001:db8:1:2:bbbb::9]:443": "2001:db8:1:2:bbbb::9",
		"[fd00:7::42]:8080":          "fd00:7::42",
		"[fe80::1%eth0]:8080":        "fe80::1%eth0", // link-local: always on one of our links
		"[fe80::1%wlan0]:8080":       "fe80::1%wlan0",
		// Beyond the router: a host may take any number of addresses in its /64.
		"[2001:db8:1:3::9]:443":    "2001:db8:1:3::/64",
		"[2001:db8:1:3:ffff::]:80": "2001:db8:1:3::/64",
		"[fd00:8::42]:8080":        "fd00:8::/64",
		"not an address":           "not an address",
		"@":                        "@",
	} {
		if got := key(in, func() []netip.Prefix { return venueLAN }); got != want {
			t.Errorf("key(%q) = %q, want %q", in, got, want)
		}
	}
}

// The machine's prefixes are read once per refresh interval, however many clients connect, and
// a prefix that appears later is seen after it.
func TestPrefixCacheRefreshes(t *testing.T) {
	now := time.Unix(1000, 0)
	reads := 0
	prefixes := []netip.Prefix{netip.MustParsePrefix("fd00:1::/64")}
	c := prefixCache{
		list:         func() []netip.Prefix { reads++; return prefixes },
		refreshAfter: 10 * time.Second,
		now:          func() time.Time { return now },
	}
	for range 1000 {
		c.get()
	}
	if reads != 1 {
		t.Fatalf("%d interface listings for 1000 clients in one interval, want 1", reads)
	}
	prefixes = append(prefixes, netip.MustParsePrefix("2001:db8:9::/64"))
	now = now.Add(9 * time.Second)
	if got := key("[2001:db8:9::5]:1", c.get); got != "2001:db8:9::/64" {
		t.Fatalf("before the refresh: %q", got)
	}
	now = now.Add(time.Second)
	if got := key("[2001:db8:9::5]:1", c.get); got != "2001:db8:9::5" || reads != 2 {
		t.Fatalf("after the refresh: %q (%d listings)", got, reads)
	}
}

// Key reads the real interfaces: in a network namespace of its own whose loopback carries
// fd00:1::1/64, an address of that prefix is a host of its own and one outside it is charged by
// its /64.
func TestKeyReadsThisMachinesPrefixes(t *testing.T) {
	if !testenv.InNetworkNamespace(t, "ip -6 addr add fd00:1::1/64 dev lo nodad") {
		return
	}
	if !interfaceHas(netip.MustParsePrefix("fd00:1::/64")) {
		t.Fatalf("the namespace's interfaces have no fd00:1::/64: %v", interfacePrefixes())
	}
	for in, want := range map[string]string{
		"[fd00:1::10]:5000": "fd00:1::10",
		"[fd00:1::11]:5000": "fd00:1::11",
		"[fd00:2::10]:5000": "fd00:2::/64",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

func interfaceHas(p netip.Prefix) bool {
	for _, q := range interfacePrefixes() {
		if q == p {
			return true
		}
	}
	return false
}

func TestTallyKeepsOnlyClientsThatHoldSomething(t *testing.T) {
	var tl Tally
	tl.Remove("a") // nothing held: no effect, no negative count
	tl.Add("a")
	tl.Add("a")
	tl.Add("b")
	if tl.Total() != 3 || tl.Of("a") != 2 || tl.Of("b") != 1 || tl.Clients() != 2 {
		t.Fatalf("after adds: total %d, a %d, b %d, clients %d", tl.Total(), tl.Of("a"), tl.Of("b"), tl.Clients())
	}
	tl.Remove("a")
	tl.Remove("b")
	tl.Remove("b")
	if tl.Total() != 1 || tl.Of("a") != 1 || tl.Of("b") != 0 || tl.Clients() != 1 {
		t.Fatalf("after removes: total %d, a %d, b %d, clients %d", tl.Total(), tl.Of("a"), tl.Of("b"), tl.Clients())
	}
	tl.Remove("a")
	if tl.Total() != 0 || tl.Clients() != 0 {
		t.Fatalf("emptied: total %d, clients %d", tl.Total(), tl.Clients())
	}
}
