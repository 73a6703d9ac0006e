package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// These tests check what a configured device line means when discovery finds the same WLED:
// the line wins (its LED count, its protocol), whichever of the two came first, the device is
// driven and listed once, and a configured wled:// device follows what its JSON API reports.
// Devices are wledtest fakes (real UDP, real /json/info over HTTP); discovery runs with a
// scripted mDNS browser and a clock the test steps round by round (devices_follow_test.go).

// answerFor is the mDNS answer of a WLED whose JSON API is at api.
func answerFor(instance string, api string) discovery.Answer {
	ap := netip.MustParseAddrPort(api)
	return discovery.Answer{Instance: instance, Host: instance + ".local.", Addr: ap.Addr(), Port: int(ap.Port())}
}

// wantStrips fails t unless the driven strips are exactly want (deviceRig.strips's form).
func wantStrips(t *testing.T, r *deviceRig, want ...string) {
	t.Helper()
	if got := r.strips(); !slices.Equal(got, want) {
		t.Fatalf("strips = %v, want %v", got, want)
	}
}

// waitStrips waits until the driven strips are exactly want.
func waitStrips(t *testing.T, r *deviceRig, want ...string) {
	t.Helper()
	waitFor(t, "strips "+joinStrings(want), func() bool { return slices.Equal(r.strips(), want) })
}

func joinStrings(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}

// liveFalseRequests counts the {"live":false} releases fake's JSON API received.
func liveFalseRequests(fake *wledtest.Fake) int {
	n := 0
	for _, req := range fake.StateRequests() {
		if req.Live != nil && !*req.Live {
			n++
		}
	}
	return n
}

func TestConfiguredLineAddedByReloadWinsOverDiscoveredStrip(t *testing.T) {
	// Discovery drives a WLED with all its 30 LEDs over DDP; the operator adds
	// ddp://IP?leds=10 (only the first 10 are in the rig) and reloads. The configured line must
	// take the device over, and the discovered output must hand it over, not release it
	// ({"live":false}) under the new stream.
	const ip, mac = "127.0.36.1", "02fc00003601"
	fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 30, HTTPListen: ip + ":0", DDPListen: ip + ":4048", RealtimeListen: "-"})
	browser := &answerBrowser{}
	browser.set(answerFor("stage", fake.HTTPAddr()))
	r := startDeviceRig(t, nil, browser, nil)
	r.clock.waitRound(t)
	wantStrips(t, r, mac+"->"+fake.DDPAddr()+"/30")
	discovered := r.strip(mac)
	r.feedUntilFrame(t, mac, fake)

	const url = "ddp://" + ip + "?leds=10"
	if err := r.s.SetDevices([]string{url}); err != nil {
		t.Fatal(err)
	}
	wantStrips(t, r, url+"->"+fake.DDPAddr()+"/10")
	r.feedUntilFrame(t, url, fake)
	if got := r.strip(url).out.LEDs(); got != 10 {
		t.Errorf("the configured strip's output has %d LEDs, want 10", got)
	}
	r.clock.nextRound(t) // discovery sees the device again: it stays the configured strip's
	wantStrips(t, r, url+"->"+fake.DDPAddr()+"/10")
	select {
	case <-discovered.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the discovered strip's output still runs")
	}
	if n := liveFalseRequests(fake); n != 0 {
		t.Errorf("the device was released %d times while the configured strip took it over", n)
	}
}

func TestConfiguredLineWinsWhenDiscoveryDroveTheDeviceFirst(t *testing.T) {
	// wled://IP?leds=10 is configured, but the WLED is still booting when the daemon starts, and
	// discovery finds it long before the configured line's next retry. Discovery's answer makes
	// the line try at once, so its ?leds=10 applies and the device is not listed twice (the
	// waiting line and discovery's strip) until the retry.
	const ip, mac = "127.0.36.2", "02fc00003602"
	fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 30, VID: oldFirmwareVID, DDPListen: "-", HTTPListen: ip + ":0", RealtimeListen: ip + ":0"})
	fake.SetRawInfo(503, []byte("booting"))
	url := fake.URL() + "?leds=10"
	browser := &answerBrowser{}
	browser.set(answerFor("stage", fake.HTTPAddr()))
	r := startDeviceRig(t, []string{url}, browser, func(d *deviceSet) { d.retryDelays = []time.Duration{time.Hour} })
	r.clock.waitRound(t)
	waitFor(t, "the configured device's first attempt to fail", func() bool {
		return strings.Contains(r.logs.String(), "configured device cannot be driven yet")
	})
	wantStrips(t, r)

	fake.SetRawInfo(0, nil) // booted
	r.clock.nextRound(t)
	waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/10") // the retry is an hour away
	if snap := r.s.Snapshot(); len(snap.Devices) != 1 || snap.Devices[0].ID != url {
		t.Errorf("status devices = %+v, want the configured line alone", snap.Devices)
	}
	// A 10-LED DNRGB frame is not a whole frame to the 30-LED fake: its packets are what count.
	before := fake.Packets()
	waitFor(t, "a packet from the configured strip", func() bool {
		st := r.strip(url)
		st.out.Submit(make([]byte, st.frameBytes))
		return fake.Packets() > before
	})
	r.clock.nextRound(t)
	wantStrips(t, r, url+"->"+fake.RealtimeAddr()+"/10")
}

func TestStatusListsAConfiguredAndDiscoveredDeviceOnce(t *testing.T) {
	// A WLED configured by URL and found by mDNS is one device on the status page (and
	// /api/status), under its configured line, and Identify on it flashes it.
	const ip, mac = "127.0.36.3", "02fc00003603"
	fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 30, VID: oldFirmwareVID, DDPListen: "-", HTTPListen: ip + ":0", RealtimeListen: ip + ":0"})
	url := fake.URL()
	browser := &answerBrowser{} // nothing on mDNS until the configured strip is driven
	r := startDeviceRig(t, []string{url}, browser, nil)
	r.clock.waitRound(t)
	waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/30")

	browser.set(answerFor("stage", fake.HTTPAddr()))
	r.clock.nextRound(t)
	if ds := r.s.devices.registryDevices(); len(ds) != 1 || ds[0].MAC != mac || !ds[0].Online {
		t.Fatalf("discovery lists %+v, want the device online", ds)
	}
	snap := r.s.Snapshot()
	if len(snap.Devices) != 1 || snap.Devices[0].ID != url || snap.Devices[0].LEDs != 30 {
		t.Fatalf("status devices = %+v, want the configured one alone", snap.Devices)
	}
	for _, d := range snap.Devices {
		if err := r.s.Identify(d.ID); err != nil {
			t.Errorf("Identify(%q) (listed on the status page): %v", d.ID, err)
		}
	}
	if err := r.s.Identify(mac); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("Identify(the discovered key) = %v, want ErrUnknownDevice: it is not listed", err)
	}
}

// pokeConfigured asks configured device raw's follower to try now (tests).
func (d *deviceSet) pokeConfigured(raw string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.configured[raw]; c != nil {
		c.poke()
	}
}

func TestForcedProtocolLineAndDiscoveryDriveTheWLEDOnce(t *testing.T) {
	// The operator forces one WLED to DNRGB (dnrgb://IP:PORT, frames to its UDP realtime
	// port); discovery finds the same WLED and would stream DDP to 4048. One WLED, one stream:
	// the configured line's, whether it was there first or a reload adds it.
	for _, tc := range []struct {
		name, ip, mac string
		reload        bool
	}{
		{"configured at start", "127.0.36.4", "02fc00003604", false},
		{"added by a reload", "127.0.36.5", "02fc00003605", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := wledtest.New(t, wledtest.Config{MAC: tc.mac, LEDs: 30, HTTPListen: tc.ip + ":0", DDPListen: tc.ip + ":4048", RealtimeListen: tc.ip + ":0"})
			url := fake.RealtimeURL("dnrgb")
			browser := &answerBrowser{}
			browser.set(answerFor("stage", fake.HTTPAddr()))
			var configured []string
			if !tc.reload {
				configured = []string{url}
			}
			r := startDeviceRig(t, configured, browser, nil)
			r.clock.waitRound(t)
			if tc.reload {
				wantStrips(t, r, tc.mac+"->"+fake.DDPAddr()+"/30")
				if err := r.s.SetDevices([]string{url}); err != nil {
					t.Fatal(err)
				}
			}
			r.clock.nextRound(t)
			wantStrips(t, r, url+"->"+fake.RealtimeAddr()+"/30")

			before := fake.FrameCount()
			waitFor(t, "three frames", func() bool {
				for _, st := range r.s.devices.current() { // as the frame loop feeds every strip
					st.out.Submit(make([]byte, st.frameBytes))
				}
				return fake.FrameCount() >= before+3
			})
			for _, f := range fake.Frames()[before:] {
				if f.Protocol != "DNRGB" {
					t.Fatalf("the WLED received a %s frame besides the configured DNRGB stream", f.Protocol)
				}
			}
			if snap := r.s.Snapshot(); len(snap.Devices) != 1 || snap.Devices[0].ID != url {
				t.Errorf("status devices = %+v, want the configured one alone", snap.Devices)
			}
		})
	}
}

func TestConfiguredWLEDFollowsItsJSONAPI(t *testing.T) {
	// A WLED configured by IP (wled://IP): the venue lengthens the strip in WLED's LED settings
	// and turns RGBW on. The strip must be driven as the JSON API now says, at the next recheck.
	fake := wledtest.New(t, wledtest.Config{LEDs: 30, HTTPListen: "127.0.36.6:0", DDPListen: "127.0.36.6:0", RealtimeListen: "-"})
	url := fake.URL()
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
	waitStrips(t, r, url+"->"+fake.DDPAddr()+"/30")
	first := r.strip(url)

	fake.SetInfo(func(i *wled.Info) { i.LEDs.Count, i.LEDs.LC, i.LEDs.RGBW = 60, 0x03, true })
	waitStrips(t, r, url+"->"+fake.DDPAddr()+"/60")
	if st := r.strip(url); !st.target.RGBW || st.out.LEDs() != 60 || !st.out.RGBW() {
		t.Errorf("after the device turned RGBW on: strip target %+v, output %d LEDs RGBW %v", st.target, st.out.LEDs(), st.out.RGBW())
	}
	select {
	case <-first.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the 30-LED strip's output still runs")
	}
}

func TestConfiguredWLEDFollowsADiscoveryUpdate(t *testing.T) {
	// The same, for a WLED that discovery finds too: discovery's update says the device changed,
	// and the configured line (which drives it) reads its JSON API at once, not at its next
	// recheck (an hour here).
	fake, url, r := configuredAndDiscovered(t, "127.0.36.7", "02fc00003607")

	fake.SetInfo(func(i *wled.Info) { i.LEDs.Count = 60 })
	r.clock.nextRound(t)
	if ds := r.s.devices.registryDevices(); len(ds) != 1 || ds[0].LEDs != 60 {
		t.Fatalf("discovery lists %+v, want the device with 60 LEDs", ds)
	}
	waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/60")
}

func TestRenamedWLEDShowsItsNewName(t *testing.T) {
	// The venue renames a WLED in its settings. The status page (and the logs and metrics, which
	// read the strip's name) must show the new name, for a discovered device and for a configured
	// wled:// one, and the strip must go on streaming without a release in between.
	t.Run("discovered", func(t *testing.T) {
		const ip, mac = "127.0.36.8", "02fc00003608"
		fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 30, Name: "Old name", HTTPListen: ip + ":0", DDPListen: ip + ":4048", RealtimeListen: "-"})
		browser := &answerBrowser{}
		browser.set(answerFor("stage", fake.HTTPAddr()))
		r := startDeviceRig(t, nil, browser, nil)
		r.clock.waitRound(t)
		r.feedUntilFrame(t, mac, fake)

		fake.SetInfo(func(i *wled.Info) { i.Name = "Stage left" })
		r.clock.nextRound(t)
		checkRenamed(t, r, mac, fake)
	})
	t.Run("configured", func(t *testing.T) {
		const ip = "127.0.36.9"
		fake := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "Old name", HTTPListen: ip + ":0", DDPListen: ip + ":0", RealtimeListen: "-"})
		url := fake.URL()
		r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
		waitFor(t, "the strip", func() bool { return r.strip(url) != nil })
		r.feedUntilFrame(t, url, fake)

		fake.SetInfo(func(i *wled.Info) { i.Name = "Stage left" })
		waitFor(t, "the new name", func() bool { return r.strip(url).name == "Stage left" })
		checkRenamed(t, r, url, fake)
	})
}

// checkRenamed checks that key's strip, renamed "Stage left", is listed so and still streams,
// and that its device was not released.
func checkRenamed(t *testing.T, r *deviceRig, key string, fake *wledtest.Fake) {
	t.Helper()
	snap := r.s.Snapshot()
	if len(snap.Devices) != 1 || snap.Devices[0].ID != key || snap.Devices[0].Name != "Stage left" {
		t.Fatalf("status devices = %+v, want %s named \"Stage left\"", snap.Devices, key)
	}
	r.feedUntilFrame(t, key, fake)
	if n := liveFalseRequests(fake); n != 0 {
		t.Errorf("the device was released %d times on its rename", n)
	}
}

func TestConfiguredWLEDByLocalNameIsLookedUpBeforeItsJSONAPI(t *testing.T) {
	// wled://wled-xxxxxx.local, the name WLED shows and `ledbridge discover` prints: the name is
	// looked up with the device set's lookup (mDNS for .local, discovery.Resolver), and the JSON
	// API asked at the address found. Handing the name to the HTTP client's dialer instead meant
	// the system's resolver, which in the release build (no cgo) asks unicast DNS for .local
	// names and never finds them: the device was retried forever.
	const ip = "127.0.36.10"
	fake := wledtest.New(t, wledtest.Config{LEDs: 30, HTTPListen: ip + ":0", DDPListen: ip + ":0", RealtimeListen: "-"})
	url := strings.Replace(fake.URL(), ip, "wled-rv11.local", 1)
	var looked atomic.Int64
	lookup := func(_ context.Context, _, host string) ([]netip.Addr, error) {
		if host != "wled-rv11.local" {
			return nil, fmt.Errorf("lookup %s: no such host", host)
		}
		looked.Add(1)
		return []netip.Addr{netip.MustParseAddr(ip)}, nil
	}
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.lookup = lookup })
	waitStrips(t, r, url+"->"+fake.DDPAddr()+"/30")
	r.feedUntilFrame(t, url, fake)
	if st := r.strip(url); st.name != "wledtest" || st.target.Host != ip {
		t.Errorf("strip %q at %s, want the device's own name at %s", st.name, st.target.Host, ip)
	}
	if looked.Load() == 0 {
		t.Error("the name was never looked up with the device set's lookup")
	}
}

func TestDeviceSetLooksUpLocalNamesByMDNS(t *testing.T) {
	// The device set's own lookup sends .local names to mDNS on discovery's interfaces (here
	// only lo, which cannot multicast, so the look-up ends there without a packet sent) and
	// other names to the system's resolver.
	code, _ := room.ParseCode("DEV234")
	s, err := New(Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"}, Logger: slog.New(slog.DiscardHandler),
		Discovery: &discovery.Config{Interfaces: []string{"lo"}, Browser: &answerBrowser{}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.devices.lookup(context.Background(), "ip", "wled-rv11.local")
	if !errors.Is(err, discovery.ErrNoInterface) && !errors.Is(err, discovery.ErrNoMDNSAnswer) {
		t.Errorf("looking up a .local name on lo: %v, want discovery's mDNS error", err)
	}
	addrs, err := s.devices.lookup(context.Background(), "ip", "localhost")
	if err != nil || !slices.ContainsFunc(addrs, func(a netip.Addr) bool { return a.Unmap().IsLoopback() }) {
		t.Errorf("looking up localhost: %v, %v; want the system's answer", addrs, err)
	}
}

func TestConfiguredStripFollowsDiscoverysOnlineState(t *testing.T) {
	// The configured strip stands for the discovered device, so discovery's word that the device
	// stopped answering (and came back) shows on the configured strip's status entry.
	fake, url, r := configuredAndDiscovered(t, "127.0.36.11", "02fc00003611")
	online := func() bool {
		snap := r.s.Snapshot()
		if len(snap.Devices) != 1 || snap.Devices[0].ID != url {
			t.Fatalf("status devices = %+v, want the configured one alone", snap.Devices)
		}
		return snap.Devices[0].Online
	}
	if !online() {
		t.Fatal("the configured strip is offline before anything happened")
	}

	fake.SetRawInfo(503, []byte("rebooting"))
	for round := 0; ; round++ { // discovery waits for a few failed probes
		r.clock.nextRound(t)
		if ds := r.s.devices.registryDevices(); len(ds) == 1 && !ds[0].Online {
			break
		}
		if round == 10 {
			t.Fatalf("discovery lists %+v after %d rounds, want the device offline", r.s.devices.registryDevices(), round+1)
		}
	}
	if online() {
		t.Error("discovery says the device is offline, the status page says it is online")
	}
	fake.SetRawInfo(0, nil)
	r.clock.nextRound(t)
	if !online() {
		t.Error("discovery says the device is back, the status page says it is offline")
	}
}

// configuredAndDiscovered starts a 30-LED WLED (firmware that takes DNRGB) at ip, configured by
// its wled:// URL and found by discovery too, with the configured line's recheck an hour away,
// and waits for its one strip.
func configuredAndDiscovered(t *testing.T, ip, mac string) (*wledtest.Fake, string, *deviceRig) {
	t.Helper()
	fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 30, VID: oldFirmwareVID, DDPListen: "-", HTTPListen: ip + ":0", RealtimeListen: ip + ":0"})
	url := fake.URL()
	browser := &answerBrowser{}
	browser.set(answerFor("stage", fake.HTTPAddr()))
	r := startDeviceRig(t, []string{url}, browser, func(d *deviceSet) { d.recheckEvery = time.Hour })
	r.clock.waitRound(t)
	waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/30")
	return fake, url, r
}
