package session

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// TestDiscoveredDeviceMovedIsNotReleasedAtItsOldAddress: DHCP gives a discovered WLED a new
// address. Its strip follows (a new output there), and the output at the old address stops: it
// must leave the release to the new one, which drives the device, rather than post
// {"live":false} to an address nothing answers any more and warn "release failed" (a review's
// churn logged one for every move). Its key (the MAC) says the two outputs drive one device.
func TestDiscoveredDeviceMovedIsNotReleasedAtItsOldAddress(t *testing.T) {
	const mac, oldIP, newIP = "02fc00003601", "127.0.36.1", "127.0.36.2"
	oldAt := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 30, HTTPListen: "-", RealtimeListen: "-", DDPListen: oldIP + ":0"})
	newAt := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 30, HTTPListen: newIP + ":0", RealtimeListen: "-", DDPListen: newIP + ":0"})
	gone, err := net.Listen("tcp", oldIP+":0") // the old address's JSON API: nothing listens there now
	if err != nil {
		t.Fatal(err)
	}
	goneAPI := netip.MustParseAddrPort(gone.Addr().String())
	gone.Close()
	at := func(ddp, api string) wled.Target {
		d, a := netip.MustParseAddrPort(ddp), netip.MustParseAddrPort(api)
		return wled.Target{Protocol: wled.ProtocolDDP, Host: d.Addr().String(), Port: int(d.Port()), HTTPPort: int(a.Port()), LEDs: 30}
	}

	r := startDeviceRig(t, nil, nil, nil)
	r.s.devices.add(mac, "bar", at(oldAt.DDPAddr(), goneAPI.String()), true)
	r.feedUntilFrame(t, mac, oldAt)
	before := r.strip(mac)
	r.s.devices.add(mac, "bar", at(newAt.DDPAddr(), newAt.HTTPAddr()), true) // it moved
	r.feedUntilFrame(t, mac, newAt)
	select {
	case <-before.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the output at the old address still runs")
	}
	if logs := r.logs.String(); strings.Contains(logs, "release failed") {
		t.Errorf("the output at the address the device left released it there:\n%s", logs)
	}
	if reqs := newAt.StateRequests(); len(reqs) != 0 {
		t.Errorf("the device at its new address got state requests %+v while its new strip drives it", reqs)
	}
	r.stop()
	if reqs := newAt.StateRequests(); len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live {
		t.Errorf("on shutdown the device got state requests %+v, want one release ({\"live\":false}) at its new address", reqs)
	}
}
