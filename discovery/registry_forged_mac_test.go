package discovery

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A LAN host answers mDNS under a name of its own and serves /json/info with the real device's
// MAC (copied from the device's TXT record or /json/info), with or without that MAC in its TXT
// record too. /json/info's MAC is no proof against another host (review 306): the device stays at
// the address it was confirmed at, and the strip is not handed to the forger.
func TestForgedInfoMACCannotMoveADevice(t *testing.T) {
	for _, txt := range []bool{false, true} {
		t.Run(fmt.Sprint("txt=", txt), func(t *testing.T) {
			mac := "02fc00000777"
			h, _, realAnswer := startWithDevice(t, mac)
			h.browser.set(nil, realAnswer, forgerAnswer(t, mac, txtMAC(txt, mac)))
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
	h, real, realAnswer := startWithDevice(t, mac)
	fa := forgerAnswer(t, "02fc00000999", mac)
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

// startWithDevice runs a registry that has confirmed a real device of MAC mac at 127.0.0.1 over
// mDNS, and returns it with the device and its answer.
func startWithDevice(t *testing.T, mac string) (*harness, *wledtest.Fake, Answer) {
	t.Helper()
	real := startFake(t, "127.0.0.1:0", mac, 30)
	realAnswer := answerFor(t, real, true)
	h := startRegistry(t, Config{}, realAnswer)
	h.waitRound()
	t.Logf("round 1: %s", kinds(h.drain()))
	return h, real, realAnswer
}

// forgerAnswer starts another host at 127.0.0.2 whose /json/info gives infoMAC (999 LEDs), and
// returns its mDNS answer under a name of its own, with txtMAC in its TXT record ("" for none).
func forgerAnswer(t *testing.T, infoMAC, txtMAC string) Answer {
	t.Helper()
	forger := startFake(t, "127.0.0.2:0", infoMAC, 999)
	fa := answerFor(t, forger, false)
	fa.Instance, fa.Host, fa.MAC = "zz-forger", "zz-forger.local.", txtMAC
	return fa
}

// txtMAC is mac when txt, else "".
func txtMAC(txt bool, mac string) string {
	if txt {
		return mac
	}
	return ""
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
			h, real, realAnswer := startWithDevice(t, mac)
			fa := forgerAnswer(t, mac, txtMAC(txt, mac))
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
	h, real, realAnswer := startWithDevice(t, mac)
	h.browser.set(nil, realAnswer, forgerAnswer(t, mac, mac)) // the forger's answer last: mdnsAddr is the forger's
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

// blackholeFetcher is the real client, except that hosts in dead never answer (a LAN address
// with nobody behind it: no ARP reply, the connect hangs until the probe's timeout).
type blackholeFetcher struct {
	real wled.Client
	mu   sync.Mutex
	dead map[string]bool
	hits map[string]int
}

func (f *blackholeFetcher) Info(ctx context.Context, hostport string) (wled.Info, error) {
	ap := netip.MustParseAddrPort(hostport)
	f.mu.Lock()
	f.hits[ap.Addr().String()]++
	dead := f.dead[ap.Addr().String()]
	f.mu.Unlock()
	if dead {
		<-ctx.Done()
		return wled.Info{}, ctx.Err()
	}
	return f.real.Info(ctx, hostport)
}

// advance moves the registry's clock on by d.
func (h *harness) advance(d time.Duration) {
	h.clock.mu.Lock()
	h.clock.now = h.clock.now.Add(d)
	h.clock.mu.Unlock()
}

// A device moves by DHCP and its old address goes dead. The old address is asked for a while (the
// device might be back from an outage there, with a forger at the new one), but once it has not
// answered for prevAddrGrace it is let go: no probe timeout in every round after, and a host
// later given the freed address cannot pull the device back to it with its MAC (review 310).
func TestAMovedDeviceLetsGoOfItsDeadOldAddress(t *testing.T) {
	const mac = "02fc0000a001"
	old := startFake(t, "127.0.0.1:0", mac, 60)
	oldAddr := old.HTTPAddr()
	f := &blackholeFetcher{dead: map[string]bool{}, hits: map[string]int{}}
	h := startRegistry(t, Config{Fetcher: f, ProbeTimeout: 100 * time.Millisecond}, answerFor(t, old, true))
	h.waitRound()
	h.drain()
	_ = old.Close()
	f.mu.Lock()
	f.dead["127.0.0.1"] = true
	f.mu.Unlock()
	moved := startFake(t, "127.0.0.3:0", mac, 60)
	h.browser.set(nil, answerFor(t, moved, true))
	h.nextRound()
	h.nextRound()
	h.advance(prevAddrGrace)
	h.nextRound() // past the grace: the old address is let go
	f.mu.Lock()
	asked := f.hits["127.0.0.1"]
	delete(f.dead, "127.0.0.1")
	f.mu.Unlock()
	if asked == 0 {
		t.Fatal("the old address was never asked after the move: the test shows nothing")
	}
	forger := startFake(t, oldAddr, mac, 999) // a host given the freed address, with the MAC
	_ = forger
	for range 3 {
		h.nextRound()
	}
	f.mu.Lock()
	later := f.hits["127.0.0.1"] - asked
	f.mu.Unlock()
	if later != 0 {
		t.Errorf("the dead old address was asked %d more times after the grace", later)
	}
	if ip, on := deviceAt(h, mac); !on || ip != netip.MustParseAddr("127.0.0.3") {
		t.Errorf("the device, moved to 127.0.0.3 and answering there: ip=%v online=%v", ip, on)
	}
}

// A device with no TXT mac is renamed (a new instance) and its address changes while it is
// offline: its answer under the new name, from the new address, is taken up (review 310: it was
// refused as another device's MAC until ForgetAfter).
func TestRenamedAndMovedDeviceWithoutTXTMACIsFound(t *testing.T) {
	const mac = "02fc0000a003"
	old := startFake(t, "127.0.0.1:0", mac, 60)
	h := startRegistry(t, Config{}, answerFor(t, old, false))
	h.waitRound()
	h.drain()
	_ = old.Close()
	h.browser.set(nil)
	for i := 0; i < 3; i++ {
		h.nextRound()
	}
	moved := startFake(t, "127.0.0.3:0", mac, 60)
	a := answerFor(t, moved, false)
	a.Instance, a.Host = "stage-left", "stage-left.local."
	h.browser.set(nil, a)
	for i := 0; i < 4; i++ {
		h.nextRound()
	}
	var errs []string
	for _, d := range h.reg.Devices() {
		errs = append(errs, d.Key+" "+d.IP.String()+" online="+map[bool]string{true: "y", false: "n"}[d.Online]+" "+d.LastError)
	}
	t.Logf("devices: %s", strings.Join(errs, " | "))
	if ip, on := deviceAt(h, mac); !on || ip != netip.MustParseAddr("127.0.0.3") {
		t.Errorf("renamed device at its new address: ip=%v online=%v", ip, on)
	}
}

// A configured device (by IP) and another host announcing mDNS with its MAC in TXT and
// /json/info: the device stays at its configured host while it answers there (review 311: it
// streamed to the forger from the next round on).
func TestForgerCannotTakeAConfiguredDevice(t *testing.T) {
	mac := "02fc00000c77"
	real := startFake(t, "127.0.0.1:0", mac, 30)
	h := startRegistry(t, Config{Static: []string{"wled://" + real.HTTPAddr()}})
	h.waitRound()
	h.drain()
	ip, on := deviceAt(h, mac)
	t.Logf("configured: ip=%v online=%v", ip, on)
	h.browser.set(nil, forgerAnswer(t, mac, mac))
	for i := 0; i < 3; i++ {
		h.nextRound()
		ip, on := deviceAt(h, mac)
		t.Logf("round %d: ip=%v online=%v", i, ip, on)
	}
	if ip, _ := deviceAt(h, mac); ip != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("configured device at 127.0.0.1 now streams to %v", ip)
	}
}
