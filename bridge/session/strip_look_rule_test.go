package session

import (
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// These tests hold join to the one rule a strips: entry names a device by (DeviceNames.NamedBy),
// the rule `ledbridge discover` shows the looks by: a configured strip answers to the names of
// the device it stands for, and a device URL names a configured device by its host too.

// lookAfterTicks ticks r's frame loop a few times and returns the look the status page shows for
// the strip keyed key.
func lookAfterTicks(t *testing.T, r *deviceRig, key string) string {
	t.Helper()
	now := time.Now()
	for range 3 {
		now = now.Add(time.Second / 60)
		r.s.loop.tick(now)
	}
	for _, d := range r.s.Snapshot().Devices {
		if d.ID == key {
			return d.Look
		}
	}
	t.Fatalf("no status device %q in %+v", key, r.s.Snapshot().Devices)
	return ""
}

// devices: [ddp://IP:PORT?leds=N] with an entry wled://IP: the entry names the WLED at IP, which
// that line drives, as discover says (it lists the line at its address).
func TestStripLookURLEntryNamesAConfiguredLineByItsHost(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{Name: "WLED", LEDs: lookLEDs, HTTPListen: "-", DDPListen: "127.0.182.1:0", RealtimeListen: "-"})
	line := fake.DDPURL()
	r := startDeviceRig(t, []string{line}, nil, func(d *deviceSet) { d.lookReportDelay = 20 * time.Millisecond })
	if err := r.s.SetStripLooks([]StripLook{{Device: "wled://127.0.182.1", Look: effect.Strip{Effect: effect.EffectPulse}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the strip", func() bool { return len(r.s.devices.current()) == 1 })
	if got, want := lookAfterTicks(t, r, line), "strips[0]: pulse"; got != want {
		t.Errorf("the status page shows look %q for %s, want %q:\n%s", got, line, want, r.logs)
	}
	time.Sleep(100 * time.Millisecond) // past the report delay
	if logs := r.logs.String(); strings.Contains(logs, "matches no device") || !strings.Contains(logs, "strip takes its own look") {
		t.Errorf("want the strip to take its own look and no unmatched entry:\n%s", logs)
	}
}

// A ddp:// line to a WLED named "Drums" that discovery found at the line's address: an entry
// "Drums" (or its mDNS host) names the configured strip, as discover's row for the line does.
func TestStripLookNamesAConfiguredLineByTheDiscoveredDevice(t *testing.T) {
	for _, sel := range []string{"Drums", "drums.local"} {
		t.Run(sel, func(t *testing.T) {
			fake := wledtest.New(t, wledtest.Config{Name: "Drums", MAC: "02fc00018202", LEDs: lookLEDs, HTTPListen: "127.0.182.2:0", DDPListen: "127.0.182.2:0", RealtimeListen: "-"})
			line := fake.DDPURL()
			browser := &answerBrowser{}
			browser.set(answerFor("drums", fake.HTTPAddr()))
			r := startDeviceRig(t, []string{line}, browser, func(d *deviceSet) { d.lookReportDelay = time.Hour })
			if err := r.s.SetStripLooks([]StripLook{{Device: sel, Look: effect.Strip{Effect: effect.EffectPulse}}}); err != nil {
				t.Fatal(err)
			}
			r.clock.waitRound(t)
			if ds := r.s.devices.registryDevices(); len(ds) != 1 || ds[0].Name != "Drums" {
				t.Fatalf("discovery lists %+v, want Drums", ds)
			}
			waitFor(t, "the configured strip alone", func() bool {
				cur := r.s.devices.current()
				return len(cur) == 1 && cur[0].key == line
			})
			if got, want := lookAfterTicks(t, r, line), "strips[0]: pulse"; got != want {
				t.Errorf("the status page shows look %q for %s, want %q:\n%s", got, line, want, r.logs)
			}
			r.s.devices.logUnmatchedLooks()
			if strings.Contains(r.logs.String(), "matches no device") {
				t.Errorf("the entry is reported unmatched:\n%s", r.logs)
			}
		})
	}
}

// Discovery finding the device after the configured strip took the global look gives the strip
// its entry's look then: the names it answers to changed.
func TestStripLookFollowsDiscoveryOfAConfiguredLinesDevice(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{Name: "Drums", MAC: "02fc00018203", LEDs: lookLEDs, HTTPListen: "127.0.182.3:0", DDPListen: "127.0.182.3:0", RealtimeListen: "-"})
	line := fake.DDPURL()
	browser := &answerBrowser{}
	r := startDeviceRig(t, []string{line}, browser, func(d *deviceSet) { d.lookReportDelay = time.Hour })
	if err := r.s.SetStripLooks([]StripLook{{Device: "Drums", Look: effect.Strip{Effect: effect.EffectPulse}}}); err != nil {
		t.Fatal(err)
	}
	r.clock.waitRound(t)
	waitFor(t, "the strip", func() bool { return len(r.s.devices.current()) == 1 })
	if got := lookAfterTicks(t, r, line); got != effect.GlobalLook {
		t.Fatalf("before discovery found Drums the strip shows %q, want the global look", got)
	}
	browser.set(answerFor("drums", fake.HTTPAddr()))
	r.clock.nextRound(t)
	if got, want := lookAfterTicks(t, r, line), "strips[0]: pulse"; got != want {
		t.Errorf("after discovery found Drums the strip shows %q, want %q:\n%s", got, want, r.logs)
	}
}

// Two lines at one address (test doubles, emulators on two ports): an entry that is one line as
// written names that line's strip alone; a URL that is no line names both by its host.
func TestStripLookLineAsWrittenNamesItsOwnDeviceAlone(t *testing.T) {
	a := wledtest.New(t, wledtest.Config{Name: "WLED", LEDs: lookLEDs, HTTPListen: "-", DDPListen: "127.0.182.6:0", RealtimeListen: "-"})
	b := wledtest.New(t, wledtest.Config{Name: "WLED", LEDs: lookLEDs, HTTPListen: "-", DDPListen: "127.0.182.6:0", RealtimeListen: "-"})
	r := startDeviceRig(t, []string{a.DDPURL(), b.DDPURL()}, nil, nil)
	waitFor(t, "both strips", func() bool { return len(r.s.devices.current()) == 2 })
	if err := r.s.SetStripLooks([]StripLook{{Device: b.DDPURL(), Look: effect.Strip{Effect: effect.EffectPulse}}}); err != nil {
		t.Fatal(err)
	}
	if got := lookAfterTicks(t, r, a.DDPURL()); got != effect.GlobalLook {
		t.Errorf("%s shows %q, want the global look: the entry is the other line", a.DDPURL(), got)
	}
	if got := lookAfterTicks(t, r, b.DDPURL()); got != "strips[0]: pulse" {
		t.Errorf("%s shows %q, want its entry's look", b.DDPURL(), got)
	}
	if err := r.s.SetStripLooks([]StripLook{{Device: "wled://127.0.182.6", Look: effect.Strip{Effect: effect.EffectPulse}}}); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{a.DDPURL(), b.DDPURL()} {
		if got := lookAfterTicks(t, r, line); got != "strips[0]: pulse" {
			t.Errorf("%s shows %q for an entry by its host's URL, want strips[0]: pulse", line, got)
		}
	}
}
