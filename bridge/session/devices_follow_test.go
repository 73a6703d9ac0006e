package session

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/bridge/testlog"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// These tests follow devices over time: a controller replaced at its address, a host inventing a
// new MAC each round, more devices than strips, a configured host name that moves, a network
// that is not up at start, a configured line removed from under a discovered device. Devices are
// wledtest fakes (real UDP, real /json/info over HTTP); discovery runs for real with a scripted
// mDNS browser and a clock the test steps round by round.

// oldFirmwareVID is a WLED 0.13 build: no DDP, so discovery streams DNRGB to the device's own UDP
// port, which a test can bind (DDP's fixed 4048 it cannot).
const oldFirmwareVID = 2109000

// answerBrowser answers each mDNS browse with whatever the test last set.
type answerBrowser struct {
	mu      sync.Mutex
	answers []discovery.Answer
}

func (b *answerBrowser) set(as ...discovery.Answer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answers = as
}

func (b *answerBrowser) Browse(context.Context, time.Duration) ([]discovery.Answer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]discovery.Answer(nil), b.answers...), nil
}

// roundClock lets the registry run one round per step: After reports that a round is over
// (and its events handled) and blocks the next one until the test fires.
type roundClock struct {
	done chan struct{}
	fire chan time.Time
}

func newRoundClock() *roundClock {
	return &roundClock{done: make(chan struct{}, 16), fire: make(chan time.Time)}
}

func (c *roundClock) Now() time.Time { return time.Now() }

func (c *roundClock) After(time.Duration) <-chan time.Time {
	c.done <- struct{}{}
	return c.fire
}

// waitRound waits until the registry finished a round and the session handled its events.
func (c *roundClock) waitRound(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no discovery round finished")
	}
}

// nextRound runs one more round.
func (c *roundClock) nextRound(t *testing.T) {
	t.Helper()
	c.fire <- time.Time{}
	c.waitRound(t)
}

// deviceRig is a session's device set running on its own, without a room.
type deviceRig struct {
	s      *Session
	clock  *roundClock
	logs   *testlog.Buffer
	cancel context.CancelFunc
	done   chan struct{}
}

// startDeviceRig runs the device set of a session with the given configured devices and, with
// browser set, discovery (mDNS answers from browser, /json/info over real HTTP). tune, if set,
// adjusts the device set before it runs.
func startDeviceRig(t *testing.T, devices []string, browser discovery.Browser, tune func(*deviceSet)) *deviceRig {
	t.Helper()
	r := &deviceRig{logs: &testlog.Buffer{}, done: make(chan struct{})}
	cfg := Config{Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"}, Devices: devices,
		Logger: testlog.NewLogger(r.logs, slog.LevelInfo)}
	cfg.Code, _ = room.ParseCode("DEV234")
	if browser != nil {
		r.clock = newRoundClock()
		cfg.Discovery = &discovery.Config{Browser: browser, Clock: r.clock, ProbeTimeout: 2 * time.Second}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	if tune != nil {
		tune(s.devices)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { defer close(r.done); _ = s.devices.run(ctx) }()
	t.Cleanup(r.stop)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.devices.mu.Lock()
		started := s.devices.ctx != nil
		s.devices.mu.Unlock()
		if started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the device set never started")
		}
	}
	return r
}

func (r *deviceRig) stop() {
	r.cancel()
	<-r.done
}

// strips describes the driven strips as "key->host:port/leds", sorted as the loop sees them.
func (r *deviceRig) strips() []string {
	var out []string
	for _, st := range r.s.devices.current() {
		out = append(out, st.key+"->"+st.target.UDPAddr()+"/"+strconv.Itoa(st.target.LEDs))
	}
	return out
}

// strip returns the strip driven for key, or nil.
func (r *deviceRig) strip(key string) *strip {
	for _, st := range r.s.devices.current() {
		if st.key == key {
			return st
		}
	}
	return nil
}

// waitFor polls cond until it holds; it fails the test after a generous deadline (a safety net
// for a loaded machine, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// feedUntilFrame submits black frames to key's strip (as the frame loop would) until fake has
// decoded one more frame than it had.
func (r *deviceRig) feedUntilFrame(t *testing.T, key string, fake *wledtest.Fake) {
	t.Helper()
	before := fake.FrameCount()
	waitFor(t, "a frame at "+fake.RealtimeAddr()+fake.DDPAddr(), func() bool {
		if st := r.strip(key); st != nil {
			st.out.Submit(make([]byte, st.frameBytes))
		}
		return fake.FrameCount() > before
	})
}

// startStripFake runs a fake WLED whose only listener is its UDP realtime port on ip (DNRGB).
func startStripFake(t *testing.T, ip, mac string, leds int) *wledtest.Fake {
	t.Helper()
	return wledtest.New(t, wledtest.Config{MAC: mac, LEDs: leds, VID: oldFirmwareVID, Name: "strip-" + mac[8:],
		HTTPListen: "-", DDPListen: "-", RealtimeListen: ip + ":0"})
}

// startInfoFront serves GET /json/info over real HTTP on ip with whatever info returns: the JSON
// API of a controller that the venue swaps for another on the same IP, or of a forger.
func startInfoFront(t *testing.T, ip string, info func() wled.Info) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/json/info" {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(info())
	})}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return netip.MustParseAddrPort(ln.Addr().String())
}

func TestDeviceReplacedAtItsAddressIsStoppedAndReleased(t *testing.T) {
	// The venue swaps controller B for C on the same IP. Discovery follows C under its MAC and
	// removes B: the session must stop B's strip and drive C alone, not keep a second stream,
	// with B's LED count, to the one address. (Whether the stopped output releases the address
	// is wled's call: not while C's output drives the same JSON API.)
	const ip, macB, macC = "127.0.31.1", "02fc00003101", "02fc00003102"
	b := startStripFake(t, ip, macB, 30)
	c := startStripFake(t, ip, macC, 60)
	var current atomic.Pointer[wledtest.Fake]
	current.Store(b)
	api := startInfoFront(t, ip, func() wled.Info { return current.Load().Info() })
	browser := &answerBrowser{}
	browser.set(discovery.Answer{Instance: "stage", Host: "stage.local.", Addr: api.Addr(), Port: int(api.Port())})
	r := startDeviceRig(t, nil, browser, nil)
	r.clock.waitRound(t)
	if got := r.strips(); len(got) != 1 || r.strip(macB) == nil {
		t.Fatalf("strips = %v, want B (%s) alone", got, macB)
	}
	r.feedUntilFrame(t, macB, b)
	stripB := r.strip(macB)

	current.Store(c)
	r.clock.nextRound(t)
	if got := r.strips(); len(got) != 1 || got[0] != macC+"->"+c.RealtimeAddr()+"/60" {
		t.Fatalf("after B was replaced by C: strips = %v, want only %s->%s/60", got, macC, c.RealtimeAddr())
	}
	r.feedUntilFrame(t, macC, c)
	select {
	case <-stripB.done:
	case <-time.After(10 * time.Second):
		t.Fatal("B's output still runs")
	}
	if !strings.Contains(r.logs.String(), "device removed") {
		t.Errorf("B's removal was not logged:\n%s", r.logs)
	}
}

func TestDeviceHostRotatingMACsGetsOneStrip(t *testing.T) {
	// One LAN host answers _wled._tcp and gives a new MAC (and the largest LED count) in every
	// /json/info. Each round discovery replaces "the device" at its IP; the session must follow
	// with one strip, not add a 16384-LED strip a round.
	sink, err := net.ListenPacket("udp4", "127.0.31.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	udpPort := sink.LocalAddr().(*net.UDPAddr).Port
	var n atomic.Int64
	api := startInfoFront(t, "127.0.31.2", func() wled.Info {
		k := n.Add(1)
		return wled.Info{Name: fmt.Sprintf("evil-%d", k), Version: "0.13.3", VID: oldFirmwareVID, MAC: fmt.Sprintf("02fd%08x", k),
			LEDs: wled.LEDsInfo{Count: wled.MaxLEDs, LC: 1}, UDPPort: udpPort}
	})
	browser := &answerBrowser{}
	browser.set(discovery.Answer{Instance: "evil", Host: "evil.local.", Addr: api.Addr(), Port: int(api.Port())})
	r := startDeviceRig(t, nil, browser, nil)
	r.clock.waitRound(t)
	keys := map[string]bool{}
	for round := range 12 {
		if round > 0 {
			r.clock.nextRound(t)
		}
		got := r.strips()
		if len(got) != 1 {
			t.Fatalf("round %d: the one host is driven as %d strips: %v", round+1, len(got), got)
		}
		keys[r.s.devices.current()[0].key] = true
	}
	if len(keys) < 2 {
		t.Fatalf("the host's MAC never changed (%v): the test did not exercise a replacement", keys)
	}
}

func TestDiscoveredStripsAreCapped(t *testing.T) {
	// Discovery lists up to 512 devices, any of which a LAN host can invent. The session drives
	// at most maxDiscoveredStrips of them and says so; configured devices still get theirs, and
	// a device refused at the cap is driven once a strip frees up.
	r := startDeviceRig(t, nil, nil, nil)
	d := r.s.devices
	dev := func(i int) discovery.Device {
		mac := fmt.Sprintf("02fe%08x", i)
		return discovery.Device{Key: mac, MAC: mac, Name: "flood-" + strconv.Itoa(i), IP: netip.AddrFrom4([4]byte{127, 0, 32, byte(i + 1)}),
			LEDs: wled.MaxLEDs, Protocol: wled.ProtocolDNRGB, StreamPort: 21324, Online: true}
	}
	const offered = maxDiscoveredStrips + 40
	for i := range offered {
		d.onDiscovery(discovery.Event{Kind: discovery.EventAdded, Device: dev(i)})
	}
	if got := len(r.strips()); got != maxDiscoveredStrips {
		t.Fatalf("%d discovered devices made %d strips, want the cap %d", offered, got, maxDiscoveredStrips)
	}
	if logs := r.logs.String(); strings.Count(logs, "too many discovered strips") != 1 {
		t.Errorf("the refusals were not logged once (rate-limited):\n%s", logs)
	}

	fake := wledtest.New(t, wledtest.Config{HTTPListen: "-", DDPListen: "-", RealtimeListen: "127.0.31.3:0"})
	url := fake.RealtimeURL("dnrgb")
	if err := r.s.SetDevices([]string{url}); err != nil {
		t.Fatal(err)
	}
	if r.strip(url) == nil {
		t.Fatalf("the configured device is not driven at the cap: %d strips", len(r.strips()))
	}
	r.feedUntilFrame(t, url, fake)

	// Without a registry nothing re-offers a refused device: the next event for it does.
	d.onDiscovery(discovery.Event{Kind: discovery.EventRemoved, Device: dev(0)})
	refused := dev(offered - 1)
	d.onDiscovery(discovery.Event{Kind: discovery.EventUpdated, Device: refused})
	if r.strip(refused.Key) == nil || len(r.strips()) != maxDiscoveredStrips+1 {
		t.Errorf("after one strip freed up: %d strips, refused device driven: %v", len(r.strips()), r.strip(refused.Key) != nil)
	}
}

func TestStaticHostNameFollowsItsMove(t *testing.T) {
	// A device configured by host name (ddp://strip.venue…) is moved by DHCP, and the venue's
	// DNS follows. The strip must be driven at its new address: at once on a reload (SIGHUP)
	// with the same list, at the next periodic look-up, or as soon as its sends fail.
	for _, tc := range []struct {
		name   string
		oldIP  string
		newIP  string
		tune   func(*deviceSet)
		notify func(t *testing.T, r *deviceRig, url string)
	}{
		{"reload", "127.0.33.1", "127.0.33.2", func(d *deviceSet) { d.recheckEvery, d.failingCheck = time.Hour, time.Hour },
			func(t *testing.T, r *deviceRig, url string) {
				if err := r.s.SetDevices([]string{url}); err != nil {
					t.Fatal(err)
				}
			}},
		{"recheck", "127.0.33.3", "127.0.33.4", func(d *deviceSet) { d.recheckEvery, d.failingCheck = 20*time.Millisecond, time.Hour }, nil},
		{"failing", "127.0.33.5", "127.0.33.6", func(d *deviceSet) { d.recheckEvery, d.failingCheck = time.Hour, 20*time.Millisecond }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := wledtest.New(t, wledtest.Config{HTTPListen: "-", RealtimeListen: "-", DDPListen: tc.oldIP + ":0"})
			port := netip.MustParseAddrPort(old.DDPAddr()).Port()
			moved := wledtest.New(t, wledtest.Config{HTTPListen: "-", RealtimeListen: "-", DDPListen: netip.AddrPortFrom(netip.MustParseAddr(tc.newIP), port).String()})
			var at atomic.Pointer[netip.Addr]
			oldAddr, newAddr := netip.MustParseAddr(tc.oldIP), netip.MustParseAddr(tc.newIP)
			at.Store(&oldAddr)
			var lookups atomic.Int64
			lookup := func(_ context.Context, _, host string) ([]netip.Addr, error) {
				if host != "strip.venue.example" {
					return nil, fmt.Errorf("lookup %s: no such host", host)
				}
				lookups.Add(1)
				return []netip.Addr{*at.Load()}, nil
			}
			url := "ddp://strip.venue.example:" + strconv.Itoa(int(port)) + "?leds=30"
			r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.lookup = lookup; tc.tune(d) })
			waitFor(t, "the strip driven at its first address", func() bool { return r.strip(url) != nil })
			r.feedUntilFrame(t, url, old)

			at.Store(&newAddr)
			if tc.name == "failing" {
				_ = old.Close() // gone from its old address: sends there are refused
			}
			if tc.notify != nil {
				tc.notify(t, r, url)
			}
			r.feedUntilFrame(t, url, moved)
			if got := r.strips(); len(got) != 1 || got[0] != url+"->"+moved.DDPAddr()+"/30" {
				t.Errorf("strips = %v, want the one strip at %s", got, moved.DDPAddr())
			}
			if tc.name != "reload" && lookups.Load() < 2 {
				t.Errorf("the name was looked up %d times", lookups.Load())
			}
		})
	}
}

func TestStaticIPDeviceRetriedWhenTheNetworkComesUpLate(t *testing.T) {
	// The venue powers up at once and the Pi's link comes up after the daemon started: a
	// configured ddp://IP device cannot even get a socket ("network is unreachable"). It must be
	// retried, and driven once the network is there. Run in a network namespace of its own, whose
	// only interface is loopback, so "the network comes up" is an address added to it.
	if !testenv.InNetworkNamespace(t, "true") {
		return
	}
	const url = "ddp://10.9.0.2?leds=30"
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.retryDelays = []time.Duration{20 * time.Millisecond} })
	waitFor(t, "the first attempt to fail", func() bool { return strings.Contains(r.logs.String(), "network is unreachable") })
	if got := r.strips(); len(got) != 0 {
		t.Fatalf("strips = %v before the network is up", got)
	}

	if out, err := exec.Command("ip", "addr", "add", "10.9.0.2/24", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("bring the network up: %v %s", err, out)
	}
	fake := wledtest.New(t, wledtest.Config{HTTPListen: "-", RealtimeListen: "-", DDPListen: "10.9.0.2:" + strconv.Itoa(wled.DDPPort)})
	waitFor(t, "the strip driven", func() bool { return r.strip(url) != nil })
	r.feedUntilFrame(t, url, fake)
	if !strings.Contains(r.logs.String(), "reachable again") {
		t.Errorf("the recovery was not logged:\n%s", r.logs)
	}
}

func TestDeviceConfiguredAndDiscoveredKeepsAStrip(t *testing.T) {
	// A strip both configured and found by mDNS is driven once. When the strip that drives it
	// goes, the other must take over, not leave the strip dark.
	t.Run("configured line removed", func(t *testing.T) {
		const ip, mac = "127.0.34.1", "02fc00003401"
		fake := wledtest.New(t, wledtest.Config{MAC: mac, VID: oldFirmwareVID, DDPListen: "-", HTTPListen: ip + ":0", RealtimeListen: ip + ":0"})
		api := netip.MustParseAddrPort(fake.HTTPAddr())
		browser := &answerBrowser{}
		browser.set(discovery.Answer{Instance: "stage", Host: "stage.local.", Addr: api.Addr(), Port: int(api.Port()), MAC: mac})
		url := fake.RealtimeURL("dnrgb")
		r := startDeviceRig(t, []string{url}, browser, nil)
		r.clock.waitRound(t)
		if got := r.strips(); len(got) != 1 || r.strip(url) == nil {
			t.Fatalf("strips = %v, want the configured strip alone", got)
		}

		if err := r.s.SetDevices(nil); err != nil {
			t.Fatal(err)
		}
		if got := r.strips(); len(got) != 1 || got[0] != mac+"->"+fake.RealtimeAddr()+"/30" {
			t.Fatalf("after the configured line was removed: strips = %v, want the discovered device's own", got)
		}
		r.feedUntilFrame(t, mac, fake)
	})

	t.Run("discovered device moved away", func(t *testing.T) {
		// The configured device (by host name) is looked up after discovery already drives that
		// address, and takes the device over; then the discovered device moves (DHCP) and needs a
		// strip of its own again. Its old address no longer answers as it: were it still to give
		// its MAC there, discovery would keep the device at the address it confirmed (another host
		// giving a device's MAC cannot take its strip: discovery's
		// TestForgedInfoMACCannotMoveADevice).
		const ipA, ipB, mac = "127.0.34.2", "127.0.34.3", "02fc00003402"
		a := startStripFake(t, ipA, mac, 30)
		port := netip.MustParseAddrPort(a.RealtimeAddr()).Port()
		b := wledtest.New(t, wledtest.Config{MAC: mac, VID: oldFirmwareVID, HTTPListen: "-", DDPListen: "-",
			RealtimeListen: netip.AddrPortFrom(netip.MustParseAddr(ipB), port).String()})
		var movedAway atomic.Bool
		apiA := startInfoFront(t, ipA, func() wled.Info {
			if movedAway.Load() {
				return wled.Info{} // no WLED answers there as the device any more
			}
			return a.Info()
		})
		apiB := startInfoFront(t, ipB, func() wled.Info { return b.Info() })
		browser := &answerBrowser{}
		browser.set(discovery.Answer{Instance: "stage", Host: "stage.local.", Addr: apiA.Addr(), Port: int(apiA.Port()), MAC: mac})
		looked := make(chan struct{})
		lookup := func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
			select {
			case <-looked:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return []netip.Addr{netip.MustParseAddr(ipA)}, nil
		}
		url := "dnrgb://configured.venue.example:" + strconv.Itoa(int(port)) + "?leds=30"
		r := startDeviceRig(t, []string{url}, browser, func(d *deviceSet) { d.lookup = lookup; d.recheckEvery = time.Hour })
		r.clock.waitRound(t)
		close(looked)
		waitFor(t, "the configured device to be looked up", func() bool {
			r.s.devices.mu.Lock()
			defer r.s.devices.mu.Unlock()
			return r.s.devices.configured[url].placed
		})
		if got := r.strips(); len(got) != 1 || r.strip(url) == nil {
			t.Fatalf("strips = %v, want the configured strip alone (it wins over the discovered one)", got)
		}

		movedAway.Store(true)
		browser.set(discovery.Answer{Instance: "stage", Host: "stage.local.", Addr: apiB.Addr(), Port: int(apiB.Port()), MAC: mac})
		r.clock.nextRound(t)
		waitFor(t, "both addresses driven", func() bool { return len(r.strips()) == 2 })
		if st := r.strip(mac); st == nil || st.target.Host != ipB {
			t.Fatalf("strips = %v, want the discovered one at %s", r.strips(), ipB)
		}
		r.feedUntilFrame(t, mac, b)
		r.feedUntilFrame(t, url, a)
	})
}

func TestStaticHostNameWithRotatingAnswersStaysPut(t *testing.T) {
	// A name with two addresses whose DNS server rotates their order: looking it up again must
	// not move the strip between them at every recheck.
	first, second := netip.MustParseAddr("127.0.33.7"), netip.MustParseAddr("127.0.33.8")
	var lookups atomic.Int64
	lookup := func(context.Context, string, string) ([]netip.Addr, error) {
		if lookups.Add(1)%2 == 0 {
			return []netip.Addr{second, first}, nil
		}
		return []netip.Addr{first, second}, nil
	}
	const url = "ddp://two.venue.example?leds=30"
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.lookup = lookup; d.recheckEvery = time.Millisecond })
	waitFor(t, "the strip driven", func() bool { return r.strip(url) != nil })
	st := r.strip(url)
	waitFor(t, "ten more look-ups", func() bool { return lookups.Load() > 10 })
	if now := r.strip(url); now != st {
		t.Errorf("the strip moved from %s to %s with the DNS answers' order", st.target.Host, now.target.Host)
	}
}
