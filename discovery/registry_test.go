package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// scriptedBrowser answers each Browse with whatever the test last set.
type scriptedBrowser struct {
	mu      sync.Mutex
	answers []Answer
	err     error
	calls   int
}

func (b *scriptedBrowser) set(err error, answers ...Answer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answers, b.err = answers, err
}

func (b *scriptedBrowser) callCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

func (b *scriptedBrowser) Browse(ctx context.Context, _ time.Duration) ([]Answer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	return append([]Answer(nil), b.answers...), b.err
}

// stepClock hands Run a channel per wait; the test fires it to start the next round.
type stepClock struct {
	waits chan time.Duration // the duration of each After call
	fire  chan time.Time
	now   time.Time
	mu    sync.Mutex
}

func newStepClock() *stepClock {
	return &stepClock{waits: make(chan time.Duration, 16), fire: make(chan time.Time), now: time.Unix(1_700_000_000, 0)}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.waits <- d
	return c.fire
}

// startFake runs a wledtest fake whose JSON API listens on addr ("127.0.0.1:0" style).
func startFake(t *testing.T, addr, mac string, leds int) *wledtest.Fake {
	t.Helper()
	f, err := wledtest.Start(wledtest.Config{MAC: mac, LEDs: leds, Name: "strip-" + mac[6:], HTTPListen: addr, DDPListen: "-", RealtimeListen: "-"})
	if err != nil {
		t.Fatalf("start fake WLED on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// answerFor is the mDNS answer a real WLED with fake f would give.
func answerFor(t *testing.T, f *wledtest.Fake, withMAC bool) Answer {
	t.Helper()
	ap := netip.MustParseAddrPort(f.HTTPAddr())
	a := Answer{Instance: "wled-" + f.Config().MAC[6:], Host: "wled-" + f.Config().MAC[6:] + ".local.", Addr: ap.Addr(), Port: int(ap.Port())}
	if withMAC {
		a.MAC = f.Config().MAC
	}
	return a
}

type harness struct {
	t       *testing.T
	reg     *Registry
	browser *scriptedBrowser
	clock   *stepClock
	events  chan Event
	cancel  context.CancelFunc
	done    chan error
}

// startRegistry runs a Registry with a scripted browser and a stepped clock.
// The browser answers initial until the test calls h.browser.set.
func startRegistry(t *testing.T, cfg Config, initial ...Answer) *harness {
	t.Helper()
	h := &harness{t: t, browser: &scriptedBrowser{answers: initial}, clock: newStepClock(), events: make(chan Event, 64), done: make(chan error, 1)}
	if cfg.Browser == nil {
		cfg.Browser = h.browser
	}
	cfg.Clock = h.clock
	cfg.OnChange = func(ev Event) { h.events <- ev }
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.reg = reg
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- reg.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Error("Run did not return after cancel")
	}
}

// waitRound waits until Run finished a round and asks for its next wait; it returns that wait.
func (h *harness) waitRound() time.Duration {
	h.t.Helper()
	select {
	case d := <-h.clock.waits:
		return d
	case <-time.After(10 * time.Second):
		h.t.Fatal("no round finished")
	}
	return 0
}

// nextRound lets the registry start its next round and waits for it to finish.
func (h *harness) nextRound() time.Duration {
	h.t.Helper()
	h.clock.fire <- time.Time{}
	return h.waitRound()
}

// drain returns the events of the rounds so far.
func (h *harness) drain() []Event {
	var out []Event
	for {
		select {
		case ev := <-h.events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func kinds(evs []Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, ev.Kind.String()+":"+ev.Device.Key)
	}
	return strings.Join(s, ",")
}

func TestRegistryFindsConfirmsAndKeysByMAC(t *testing.T) {
	f := startFake(t, "127.0.0.1:0", "02fc00000001", 120)
	f.SetInfo(func(i *wled.Info) { i.Version = "0.14.4"; i.Live = true; i.LiveMode = "DDP" })
	h := startRegistry(t, Config{}, answerFor(t, f, true))

	if d := h.waitRound(); d != DefaultInterval {
		t.Errorf("wait after an all-online round = %v, want Interval %v", d, DefaultInterval)
	}
	evs := h.drain()
	if kinds(evs) != "added:02fc00000001" {
		t.Fatalf("events = %s, want added:02fc00000001", kinds(evs))
	}
	d := evs[0].Device
	ap := netip.MustParseAddrPort(f.HTTPAddr())
	if !d.Online || d.MAC != "02fc00000001" || d.IP != ap.Addr() || d.HTTPPort != int(ap.Port()) ||
		d.LEDs != 120 || d.RGBW || d.Protocol != wled.ProtocolDDP || d.StreamPort != wled.DDPPort ||
		d.Info.Version != "0.14.4" || !d.Info.Live || d.Name != "strip-000001" || d.Source != SourceMDNS ||
		d.Host != "wled-000001.local." || d.LastError != "" || d.LastSeen.IsZero() {
		t.Errorf("device = %+v", d)
	}
	if tg, ok := d.Target(); !ok || tg.String() != "ddp://127.0.0.1:4048?leds=120" {
		t.Errorf("Target() = %v, %v; want ddp://127.0.0.1:4048?leds=120", tg, ok)
	}

	// A second round with nothing new reports nothing.
	h.nextRound()
	if evs := h.drain(); len(evs) != 0 {
		t.Errorf("unchanged round produced events %s", kinds(evs))
	}
	if n := len(h.reg.Devices()); n != 1 {
		t.Errorf("Devices() has %d entries, want 1", n)
	}
}

func TestRegistryIPChangeUpdatesNotDuplicates(t *testing.T) {
	const mac = "02fc00000002"
	old := startFake(t, "127.0.0.1:0", mac, 60)
	h := startRegistry(t, Config{}, answerFor(t, old, true))
	h.waitRound()
	if kinds(h.drain()) != "added:"+mac {
		t.Fatal("device not added")
	}

	// The controller moves to another address (DHCP renewal); mDNS now points there.
	_ = old.Close()
	moved := startFake(t, "127.0.0.2:0", mac, 60)
	h.browser.set(nil, answerFor(t, moved, true))
	h.nextRound()
	evs := h.drain()
	if kinds(evs) != "updated:"+mac {
		t.Fatalf("events = %s, want updated:%s", kinds(evs), mac)
	}
	ds := h.reg.Devices()
	if len(ds) != 1 {
		t.Fatalf("Devices() = %d entries after IP change, want 1: %+v", len(ds), ds)
	}
	if want := netip.MustParseAddr("127.0.0.2"); ds[0].IP != want || !ds[0].Online {
		t.Errorf("device after move: IP %v online %v, want %v online", ds[0].IP, ds[0].Online, want)
	}
}

func TestRegistryOfflineRetriedAndBack(t *testing.T) {
	const mac = "02fc00000003"
	f := startFake(t, "127.0.0.1:0", mac, 30)
	addr := f.HTTPAddr()
	h := startRegistry(t, Config{}, answerFor(t, f, true))
	h.waitRound()
	h.drain()

	// The device goes dark: no HTTP, and it no longer answers mDNS either. One failed probe
	// is not enough (a lost request on Wi-Fi); it is retried sooner, and the second failure
	// marks it offline.
	_ = f.Close()
	h.browser.set(nil)
	if d := h.nextRound(); d != DefaultRetryInterval {
		t.Errorf("wait after a failed probe = %v, want RetryInterval %v", d, DefaultRetryInterval)
	}
	if evs := h.drain(); len(evs) != 0 {
		t.Errorf("one failed probe produced %s", kinds(evs))
	}
	if ds := h.reg.Devices(); len(ds) != 1 || !ds[0].Online || ds[0].LastError == "" {
		t.Errorf("after one failed probe: %+v, want still online with the error noted", ds)
	}
	if d := h.nextRound(); d != DefaultRetryInterval {
		t.Errorf("wait while a device is offline = %v, want RetryInterval %v", d, DefaultRetryInterval)
	}
	evs := h.drain()
	if kinds(evs) != "offline:"+mac {
		t.Fatalf("events = %s, want offline:%s", kinds(evs), mac)
	}
	if evs[0].Device.LastError == "" || evs[0].Device.Online {
		t.Errorf("offline device = %+v, want an error text", evs[0].Device)
	}

	// Still dark on the retry: no new event.
	h.nextRound()
	if evs := h.drain(); len(evs) != 0 {
		t.Errorf("second failed probe produced %s", kinds(evs))
	}

	// Power returns on the same address; the retry finds it without mDNS.
	startFake(t, addr, mac, 30)
	if d := h.nextRound(); d != DefaultInterval {
		t.Errorf("wait after recovery = %v, want %v", d, DefaultInterval)
	}
	if evs := h.drain(); kinds(evs) != "online:"+mac {
		t.Fatalf("events = %s, want online:%s", kinds(evs), mac)
	}
}

func TestRegistryMACFromInfoWhenTXTMissing(t *testing.T) {
	f := startFake(t, "127.0.0.1:0", "02fc00000004", 10)
	h := startRegistry(t, Config{}, answerFor(t, f, false))
	h.waitRound()
	if evs := h.drain(); kinds(evs) != "added:02fc00000004" {
		t.Fatalf("events = %s", kinds(evs))
	}
	h.nextRound()
	if ds := h.reg.Devices(); len(ds) != 1 || ds[0].Key != "02fc00000004" {
		t.Fatalf("Devices() = %+v, want one entry keyed by the MAC", ds)
	}
}

func TestRegistryStaticMergesWithMDNSAndOverrides(t *testing.T) {
	const mac = "02fc00000005"
	f := startFake(t, "127.0.0.1:0", mac, 50)
	static := "wled://" + f.HTTPAddr() + "?leds=20"
	h := startRegistry(t, Config{Static: []string{static}})
	h.waitRound()
	evs := h.drain()
	if kinds(evs) != "added:"+mac {
		t.Fatalf("events = %s", kinds(evs))
	}
	if d := evs[0].Device; d.Source != SourceStatic || d.LEDs != 20 || d.RGBW || d.Static != static {
		t.Errorf("static device = %+v", d)
	}

	// The same controller now also answers mDNS: still one device.
	h.browser.set(nil, answerFor(t, f, true))
	h.nextRound()
	h.drain()
	ds := h.reg.Devices()
	if len(ds) != 1 || ds[0].Source != SourceBoth || ds[0].LEDs != 20 {
		t.Fatalf("Devices() = %+v, want one device from mdns+static keeping the override", ds)
	}
}

func TestRegistryProtocolChoice(t *testing.T) {
	old := startFake(t, "127.0.0.1:0", "02fc00000006", 40)
	old.SetInfo(func(i *wled.Info) { i.VID = 2104000; i.UDPPort = 21325 })
	h := startRegistry(t, Config{DisableMDNS: true, Static: []string{"wled://" + old.HTTPAddr()}})
	h.waitRound()
	ds := h.reg.Devices()
	if len(ds) != 1 || ds[0].Protocol != wled.ProtocolDNRGB || ds[0].StreamPort != 21325 {
		t.Errorf("pre-DDP firmware: %+v, want dnrgb on its udpport 21325", ds)
	}
	if n := h.browser.callCount(); n != 0 {
		t.Errorf("DisableMDNS: browser called %d times", n)
	}

	// A configured protocol applies to every device; the stream port follows it.
	f := startFake(t, "127.0.0.1:0", "02fc00000007", 40)
	h2 := startRegistry(t, Config{DisableMDNS: true, Protocol: "warls", Static: []string{"wled://" + f.HTTPAddr()}})
	h2.waitRound()
	if ds := h2.reg.Devices(); len(ds) != 1 || ds[0].Protocol != wled.ProtocolWARLS || ds[0].StreamPort != f.Info().UDPPort {
		t.Errorf("forced warls: %+v", ds)
	}
}

func TestRegistryForcedStaticWithoutAPIStaysUnconfirmed(t *testing.T) {
	// A ddp:// entry for something with no JSON API on port 80 (nothing listens on
	// 127.0.0.1:80 here): listed, offline, with the probe error, and no events (no MAC).
	h := startRegistry(t, Config{DisableMDNS: true, Static: []string{"ddp://127.0.0.1:5000?leds=10"}})
	h.waitRound()
	ds := h.reg.Devices()
	if len(ds) != 1 || ds[0].Online || ds[0].LastError == "" || ds[0].Key != "static:ddp://127.0.0.1:5000?leds=10" {
		t.Fatalf("Devices() = %+v", ds)
	}
	if evs := h.drain(); len(evs) != 0 {
		t.Errorf("events = %s, want none for a device without MAC", kinds(evs))
	}
}

func TestRegistryBadDevicesListedOfflineWithError(t *testing.T) {
	noMAC := startFake(t, "127.0.0.1:0", "02fc00000008", 10)
	noMAC.SetInfo(func(i *wled.Info) { i.MAC = "not-a-mac" })

	// A "device" whose JSON API sends garbage, and one that streams an endless body.
	garbage := serveHTTP(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("\x00\xff{{{ not json")) })
	endless := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat(`{"ver":"x",`, 1024))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	h := startRegistry(t, Config{},
		answerFor(t, noMAC, false),
		Answer{Instance: "garbage", Host: "garbage.local.", Addr: garbage.Addr(), Port: int(garbage.Port()), MAC: "02fc000000aa"},
		Answer{Instance: "endless", Host: "endless.local.", Addr: endless.Addr(), Port: int(endless.Port()), MAC: "02fc000000bb"},
	)
	h.waitRound()
	ds := h.reg.Devices()
	if len(ds) != 3 {
		t.Fatalf("Devices() = %+v, want 3 entries", ds)
	}
	for _, d := range ds {
		if d.Online || d.LastError == "" {
			t.Errorf("device %s: online=%v error=%q, want offline with an error", d.Key, d.Online, d.LastError)
		}
	}
	byKey := map[string]Device{}
	for _, d := range ds {
		byKey[d.Key] = d
	}
	if d := byKey["mdns:wled-000008"]; !strings.Contains(d.LastError, ErrNoMAC.Error()) {
		t.Errorf("no-MAC device error = %q", d.LastError)
	}
	if d := byKey["mdns:garbage"]; !strings.Contains(d.LastError, wled.ErrNotWLED.Error()) || d.MAC != "" {
		t.Errorf("garbage device = %+v, want a not-WLED error and no MAC", d)
	}
	if d := byKey["mdns:endless"]; d.LastError == "" || d.MAC != "" {
		t.Errorf("endless device = %+v, want an error and no MAC", d)
	}
	// Only devices confirmed by /json/info produce events: a TXT mac is a claim, not a device.
	if got := kinds(h.drain()); got != "" {
		t.Errorf("events = %s, want none", got)
	}
}

func TestRegistryBrowseErrorStillProbesStatics(t *testing.T) {
	f := startFake(t, "127.0.0.1:0", "02fc00000009", 10)
	b := &scriptedBrowser{err: errors.New("no multicast here")}
	h := startRegistry(t, Config{Browser: b, Static: []string{f.HTTPAddr()}})
	h.waitRound()
	if ds := h.reg.Devices(); len(ds) != 1 || !ds[0].Online {
		t.Fatalf("Devices() = %+v, want the static device online", ds)
	}
}

func TestRunTwiceIsRefused(t *testing.T) {
	h := startRegistry(t, Config{DisableMDNS: true})
	h.waitRound()
	if err := h.reg.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run = %v, want ErrAlreadyRunning", err)
	}
}

func TestBrowseOneShot(t *testing.T) {
	f := startFake(t, "127.0.0.1:0", "02fc0000000a", 33)
	b := &scriptedBrowser{}
	b.set(nil, answerFor(t, f, true))
	ds, err := Browse(context.Background(), Config{Browser: b, Static: []string{"wled://" + f.HTTPAddr()}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].LEDs != 33 || ds[0].Source != SourceBoth {
		t.Fatalf("Browse = %+v, want one device found both ways", ds)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Interval: -time.Second},
		{OfflineAfter: -1},
		{Static: []string{"ftp://x"}},
		{Static: []string{"ddp://host:99999"}},
		{Static: []string{"wled://host?rgbw=1"}},
		{Protocol: "smoke-signals"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

// serveHTTP serves h on a loopback port until the test ends.
func serveHTTP(t *testing.T, h http.HandlerFunc) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
		<-done
	})
	return netip.MustParseAddrPort(ln.Addr().String())
}

func TestRegistryBoundsTheList(t *testing.T) {
	// A responder inventing 600 devices (all pointing at a closed port): the list stops at
	// maxUnconfirmed and every entry is offline with an error.
	var answers []Answer
	for i := range 600 {
		answers = append(answers, Answer{Instance: fmt.Sprintf("fake-%d", i), Host: "x.local.", Addr: netip.MustParseAddr("127.0.0.1"), Port: 1, MAC: fmt.Sprintf("02fc%08x", i)})
	}
	b := &scriptedBrowser{answers: answers}
	ds, err := Browse(context.Background(), Config{Browser: b, ProbeTimeout: time.Second}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != maxUnconfirmed {
		t.Errorf("Devices() has %d entries, want the cap %d", len(ds), maxUnconfirmed)
	}
	for _, d := range ds {
		if d.Online || d.LastError == "" {
			t.Fatalf("device %+v should be offline with an error", d)
		}
	}
}

func TestMDNSBrowserUnknownInterface(t *testing.T) {
	b := &MDNSBrowser{Interfaces: []string{"no-such-if0"}}
	if _, err := b.Browse(context.Background(), time.Second); !errors.Is(err, ErrNoInterface) {
		t.Errorf("Browse on a missing interface = %v, want ErrNoInterface", err)
	}
}

func TestProbeOfSilentDeviceEndsWithTheTimeout(t *testing.T) {
	// Accepts the connection, never answers: the probe must give up at ProbeTimeout and leave
	// no goroutine behind (goleak checks after the test binary's tests).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	defer func() {
		_ = ln.Close()
		for c := range accepted {
			_ = c.Close()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	b := &scriptedBrowser{answers: []Answer{{Instance: "silent", Host: "silent.local.", Addr: ap.Addr(), Port: int(ap.Port()), MAC: "02fc000000cc"}}}
	ds, err := Browse(context.Background(), Config{Browser: b, ProbeTimeout: 200 * time.Millisecond}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Online || !(strings.Contains(ds[0].LastError, "deadline") || strings.Contains(ds[0].LastError, "timeout")) {
		t.Errorf("silent device = %+v, want offline with a timeout error", ds)
	}
}

// redirectFetcher sends every /json/info request to one address: a forced static URL is
// confirmed on port 80, where no test can listen, so the test points it at a fake WLED.
type redirectFetcher struct {
	to     string
	client *wled.Client
}

func (f redirectFetcher) Info(ctx context.Context, _ string) (wled.Info, error) {
	return f.client.Info(ctx, f.to)
}

func TestRegistryForcedStaticProtocolClampsForItself(t *testing.T) {
	// A 1000-LED controller configured as drgb://, warls://, …: the LED count must fit the
	// forced protocol (DRGB carries 490), not the DDP the firmware would have been given, or
	// the output refuses the device.
	f := startFake(t, "127.0.0.1:0", "02fc0000000b", 1000)
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"drgb://127.0.0.1", "drgb://127.0.0.1:21324?leds=490"},
		{"warls://127.0.0.1", "warls://127.0.0.1:21324?leds=255"},
		{"drgbw://127.0.0.1", "drgbw://127.0.0.1:21324?leds=367"},
		{"ddp://127.0.0.1", "ddp://127.0.0.1:4048?leds=1000"},
		{"dnrgb://127.0.0.1?leds=300", "dnrgb://127.0.0.1:21324?leds=300"},
	} {
		ds, err := Browse(context.Background(), Config{DisableMDNS: true, Static: []string{tc.url},
			Fetcher: redirectFetcher{to: f.HTTPAddr(), client: &wled.Client{}}}, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || !ds[0].Online {
			t.Fatalf("%s: Devices() = %+v, want one online device", tc.url, ds)
		}
		tg, ok := ds[0].Target()
		if !ok || tg.String() != tc.want {
			t.Errorf("%s on a 1000-LED device: Target() = %v, %v; want %s", tc.url, tg, ok, tc.want)
			continue
		}
		out, err := wled.NewOutput(wled.OutputConfig{Target: tg})
		if err != nil {
			t.Errorf("%s: NewOutput(%v) = %v", tc.url, tg, err)
			continue
		}
		_ = out.Close()
	}
}

// countingFetcher asks the real wled client and counts the requests.
type countingFetcher struct {
	client *wled.Client
	calls  atomic.Int64
}

func (f *countingFetcher) Info(ctx context.Context, hostport string) (wled.Info, error) {
	f.calls.Add(1)
	return f.client.Info(ctx, hostport)
}

// forgedAnswers invents n _wled._tcp answers with TXT MACs, all pointing at a closed port.
func forgedAnswers(n int) []Answer {
	var out []Answer
	for i := range n {
		out = append(out, Answer{Instance: fmt.Sprintf("fake-%03d", i), Host: "x.local.", Addr: netip.MustParseAddr("127.0.0.1"),
			Port: 1, MAC: fmt.Sprintf("02000000%04x", i)})
	}
	return out
}

func TestRegistryForgedAnswersCannotLockOutRealDevices(t *testing.T) {
	// Anyone on the LAN can answer _wled._tcp with invented instances carrying TXT MACs. They
	// must not be announced, must take only the unconfirmed places, must be dropped after a
	// few failed probes (so a real device arriving later gets listed), must not push out a
	// confirmed device while they keep coming, and must keep each round's probes bounded.
	const realMAC = "02fc0000000c"
	fetch := &countingFetcher{client: &wled.Client{HTTP: probeHTTPClient(), Timeout: time.Second}}
	h := startRegistry(t, Config{Fetcher: fetch}, forgedAnswers(600)...)
	if d := h.waitRound(); d != DefaultInterval {
		// Failing forged entries must not make us browse (and be flooded) every RetryInterval.
		t.Errorf("wait after a round of forged answers = %v, want Interval %v", d, DefaultInterval)
	}
	ds := h.reg.Devices()
	if len(ds) != maxUnconfirmed {
		t.Errorf("after the flood: %d devices listed, want the unconfirmed cap %d", len(ds), maxUnconfirmed)
	}
	for _, d := range ds {
		if d.MAC != "" || !strings.HasPrefix(d.Key, "mdns:") || d.Online {
			t.Fatalf("forged device %+v: want provisional, offline, without a MAC", d)
		}
	}
	if evs := h.drain(); len(evs) != 0 {
		t.Fatalf("forged answers announced to the session: %s", kinds(evs))
	}
	if n := fetch.calls.Swap(0); n != maxUnconfirmed {
		t.Errorf("round probed %d devices, want %d", n, maxUnconfirmed)
	}

	// The flood stops and a real controller appears: it is listed as soon as the forged
	// entries have failed evictUnconfirmedAfter probes, and they are gone.
	f := startFake(t, "127.0.0.1:0", realMAC, 60)
	h.browser.set(nil, answerFor(t, f, true))
	var added []Event
	for round := 2; round <= evictUnconfirmedAfter+1 && len(added) == 0; round++ {
		h.nextRound()
		added = h.drain()
	}
	if kinds(added) != "added:"+realMAC || !added[0].Device.Online {
		t.Fatalf("events = %s, want the real device added and online after %d rounds", kinds(added), evictUnconfirmedAfter+1)
	}
	if ds := h.reg.Devices(); len(ds) != 1 || ds[0].Key != realMAC {
		t.Fatalf("Devices() = %+v, want only the real device", ds)
	}

	// The flood comes back while the real device keeps answering: it stays listed and
	// online, nothing is announced, and a round probes at most the real one and the cap.
	h.browser.set(nil, append(forgedAnswers(600), answerFor(t, f, true))...)
	fetch.calls.Store(0)
	for range evictUnconfirmedAfter + 1 {
		h.nextRound()
		if n := fetch.calls.Swap(0); n > 1+maxUnconfirmed {
			t.Errorf("round probed %d devices, want at most %d", n, 1+maxUnconfirmed)
		}
	}
	if evs := h.drain(); len(evs) != 0 {
		t.Errorf("flood produced events %s", kinds(evs))
	}
	ds = h.reg.Devices()
	realListed := 0
	for _, d := range ds {
		switch {
		case d.Key == realMAC && d.Online:
			realListed++
		case d.MAC != "":
			t.Errorf("forged device confirmed: %+v", d)
		}
	}
	if realListed != 1 || len(ds) > 1+maxUnconfirmed {
		t.Errorf("during the flood: %d devices, real one listed online %d times; want it once and at most %d others", len(ds), realListed, maxUnconfirmed)
	}
}

func TestRegistryTXTMACDoesNotConfirm(t *testing.T) {
	// A responder claims a real device's MAC in TXT before the device was ever seen: the claim
	// neither keys the entry nor is announced, and the real device is still added under its MAC
	// when it answers.
	const mac = "02fc0000000d"
	f := startFake(t, "127.0.0.1:0", mac, 30)
	forged := Answer{Instance: "imposter", Host: "imposter.local.", Addr: netip.MustParseAddr("127.0.0.1"), Port: 1, MAC: mac}
	h := startRegistry(t, Config{}, forged)
	h.waitRound()
	if ds := h.reg.Devices(); len(ds) != 1 || ds[0].Key != "mdns:imposter" || ds[0].MAC != "" {
		t.Fatalf("Devices() = %+v, want one provisional entry without MAC", ds)
	}
	if evs := h.drain(); len(evs) != 0 {
		t.Fatalf("events = %s, want none", kinds(evs))
	}
	h.browser.set(nil, forged, answerFor(t, f, true))
	h.nextRound()
	if evs := h.drain(); kinds(evs) != "added:"+mac || evs[0].Device.IP != netip.MustParseAddrPort(f.HTTPAddr()).Addr() {
		t.Fatalf("events = %s, want the real device added at its own address", kinds(evs))
	}
	// The imposter keeps claiming the MAC, and its answer now comes last: the device is still
	// probed where it last answered, and stays online there.
	h.browser.set(nil, answerFor(t, f, true), forged)
	for range DefaultOfflineAfter + 1 {
		h.nextRound()
	}
	if evs := h.drain(); len(evs) != 0 {
		t.Errorf("events = %s, want none", kinds(evs))
	}
	if ds := h.reg.Devices(); len(ds) < 1 || ds[0].Key != mac || !ds[0].Online || ds[0].IP != netip.MustParseAddrPort(f.HTTPAddr()).Addr() {
		t.Errorf("Devices() = %+v, want the real device online at its own address", ds)
	}
}

func TestRegistryOneDevicePerIP(t *testing.T) {
	// One LAN host answers _wled._tcp with many instance names on different ports, each serving
	// /json/info with a different MAC. A WLED has one address, and every device listed at that
	// address would get its own 60 fps stream to the same IP and UDP port: only the first is
	// added. Another IP is another device, and a configured device is always kept.
	fakes := map[int]*wledtest.Fake{} // by HTTP port
	var answers []Answer
	for i := range 6 {
		f := startFake(t, "127.0.0.1:0", fmt.Sprintf("02fc000001%02x", i), 30)
		a := answerFor(t, f, true)
		a.Instance = fmt.Sprintf("multi-%d", i)
		answers = append(answers, a)
		fakes[a.Port] = f
	}
	other := startFake(t, "127.0.0.2:0", "02fc00000200", 30)
	// A configured device on the same host that does not answer yet.
	static := startFake(t, "127.0.0.1:0", "02fc00000300", 30)
	static.SetRawInfo(http.StatusServiceUnavailable, []byte("starting"))
	h := startRegistry(t, Config{Static: []string{"wled://" + static.HTTPAddr()}}, append(answers, answerFor(t, other, true))...)
	h.waitRound()
	h.nextRound() // the refused ones are probed again: still refused, still not announced

	loopback1 := netip.MustParseAddr("127.0.0.1")
	var added []Device
	for _, ev := range h.drain() {
		if ev.Kind != EventAdded {
			t.Errorf("unexpected event %s:%s", ev.Kind, ev.Device.Key)
		}
		added = append(added, ev.Device)
	}
	if len(added) != 2 {
		t.Fatalf("added %+v, want one device at 127.0.0.1 and one at 127.0.0.2", added)
	}
	var first Device
	for _, d := range added {
		if d.IP == loopback1 {
			first = d
		}
	}
	if first.MAC == "" {
		t.Fatalf("added %+v, want one device at 127.0.0.1", added)
	}
	checkRefused := func(want int) {
		t.Helper()
		refused := 0
		for _, d := range h.reg.Devices() {
			if !strings.HasPrefix(d.Key, "mdns:multi-") {
				continue
			}
			refused++
			if d.Online || d.MAC != "" || !strings.Contains(d.LastError, ErrAddressTaken.Error()) {
				t.Errorf("refused device %+v: want provisional, offline, with %q", d, ErrAddressTaken)
			}
		}
		if refused != want {
			t.Errorf("%d devices refused, want %d: %+v", refused, want, h.reg.Devices())
		}
	}
	checkRefused(5)

	// The controller at 127.0.0.1 is replaced (a new one on the same DHCP address): once the
	// old one is offline, one newcomer there is added.
	_ = fakes[first.HTTPPort].Close()
	var rest []Answer
	for _, a := range answers {
		if a.Port != first.HTTPPort {
			rest = append(rest, a)
		}
	}
	h.browser.set(nil, append(rest, answerFor(t, other, true))...)
	added = nil
	for range DefaultOfflineAfter {
		h.nextRound()
		for _, ev := range h.drain() {
			if ev.Kind == EventAdded {
				added = append(added, ev.Device)
			}
		}
	}
	if len(added) != 1 || added[0].IP != loopback1 {
		t.Fatalf("after the device at 127.0.0.1 went offline: added %+v, want one device there", added)
	}
	checkRefused(4)

	// The configured device starts answering: it is added although a device is online there.
	static.SetRawInfo(0, nil)
	h.nextRound()
	if evs := h.drain(); kinds(evs) != "added:02fc00000300" {
		t.Errorf("events = %s, want the configured device added", kinds(evs))
	}
}

func TestRegistryConfiguredDeviceHoldsItsIPFromTheFirstRound(t *testing.T) {
	// A configured device and an mDNS newcomer with another MAC at the same IP, both new in the
	// same round: the configured one is added, the newcomer refused.
	static := startFake(t, "127.0.0.1:0", "02fc00000400", 30)
	newcomer := startFake(t, "127.0.0.1:0", "02fc00000401", 30)
	h := startRegistry(t, Config{Static: []string{"wled://" + static.HTTPAddr()}}, answerFor(t, newcomer, true))
	h.waitRound()
	if evs := h.drain(); kinds(evs) != "added:02fc00000400" {
		t.Fatalf("events = %s, want only the configured device added", kinds(evs))
	}
	ds := h.reg.Devices()
	if len(ds) != 2 {
		t.Fatalf("Devices() = %+v, want the configured device and the refused newcomer", ds)
	}
	for _, d := range ds {
		if d.Key == "mdns:wled-000401" && (d.Online || !strings.Contains(d.LastError, ErrAddressTaken.Error())) {
			t.Errorf("newcomer %+v, want refused with %q", d, ErrAddressTaken)
		}
	}
}

func TestRegistryForgedAnswerCannotMoveADevice(t *testing.T) {
	// Another LAN host answers mDNS with a device's instance name, or with its MAC in TXT, and
	// serves /json/info with a MAC of its own. The device must stay where it answers, under its
	// MAC, and keep its stream: it must not be re-keyed to the other host's MAC and moved there
	// (its strip would go dark and the other host would get its frames). The same holds for a
	// device found by mDNS only and for a configured one that mDNS finds too.
	for i, configured := range []bool{false, true} {
		t.Run(map[bool]string{false: "mDNS only", true: "configured"}[configured], func(t *testing.T) {
			mac := fmt.Sprintf("02fc000005%02x", 2*i)
			real := startFake(t, "127.0.0.1:0", mac, 30)
			realAnswer := answerFor(t, real, true)
			var cfg Config
			if configured {
				cfg.Static = []string{"wled://" + real.HTTPAddr()}
			}
			h := startRegistry(t, cfg, realAnswer)
			h.waitRound()
			if evs := h.drain(); kinds(evs) != "added:"+mac {
				t.Fatalf("events = %s, want the device added", kinds(evs))
			}
			forger := startFake(t, "127.0.0.2:0", fmt.Sprintf("02fc000005%02x", 2*i+1), 30)
			sameName := answerFor(t, forger, false)
			sameName.Instance = realAnswer.Instance
			sameTXT := answerFor(t, forger, false)
			sameTXT.Instance, sameTXT.MAC = "forger", mac
			for _, forged := range []Answer{sameName, sameTXT} {
				h.browser.set(nil, forged)
				for range DefaultOfflineAfter + 1 {
					h.nextRound()
				}
				for _, ev := range h.drain() {
					if ev.Device.MAC == mac || ev.Device.Key == mac {
						t.Errorf("forged answer %q: event %s for the real device: %+v", forged.Instance, ev.Kind, ev.Device)
					}
				}
				var found bool
				for _, d := range h.reg.Devices() {
					if d.Key == mac {
						found = true
						if !d.Online || d.IP != netip.MustParseAddr("127.0.0.1") || (d.Static != "") != configured {
							t.Errorf("forged answer %q: device %+v, want it online at 127.0.0.1", forged.Instance, d)
						}
					}
				}
				if !found {
					t.Errorf("forged answer %q: the device was re-keyed away: %+v", forged.Instance, h.reg.Devices())
				}
			}
		})
	}
}

func TestRegistryReplacedControllerUnderTheSameName(t *testing.T) {
	// A controller is swapped for another that the venue gives the same mDNS name. On another
	// address it is a new device (the old one goes offline); on the same address the entry
	// follows it.
	a := startFake(t, "127.0.0.1:0", "02fc00000600", 30)
	stage := answerFor(t, a, true)
	stage.Instance = "stage"
	h := startRegistry(t, Config{}, stage)
	h.waitRound()
	h.drain()

	_ = a.Close()
	b := startFake(t, "127.0.0.3:0", "02fc00000601", 30)
	onB := answerFor(t, b, true)
	onB.Instance = "stage"
	h.browser.set(nil, onB)
	for range DefaultOfflineAfter {
		h.nextRound()
	}
	if got := kinds(h.drain()); !strings.Contains(got, "added:02fc00000601") || !strings.Contains(got, "offline:02fc00000600") {
		t.Fatalf("events = %s, want the new controller added and the old one offline", got)
	}

	addr := b.HTTPAddr()
	_ = b.Close()
	startFake(t, addr, "02fc00000602", 30)
	onC := onB
	onC.MAC = "02fc00000602"
	h.browser.set(nil, onC)
	h.nextRound()
	keys := map[string]Device{}
	for _, d := range h.reg.Devices() {
		keys[d.Key] = d
	}
	if d, ok := keys["02fc00000602"]; !ok || !d.Online || d.IP != netip.MustParseAddr("127.0.0.3") || len(keys) != 2 {
		t.Errorf("after a swap on the same address: %+v, want the old offline device and the new one online at 127.0.0.3", keys)
	}
}

func TestRegistryOneDevicePerIPWithRotatingMACs(t *testing.T) {
	// The same host, but its /json/info gives a new MAC on every request: round after round,
	// at most one device is listed for its IP, and a consumer that follows the events (keyed by
	// Device.Key, as the session's strips are) holds at most one device too: each new MAC there
	// replaces the last one (removed, then added), never adds to it.
	var n atomic.Int64
	info := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name":"multi","ver":"0.15.3","vid":2412100,"mac":"02fd%08x","leds":{"count":30,"lc":1}}`, n.Add(1))
	}
	var answers []Answer
	for i := range 6 {
		ap := serveHTTP(t, info)
		answers = append(answers, Answer{Instance: fmt.Sprintf("multi-%d", i), Host: "multi.local.", Addr: ap.Addr(), Port: int(ap.Port())})
	}
	h := startRegistry(t, Config{}, answers...)
	h.waitRound()
	held := map[string]bool{} // what an event-driven consumer holds
	for round := range 5 {
		if round > 0 {
			h.nextRound()
		}
		evs := h.drain()
		t.Logf("round %d: %s", round+1, kinds(evs))
		for _, ev := range evs {
			switch ev.Kind {
			case EventAdded:
				held[ev.Device.Key] = true
			case EventRemoved:
				delete(held, ev.Device.Key)
			}
		}
		var confirmed []string
		for _, d := range h.reg.Devices() {
			if d.MAC != "" {
				confirmed = append(confirmed, d.Key)
			}
		}
		if len(confirmed) != 1 || len(held) != 1 || !held[confirmed[0]] {
			t.Fatalf("round %d: devices confirmed %v, a consumer of the events holds %v; want the same one device", round+1, confirmed, held)
		}
	}
}

func TestRegistryControllerReplacedAtItsAddressIsRemovedUnderItsOldKey(t *testing.T) {
	// A controller is swapped for another on the same address (the venue keeps the IP, or a
	// configured host now answers with another MAC). The entry follows the new controller under
	// its MAC; the old key must leave with an event, before the new one is added, or a consumer
	// keyed by Device.Key keeps streaming to a device that is gone.
	for _, tc := range []struct {
		name       string
		addr       string
		configured bool
	}{
		{"mdns", "127.0.0.21:0", false},
		{"configured", "127.0.0.22:0", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldMAC, newMAC := "02fc00000a01", "02fc00000a02"
			if tc.configured {
				oldMAC, newMAC = "02fc00000b01", "02fc00000b02"
			}
			b := startFake(t, tc.addr, oldMAC, 30)
			addr := b.HTTPAddr()
			cfg := Config{}
			var answers []Answer
			if tc.configured {
				cfg.DisableMDNS = true
				cfg.Static = []string{"wled://" + addr}
			} else {
				answers = append(answers, answerFor(t, b, true))
			}
			h := startRegistry(t, cfg, answers...)
			h.waitRound()
			if got := kinds(h.drain()); got != "added:"+oldMAC {
				t.Fatalf("events = %s, want %s added", got, oldMAC)
			}

			_ = b.Close()
			c := startFake(t, addr, newMAC, 60)
			if !tc.configured {
				h.browser.set(nil, answerFor(t, c, true))
			}
			h.nextRound()
			evs := h.drain()
			if got, want := kinds(evs), "removed:"+oldMAC+",added:"+newMAC; got != want {
				t.Fatalf("events = %s, want %s", got, want)
			}
			if gone := evs[0].Device; gone.MAC != oldMAC || gone.Online || gone.IP != netip.MustParseAddrPort(addr).Addr() {
				t.Errorf("removed device = %+v, want %s's last snapshot at its address, not online", gone, oldMAC)
			}
			ds := h.reg.Devices()
			if len(ds) != 1 || ds[0].Key != newMAC || !ds[0].Online || ds[0].LEDs != 60 {
				t.Errorf("Devices() = %+v, want only %s online with 60 LEDs", ds, newMAC)
			}
			if tc.configured && ds[0].Static != "wled://"+addr {
				t.Errorf("the new controller lost the configuration entry: %+v", ds[0])
			}
		})
	}
}

func TestRegistryTwoDevicesSwapIPsWhileOneAnswerIsMissed(t *testing.T) {
	// DHCP gives two strips each other's address (a venue power cycle), and mDNS, being lossy,
	// brings only one of their new answers in the next round. The strip whose answer is missing
	// is still probed at its old address, where the other, listed strip now answers: that is the
	// other strip, not a replacement, so the missing one must stay listed under its MAC (going
	// offline until its answer comes) rather than vanish from the list without an event.
	const macA, macB = "02fc00000700", "02fc00000701"
	a := startFake(t, "127.0.0.4:0", macA, 30)
	b := startFake(t, "127.0.0.5:0", macB, 40)
	ansA, ansB := answerFor(t, a, true), answerFor(t, b, true)
	h := startRegistry(t, Config{}, ansA, ansB)
	h.waitRound()
	if got := kinds(h.drain()); !strings.Contains(got, "added:"+macA) || !strings.Contains(got, "added:"+macB) {
		t.Fatalf("events = %s, want both strips added", got)
	}

	addrA, addrB := a.HTTPAddr(), b.HTTPAddr()
	_, _ = a.Close(), b.Close()
	a2 := startFake(t, addrB, macA, 30)
	b2 := startFake(t, addrA, macB, 40)
	h.browser.set(nil, answerFor(t, b2, true)) // A's new answer is lost this round
	for range DefaultOfflineAfter {
		h.nextRound()
	}
	keys := map[string]Device{}
	for _, d := range h.reg.Devices() {
		keys[d.Key] = d
	}
	if _, ok := keys[macA]; !ok {
		t.Fatalf("strip %s vanished from the list (events %s): %+v", macA, kinds(h.drain()), keys)
	}
	if d := keys[macB]; !d.Online || d.IP != netip.MustParseAddr("127.0.0.4") || d.LEDs != 40 {
		t.Errorf("strip %s = %+v, want it online at 127.0.0.4 with 40 LEDs", macB, d)
	}
	if d := keys[macA]; d.Online && d.IP == netip.MustParseAddr("127.0.0.4") {
		t.Errorf("strip %s = %+v, listed online at the other strip's address", macA, d)
	}

	h.browser.set(nil, answerFor(t, a2, true), answerFor(t, b2, true))
	h.nextRound()
	keys = map[string]Device{}
	for _, d := range h.reg.Devices() {
		keys[d.Key] = d
	}
	if d := keys[macA]; !d.Online || d.IP != netip.MustParseAddr("127.0.0.5") || d.LEDs != 30 || len(keys) != 2 {
		t.Errorf("after both answers: %+v, want %s online at 127.0.0.5 and %s at 127.0.0.4", keys, macA, macB)
	}
}
