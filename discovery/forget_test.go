package discovery

import (
	"strings"
	"testing"
	"time"
)

// These tests follow devices that go away for good (a guest band's strip, a board moved to
// another subnet) over hours: the stepped clock jumps instead of the test sleeping.

// advance moves the clock on by d, as if the registry had waited that long between rounds.
func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// retire takes the device of h's first round away for good (no HTTP, no mDNS answer) and runs
// the rounds that mark it offline.
func retire(t *testing.T, h *harness, close func() error, mac string) {
	t.Helper()
	_ = close()
	h.browser.set(nil)
	h.nextRound()
	h.nextRound()
	if evs := h.drain(); kinds(evs) != "offline:"+mac {
		t.Fatalf("events after the device went dark = %s, want offline:%s", kinds(evs), mac)
	}
}

func TestRegistryForgetsADiscoveredDeviceOfflineForAnHour(t *testing.T) {
	const mac = "02fc0000f001"
	f := startFake(t, "127.0.0.1:0", mac, 30)
	addr := f.HTTPAddr()
	h := startRegistry(t, Config{}, answerFor(t, f, true))
	h.waitRound()
	if evs := h.drain(); kinds(evs) != "added:"+mac {
		t.Fatalf("events = %s, want added:%s", kinds(evs), mac)
	}
	retire(t, h, f.Close, mac)

	// Just under the forget period (default 1 h) it is still listed, offline.
	h.clock.advance(time.Hour - time.Minute)
	h.nextRound()
	if evs := h.drain(); len(evs) != 0 {
		t.Errorf("events before the forget period = %s, want none", kinds(evs))
	}
	if ds := h.reg.Devices(); len(ds) != 1 || ds[0].Online {
		t.Fatalf("before the forget period: %+v, want the device listed offline", ds)
	}

	h.clock.advance(2 * time.Minute)
	h.nextRound()
	evs := h.drain()
	if kinds(evs) != "removed:"+mac {
		t.Fatalf("events after an hour offline = %s, want removed:%s", kinds(evs), mac)
	}
	if d := evs[0].Device; d.Online || d.MAC != mac || d.LastError == "" {
		t.Errorf("removed device = %+v, want its last snapshot: offline, with its error", d)
	}
	if ds := h.reg.Devices(); len(ds) != 0 {
		t.Fatalf("after the forget period Devices() = %+v, want none", ds)
	}
	// Forgotten means not probed: further rounds report nothing.
	h.nextRound()
	if evs := h.drain(); len(evs) != 0 {
		t.Errorf("a forgotten device produced %s", kinds(evs))
	}

	// The board is switched on again the next morning: mDNS finds it and it is added afresh.
	back := startFake(t, addr, mac, 30)
	h.clock.advance(10 * time.Hour)
	h.browser.set(nil, answerFor(t, back, true))
	h.nextRound()
	if evs := h.drain(); kinds(evs) != "added:"+mac {
		t.Fatalf("events when the board returns = %s, want added:%s", kinds(evs), mac)
	}
	if ds := h.reg.Devices(); len(ds) != 1 || !ds[0].Online {
		t.Errorf("returned board: %+v, want it listed online", ds)
	}
}

func TestRegistryForgetPeriodCountsFromGoingOffline(t *testing.T) {
	// A daemon whose host slept for hours must not forget a device at its first failed round
	// after waking: the period counts from when the device was marked offline, and ForgetAfter
	// sets it.
	const mac = "02fc0000f002"
	f := startFake(t, "127.0.0.1:0", mac, 30)
	h := startRegistry(t, Config{ForgetAfter: 10 * time.Minute}, answerFor(t, f, true))
	h.waitRound()
	h.drain()
	h.clock.advance(5 * time.Hour)
	retire(t, h, f.Close, mac)
	h.clock.advance(9 * time.Minute)
	h.nextRound()
	if evs := h.drain(); len(evs) != 0 {
		t.Fatalf("events 9 min after going offline = %s, want none", kinds(evs))
	}
	h.clock.advance(2 * time.Minute)
	h.nextRound()
	if evs := h.drain(); kinds(evs) != "removed:"+mac {
		t.Fatalf("events 11 min after going offline = %s, want removed:%s", kinds(evs), mac)
	}
}

func TestRegistryNeverForgetsAConfiguredDevice(t *testing.T) {
	// Configured devices are the operator's: listed offline for as long as they are dark, whether
	// mDNS found them too or not.
	const macStatic, macBoth = "02fc0000f003", "02fc0000f004"
	static := startFake(t, "127.0.0.1:0", macStatic, 30)
	both := startFake(t, "127.0.0.2:0", macBoth, 30)
	h := startRegistry(t, Config{Static: []string{"wled://" + static.HTTPAddr(), "wled://" + both.HTTPAddr()}}, answerFor(t, both, true))
	h.waitRound()
	if evs := h.drain(); len(evs) != 2 {
		t.Fatalf("events = %s, want both added", kinds(evs))
	}
	_ = static.Close()
	_ = both.Close()
	h.browser.set(nil)
	for range 3 {
		h.clock.advance(12 * time.Hour)
		h.nextRound()
	}
	if evs := h.drain(); strings.Contains(kinds(evs), "removed") {
		t.Errorf("events for configured devices dark for a day = %s, want no removal", kinds(evs))
	}
	ds := h.reg.Devices()
	if len(ds) != 2 || ds[0].Online || ds[1].Online {
		t.Errorf("configured devices dark for a day: %+v, want both listed offline", ds)
	}
}

func TestRegistryOfflineDeviceDoesNotKeepTheRetryRate(t *testing.T) {
	// One device gone for good: after its first fast retries (a reboot or a Wi-Fi drop is back
	// within them) the rounds return to Interval, rather than an mDNS query and a probe every
	// RetryInterval for as long as it is listed. Another device failing later gets its own fast
	// retries.
	const macGone, macFlaky = "02fc0000f005", "02fc0000f006"
	gone := startFake(t, "127.0.0.1:0", macGone, 30)
	flaky := startFake(t, "127.0.0.2:0", macFlaky, 30)
	flakyAddr := flaky.HTTPAddr()
	h := startRegistry(t, Config{}, answerFor(t, gone, true), answerFor(t, flaky, true))
	h.waitRound()
	h.drain()
	_ = gone.Close()
	h.browser.set(nil, answerFor(t, flaky, true))

	var waits []time.Duration
	for range 40 {
		waits = append(waits, h.nextRound())
	}
	if waits[0] != DefaultRetryInterval || waits[1] != DefaultRetryInterval {
		t.Errorf("waits right after the failure = %v, want RetryInterval %v", waits[:2], DefaultRetryInterval)
	}
	fast := 0
	for fast < len(waits) && waits[fast] == DefaultRetryInterval {
		fast++
	}
	if fast == len(waits) {
		t.Fatalf("after %d rounds with one device gone the wait is still RetryInterval %v", len(waits), DefaultRetryInterval)
	}
	for i, w := range waits[fast:] {
		if w != DefaultInterval {
			t.Fatalf("round %d after %d fast retries: wait %v, want Interval %v (waits %v)", fast+i+1, fast, w, DefaultInterval, waits)
		}
	}

	// The other device drops out for a moment: fast retries again, and it is back at the first.
	_ = flaky.Close()
	if w := h.nextRound(); w != DefaultRetryInterval {
		t.Errorf("wait after a second device failed = %v, want RetryInterval %v", w, DefaultRetryInterval)
	}
	startFake(t, flakyAddr, macFlaky, 30)
	if w := h.nextRound(); w != DefaultInterval {
		t.Errorf("wait after it answered again = %v, want Interval %v", w, DefaultInterval)
	}
	if evs := h.drain(); kinds(evs) != "offline:"+macGone {
		t.Errorf("events = %s, want only offline:%s (one failed probe does not take a device offline)", kinds(evs), macGone)
	}
}
