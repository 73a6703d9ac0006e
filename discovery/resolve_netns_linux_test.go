package discovery

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestNetnsAvahiResolvesLocalName looks a WLED's .local host name up the way the daemon does for
// a configured wled://wled-d1.local line: by mDNS, answered by a real responder (Debian's
// avahi-daemon, host name wled-d1) in another namespace of a private LAN without a default route
// or DNS server. Go's own resolver, the one a build without cgo uses, would ask unicast DNS and
// never find it. A name nobody answers for fails within the look-up's timeout.
func TestNetnsAvahiResolvesLocalName(t *testing.T) {
	l := newLab(t)
	br := l.addBrowser(false)
	l.addDevice("d1", 11, "02fc0a000011", 30)
	names := []string{"wled-d1.local", "WLED-D1.local.", "wled-nobody.local"}
	p := l.start("resolve helper", []string{helperEnv + "=resolve", "LB_NAMES=" + strings.Join(names, ","), "LB_TIMEOUT=2s"},
		"ip", "netns", "exec", br, testBinary(t), "-test.run=^$")
	var got []resolveLine
	for next := 0; len(got) < len(names); {
		line, n, err := p.waitLine(next, 30*time.Second, func(s string) bool { return strings.HasPrefix(s, "{") })
		if err != nil {
			t.Fatalf("%v\n%s", err, p.output())
		}
		next = n
		var rl resolveLine
		if err := json.Unmarshal([]byte(line), &rl); err != nil {
			t.Fatalf("resolve helper output %q: %v", line, err)
		}
		t.Logf("%s: %v %q (took %v)", rl.Name, rl.Addrs, rl.Err, rl.Took)
		got = append(got, rl)
	}
	if err := p.exitErr(); err != nil {
		t.Fatalf("resolve helper failed (data race or goroutine leak?): %v\n%s", err, p.output())
	}
	want := netip.MustParseAddr(labSubnet + "11")
	for _, rl := range got[:2] {
		if rl.Err != "" || len(rl.Addrs) != 1 || rl.Addrs[0] != want {
			t.Errorf("LookupNetIP(%q) = %v, %q; want [%v]", rl.Name, rl.Addrs, rl.Err, want)
		}
	}
	if rl := got[2]; len(rl.Addrs) != 0 || !rl.NoMDNSAnswer || !strings.Contains(rl.Err, "wled-nobody.local") {
		t.Errorf("LookupNetIP(%q) = %v, %q; want ErrNoMDNSAnswer naming the host", rl.Name, rl.Addrs, rl.Err)
	}
}

// TestNetnsAvahiStaticLocalName: a device configured as wled://wled-d1.local (Config.Static,
// browsing off) is found by its mDNS host name and confirmed by /json/info.
func TestNetnsAvahiStaticLocalName(t *testing.T) {
	l := newLab(t)
	br := l.addBrowser(false)
	d := l.addDevice("d1", 11, "02fc0a000011", 30)
	p := l.start("registry helper", []string{helperEnv + "=registry", "LB_NO_MDNS=1", "LB_STATIC=wled://wled-d1.local"},
		"ip", "netns", "exec", br, testBinary(t), "-test.run=^$")
	p.mustWait(t, startupTimeout, "ready")
	r := &registryProc{proc: p, t: t}
	t.Cleanup(func() {
		p.stop()
		if err := p.exitErr(); err != nil {
			t.Errorf("registry helper exited with %v (data race or goroutine leak?)\n%s", err, p.output())
		}
	})
	hl := r.waitFor("the configured device online", 30*time.Second, func(hl helperLine) bool {
		return hl.Event.Device.MAC == d.mac && hl.Event.Device.Online
	})
	if got := hl.Event.Device; got.IP != netip.MustParseAddr(labSubnet+"11") || got.LEDs != 30 || got.Static != "wled://wled-d1.local" {
		t.Errorf("configured device = %+v, want it at %s11 with 30 LEDs", got, labSubnet)
	}
}
