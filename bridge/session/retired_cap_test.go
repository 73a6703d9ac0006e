package session

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

func TestOfflineStripsGiveTheirPlaceToANewController(t *testing.T) {
	// Over months maxDiscoveredStrips controllers come and go for good (guest rigs, boards moved
	// to another subnet); discovery keeps each listed offline for a while before it forgets it.
	// A new controller must be driven meanwhile, and the cap must still bound the strips: it
	// takes the place of an offline one.
	r := startDeviceRig(t, nil, nil, nil)
	d := r.s.devices
	dev := func(i int) discovery.Device {
		mac := fmt.Sprintf("02fe%08x", i)
		return discovery.Device{Key: mac, MAC: mac, Name: "retired-" + strconv.Itoa(i), IP: netip.AddrFrom4([4]byte{127, 0, 36, byte(i + 1)}),
			LEDs: 30, Protocol: wled.ProtocolDNRGB, StreamPort: 21324, Online: true}
	}
	for i := range maxDiscoveredStrips {
		d.onDiscovery(discovery.Event{Kind: discovery.EventAdded, Device: dev(i)})
		off := dev(i)
		off.Online = false
		d.onDiscovery(discovery.Event{Kind: discovery.EventOffline, Device: off})
	}
	if got := len(r.strips()); got != maxDiscoveredStrips {
		t.Fatalf("%d devices added: %d strips, want %d", maxDiscoveredStrips, got, maxDiscoveredStrips)
	}
	yielder := r.strip(dev(0).Key)

	fresh := startStripFake(t, "127.0.37.1", "02fe0000f100", 30)
	ap := netip.MustParseAddrPort(fresh.RealtimeAddr())
	newcomer := discovery.Device{Key: "02fe0000f100", MAC: "02fe0000f100", Name: "new-controller", IP: ap.Addr(),
		LEDs: 30, Protocol: wled.ProtocolDNRGB, StreamPort: int(ap.Port()), Online: true}
	d.onDiscovery(discovery.Event{Kind: discovery.EventAdded, Device: newcomer})
	if r.strip(newcomer.Key) == nil {
		t.Fatalf("a new controller is not driven while %d strips are offline", maxDiscoveredStrips)
	}
	if got := len(r.strips()); got != maxDiscoveredStrips {
		t.Errorf("strips = %d, want the cap %d: an offline strip gives its place", got, maxDiscoveredStrips)
	}
	r.feedUntilFrame(t, newcomer.Key, fresh)
	if r.strip(dev(0).Key) != nil {
		t.Errorf("the offline strip that gave its place is still driven")
	}
	select {
	case <-yielder.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the output of the offline strip that gave its place still runs")
	}
	if logs := r.logs.String(); strings.Contains(logs, "too many discovered strips") || !strings.Contains(logs, "its strip goes to a new device") {
		t.Errorf("want the hand-over logged and no refusal:\n%s", logs)
	}

	// The device that gave its place answers again: it is driven again, in another offline
	// device's place.
	d.onDiscovery(discovery.Event{Kind: discovery.EventOnline, Device: dev(0)})
	if r.strip(dev(0).Key) == nil || r.strip(dev(1).Key) != nil || len(r.strips()) != maxDiscoveredStrips {
		t.Errorf("after the device came back: driven %v, the next offline one still driven %v, %d strips",
			r.strip(dev(0).Key) != nil, r.strip(dev(1).Key) != nil, len(r.strips()))
	}
}

func TestOnlineStripsStillCapTheNewcomers(t *testing.T) {
	// The hand-over is only from offline strips: with every strip online, a newcomer is refused
	// (and said so), as before, and an offline newcomer never takes an offline strip's place.
	r := startDeviceRig(t, nil, nil, nil)
	d := r.s.devices
	dev := func(i int, online bool) discovery.Device {
		mac := fmt.Sprintf("02fe%08x", 0x100+i)
		return discovery.Device{Key: mac, MAC: mac, Name: "live-" + strconv.Itoa(i), IP: netip.AddrFrom4([4]byte{127, 0, 38, byte(i + 1)}),
			LEDs: 30, Protocol: wled.ProtocolDNRGB, StreamPort: 21324, Online: online}
	}
	for i := range maxDiscoveredStrips {
		d.onDiscovery(discovery.Event{Kind: discovery.EventAdded, Device: dev(i, true)})
	}
	d.onDiscovery(discovery.Event{Kind: discovery.EventAdded, Device: dev(maxDiscoveredStrips, true)})
	if r.strip(dev(maxDiscoveredStrips, true).Key) != nil || len(r.strips()) != maxDiscoveredStrips {
		t.Fatalf("a newcomer beyond %d online strips is driven (%d strips)", maxDiscoveredStrips, len(r.strips()))
	}
	if !strings.Contains(r.logs.String(), "too many discovered strips") {
		t.Errorf("the refusal was not logged:\n%s", r.logs)
	}
	d.onDiscovery(discovery.Event{Kind: discovery.EventOffline, Device: dev(0, false)})
	d.onDiscovery(discovery.Event{Kind: discovery.EventUpdated, Device: dev(maxDiscoveredStrips+1, false)})
	if r.strip(dev(maxDiscoveredStrips+1, false).Key) != nil || r.strip(dev(0, false).Key) == nil {
		t.Errorf("an offline newcomer took an offline strip's place")
	}
}

// hourClock is the registry's clock for a test that spans hours: Now is the wall clock plus
// whatever the test jumped, and After, like roundClock's, reports a finished round and blocks
// the next one until the test fires.
type hourClock struct {
	roundClock
	mu      sync.Mutex
	skipped time.Duration
}

func (c *hourClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skipped)
}

func (c *hourClock) jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skipped += d
}

func TestRetiredDiscoveredDeviceIsForgottenAndItsStripStopped(t *testing.T) {
	// A guest band's strip is found by mDNS, driven, then leaves for good. After discovery's
	// forget period (an hour offline) the session stops streaming to it and the status page no
	// longer lists it; until then it is shown offline.
	const ip, mac = "127.0.39.1", "02fe0000f200"
	fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 30, VID: oldFirmwareVID, Name: "guest-strip",
		HTTPListen: ip + ":0", DDPListen: "-", RealtimeListen: ip + ":0"})
	api := netip.MustParseAddrPort(fake.HTTPAddr())
	browser := &answerBrowser{}
	browser.set(discovery.Answer{Instance: "wled-guest", Host: "wled-guest.local.", Addr: api.Addr(), Port: int(api.Port()), MAC: mac})
	clock := &hourClock{roundClock: *newRoundClock()}
	r := startDeviceRig(t, nil, nil, func(d *deviceSet) {
		reg, err := discovery.New(discovery.Config{Browser: browser, Clock: clock, ProbeTimeout: 2 * time.Second,
			OnChange: d.onDiscovery, Logger: d.s.log})
		if err != nil {
			t.Fatal(err)
		}
		d.reg = reg
	})
	clock.waitRound(t)
	r.feedUntilFrame(t, mac, fake)
	st := r.strip(mac)

	_ = fake.Close()
	browser.set()
	clock.nextRound(t)
	clock.nextRound(t)
	if ds := r.s.devices.registryDevices(); len(ds) != 1 || ds[0].Online || r.strip(mac) == nil {
		t.Fatalf("after the strip went dark: listed %+v, strip kept %v; want it listed offline, strip kept", ds, r.strip(mac) != nil)
	}

	clock.jump(time.Hour + time.Minute)
	clock.nextRound(t)
	if ds := r.s.devices.registryDevices(); len(ds) != 0 {
		t.Errorf("after an hour offline the status page still lists %+v", ds)
	}
	if r.strip(mac) != nil {
		t.Fatal("after an hour offline the strip is still driven")
	}
	select {
	case <-st.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the forgotten strip's output still runs")
	}
	if !strings.Contains(r.logs.String(), "device removed") {
		t.Errorf("the removal was not logged:\n%s", r.logs)
	}
}
