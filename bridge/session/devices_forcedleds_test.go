package session

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// startForcedRig is startDeviceRig with output.protocol forced to protocol, for configured
// devices and discovery alike.
func startForcedRig(t *testing.T, protocol string, devices []string, browser discovery.Browser, tune func(*deviceSet)) *deviceRig {
	t.Helper()
	r := &deviceRig{logs: &testlog.Buffer{}, done: make(chan struct{})}
	cfg := Config{Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"}, Devices: devices, Protocol: protocol,
		Logger: slog.New(slog.NewTextHandler(r.logs, nil))}
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
	return r
}

// clampWarnings are the log's warnings that a forced protocol drives only part of a strip.
func clampWarnings(logs string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "device_leds=") {
			out = append(out, line)
		}
	}
	return out
}

// wantOneClampWarning fails t unless the log holds exactly one such warning, naming the
// protocol, the LEDs driven and the device's, and the protocols that carry the whole strip.
func wantOneClampWarning(t *testing.T, logs, protocol string, driven, has int) {
	t.Helper()
	warns := clampWarnings(logs)
	if len(warns) != 1 {
		t.Fatalf("%d warnings about a partly driven strip, want 1:\n%s", len(warns), logs)
	}
	for _, w := range []string{"protocol=" + protocol, "leds=" + strconv.Itoa(driven), "device_leds=" + strconv.Itoa(has), "dnrgb", "ddp"} {
		if !strings.Contains(warns[0], w) {
			t.Errorf("warning %q does not mention %q", warns[0], w)
		}
	}
}

// A configured wled:// device with more LEDs than the forced DRGB or WARLS carries is driven at
// the protocol's limit with one warning, however often its JSON API is asked again.
func TestForcedProtocolClampOfAConfiguredDeviceWarnsOnce(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		most     int
		ip       string
	}{{"drgb", 490, "127.0.194.1"}, {"warls", 255, "127.0.194.2"}} {
		fake := wledtest.New(t, wledtest.Config{LEDs: 1500, HTTPListen: "-", DDPListen: "-", RealtimeListen: tc.ip + ":0"})
		var asked atomic.Int64
		api := startInfoFront(t, tc.ip, func() wled.Info { asked.Add(1); return fake.Info() })
		url := "wled://" + api.String()
		r := startForcedRig(t, tc.protocol, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
		waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/"+strconv.Itoa(tc.most))
		waitFor(t, "five looks at the JSON API", func() bool { return asked.Load() >= 5 })
		r.feedUntilFrame(t, url, fake)
		r.stop()
		wantOneClampWarning(t, r.logs.String(), tc.protocol, tc.most, 1500)
	}
}

// The same for a WLED discovery finds, and for one both configured and discovered: one warning.
func TestForcedProtocolClampOfADiscoveredDeviceWarnsOnce(t *testing.T) {
	for _, configured := range []bool{false, true} {
		const mac = "02fc00019403"
		ip := map[bool]string{false: "127.0.194.3", true: "127.0.194.4"}[configured]
		fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 1500, Name: "Bar", HTTPListen: ip + ":0", DDPListen: "-", RealtimeListen: ip + ":0"})
		browser := &answerBrowser{}
		browser.set(answerFor("bar", fake.HTTPAddr()))
		var lines []string
		if configured {
			lines = []string{fake.URL()}
		}
		r := startForcedRig(t, "drgb", lines, browser, nil)
		r.clock.waitRound(t)
		key := mac
		if configured {
			key = fake.URL()
		}
		waitStrips(t, r, key+"->"+fake.RealtimeAddr()+"/490")
		for range 3 {
			r.clock.nextRound(t)
		}
		r.feedUntilFrame(t, key, fake)
		r.stop()
		wantOneClampWarning(t, r.logs.String(), "drgb", 490, 1500)
	}
}

// A configured ?leds= above the forced protocol's limit is refused, at start and on a reload, as
// drgb://…?leds=491 is.
func TestForcedProtocolRefusesAConfiguredLEDCountItCannotCarry(t *testing.T) {
	cfg := Config{Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"}, Protocol: "drgb",
		Devices: []string{"wled://127.0.194.5?leds=1500"}}
	cfg.Code, _ = room.ParseCode("DEV234")
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "?leds=1500") || !strings.Contains(err.Error(), "490") {
		t.Errorf("New with wled://…?leds=1500 under drgb = %v, want a refusal naming ?leds=1500 and 490", err)
	}
	r := startForcedRig(t, "drgb", nil, nil, nil)
	waitFor(t, "the device set to start", func() bool {
		r.s.devices.mu.Lock()
		defer r.s.devices.mu.Unlock()
		return r.s.devices.ctx != nil
	})
	if err := r.s.SetDevices([]string{"wled://127.0.194.5?leds=1500"}); err == nil || !strings.Contains(err.Error(), "490") {
		t.Errorf("SetDevices with wled://…?leds=1500 under drgb = %v, want a refusal naming 490", err)
	}
	if err := r.s.SetDevices([]string{"wled://127.0.194.5?leds=490"}); err != nil {
		t.Errorf("SetDevices with wled://…?leds=490 under drgb: %v", err)
	}
}
