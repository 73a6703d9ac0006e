package discovery

import (
	"fmt"
	"net/netip"
	"testing"
)

// A LAN host answers mDNS under a name of its own and serves /json/info with the real device's
// MAC (copied from the device's TXT record or /json/info), with or without that MAC in its TXT
// record too. /json/info's MAC is no proof against another host (review 306): the device stays at
// the address it was confirmed at, and the strip is not handed to the forger.
func TestForgedInfoMACCannotMoveADevice(t *testing.T) {
	for _, txt := range []bool{false, true} {
		t.Run(fmt.Sprint("txt=", txt), func(t *testing.T) {
			mac := "02fc00000777"
			real := startFake(t, "127.0.0.1:0", mac, 30)
			realAnswer := answerFor(t, real, true)
			h := startRegistry(t, Config{}, realAnswer)
			h.waitRound()
			t.Logf("round 1: %s", kinds(h.drain()))
			forger := startFake(t, "127.0.0.2:0", mac, 999) // same MAC in its /json/info
			fa := answerFor(t, forger, false)
			fa.Instance, fa.Host = "zz-forger", "zz-forger.local."
			if txt {
				fa.MAC = mac
			}
			h.browser.set(nil, realAnswer, fa)
			for i := 0; i < 3; i++ {
				h.nextRound()
				for _, ev := range h.drain() {
					t.Logf("round %d: %s %s ip=%v leds=%d", i+2, ev.Kind, ev.Device.Key, ev.Device.IP, ev.Device.LEDs)
				}
				for _, d := range h.reg.Devices() {
					if d.Key == mac && d.IP != netip.MustParseAddr("127.0.0.1") {
						t.Errorf("round %d: the real device now streams to %v (leds %d)", i+2, d.IP, d.LEDs)
					}
				}
			}
		})
	}
}

// The device drops off the network for a few probes (a Wi-Fi blip); meanwhile another host
// answers mDNS with the device's MAC in TXT (its own /json/info says another MAC). That host is
// not "the controller replaced at the device's address" (review 306: the device was removed and
// the forger added), and the device, answering again at its own address, is found there.
func TestForgedTXTCannotReplaceAnOfflineDevice(t *testing.T) {
	mac := "02fc00000888"
	real := startFake(t, "127.0.0.1:0", mac, 30)
	realAnswer := answerFor(t, real, true)
	h := startRegistry(t, Config{}, realAnswer)
	h.waitRound()
	t.Logf("round 1: %s", kinds(h.drain()))
	forger := startFake(t, "127.0.0.2:0", "02fc00000999", 30)
	fa := answerFor(t, forger, false)
	fa.Instance, fa.Host, fa.MAC = "zz-forger", "zz-forger.local.", mac
	real.SetRawInfo(500, []byte("down"))
	h.browser.set(nil, realAnswer, fa)
	for i := 0; i < 3; i++ {
		h.nextRound()
	}
	if got := kinds(h.drain()); got != "offline:"+mac {
		t.Errorf("while the device is offline and another host claims its MAC in TXT: events %s, want offline:%s", got, mac)
	}
	real.SetRawInfo(0, nil) // answers again
	for i := 0; i < 4; i++ {
		h.nextRound()
	}
	t.Logf("back: %s", kinds(h.drain()))
	for _, d := range h.reg.Devices() {
		if d.Key == mac {
			t.Logf("device: online=%v ip=%v err=%q", d.Online, d.IP, d.LastError)
			if !d.Online {
				t.Errorf("the device answers at its address again but stays offline")
			}
		}
	}
}

// deviceAt is where the registry has the device of MAC mac, and whether it is online.
func deviceAt(h *harness, mac string) (netip.Addr, bool) {
	for _, d := range h.reg.Devices() {
		if d.Key == mac {
			return d.IP, d.Online
		}
	}
	return netip.Addr{}, false
}

// A forger gives the device's MAC in /json/info under its own instance (with or without it in
// its TXT record) while the real device is offline (a power cycle, a Wi-Fi drop). The forger may
// hold the device during the outage, but once the device answers at its own address again, it is
// there (review 309: it stayed with the forger for good).
func TestForgerLosesADeviceBackFromAnOutage(t *testing.T) {
	for _, txt := range []bool{false, true} {
		t.Run(fmt.Sprint("txt=", txt), func(t *testing.T) {
			mac := "02fc00000a77"
			real := startFake(t, "127.0.0.1:0", mac, 30)
			realAnswer := answerFor(t, real, true)
			h := startRegistry(t, Config{}, realAnswer)
			h.waitRound()
			h.drain()
			forger := startFake(t, "127.0.0.2:0", mac, 999)
			fa := answerFor(t, forger, false)
			fa.Instance, fa.Host = "zz-forger", "zz-forger.local."
			if txt {
				fa.MAC = mac
			}
			real.SetRawInfo(500, []byte("down"))
			h.browser.set(nil, realAnswer, fa)
			for i := 0; i < 4; i++ {
				h.nextRound()
				ip, on := deviceAt(h, mac)
				t.Logf("device down, round %d: ip=%v online=%v", i, ip, on)
			}
			real.SetRawInfo(0, nil)
			for i := 0; i < 4; i++ {
				h.nextRound()
				ip, on := deviceAt(h, mac)
				t.Logf("device back, round %d: ip=%v online=%v", i, ip, on)
			}
			for _, ev := range h.drain() {
				t.Logf("event %s %s ip=%v leds=%d", ev.Kind, ev.Device.Key, ev.Device.IP, ev.Device.LEDs)
			}
			if ip, _ := deviceAt(h, mac); ip != netip.MustParseAddr("127.0.0.1") {
				t.Errorf("the device, back at its own address, streams to %v", ip)
			}
		})
	}
}

// A forger (the MAC in TXT and in /json/info) is present while the real device misses one probe:
// the device returns to its own address when it answers again (review 309: one missed probe gave
// the forger the device for good).
func TestForgerLosesADeviceAfterOneMissedProbe(t *testing.T) {
	mac := "02fc00000b77"
	real := startFake(t, "127.0.0.1:0", mac, 30)
	realAnswer := answerFor(t, real, true)
	h := startRegistry(t, Config{}, realAnswer)
	h.waitRound()
	h.drain()
	forger := startFake(t, "127.0.0.2:0", mac, 999)
	fa := answerFor(t, forger, false)
	fa.Instance, fa.Host, fa.MAC = "zz-forger", "zz-forger.local.", mac
	h.browser.set(nil, realAnswer, fa) // the forger's answer last: mdnsAddr is the forger's
	h.nextRound()
	ip, _ := deviceAt(h, mac)
	t.Logf("forger present, device answering: ip=%v", ip)
	real.SetRawInfo(500, []byte("busy")) // one probe missed
	h.nextRound()
	ip, _ = deviceAt(h, mac)
	t.Logf("one missed probe: ip=%v", ip)
	real.SetRawInfo(0, nil)
	for i := 0; i < 4; i++ {
		h.nextRound()
	}
	for _, ev := range h.drain() {
		t.Logf("event %s %s ip=%v leds=%d", ev.Kind, ev.Device.Key, ev.Device.IP, ev.Device.LEDs)
	}
	if ip, _ := deviceAt(h, mac); ip != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("after one missed probe the device streams to %v for good", ip)
	}
}
