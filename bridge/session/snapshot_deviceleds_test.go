package session

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// snapshotDevice is id's entry in the status snapshot, and that entry as the page receives it.
func snapshotDevice(t *testing.T, r *deviceRig, id string) (status.Device, string) {
	t.Helper()
	for _, d := range r.s.Snapshot().Devices {
		if d.ID == id {
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			return d, string(b)
		}
	}
	t.Fatalf("no device %q in the snapshot", id)
	return status.Device{}, ""
}

// A WLED driven with a forced protocol that carries only the start of its strip shows on the
// status page with the LEDs driven and its own count ("490 of 600"), configured and discovered
// alike; one that fits shows no second count.
func TestSnapshotShowsTheDevicesOwnLEDCountWhenClamped(t *testing.T) {
	t.Run("configured", func(t *testing.T) {
		const ip = "127.0.202.20"
		fake := wledtest.New(t, wledtest.Config{LEDs: 600, HTTPListen: ip + ":0", DDPListen: "-", RealtimeListen: ip + ":0"})
		r := startForcedRig(t, "drgb", []string{fake.URL()}, nil, nil)
		waitStrips(t, r, fake.URL()+"->"+fake.RealtimeAddr()+"/490")
		d, js := snapshotDevice(t, r, fake.URL())
		if d.LEDs != 490 || d.DeviceLEDs != 600 || !strings.Contains(js, `"leds":490`) || !strings.Contains(js, `"deviceLeds":600`) {
			t.Errorf("clamped configured device: %s, want leds 490 and deviceLeds 600", js)
		}
	})
	t.Run("discovered", func(t *testing.T) {
		const ip, mac = "127.0.202.21", "02fc00020221"
		fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 600, Name: "Bar", HTTPListen: ip + ":0", DDPListen: "-", RealtimeListen: ip + ":0"})
		browser := &answerBrowser{}
		browser.set(answerFor("bar", fake.HTTPAddr()))
		r := startForcedRig(t, "drgb", nil, browser, nil)
		r.clock.waitRound(t)
		waitStrips(t, r, mac+"->"+fake.RealtimeAddr()+"/490")
		d, js := snapshotDevice(t, r, mac)
		if d.LEDs != 490 || d.DeviceLEDs != 600 || !strings.Contains(js, `"deviceLeds":600`) {
			t.Errorf("clamped discovered device: %s, want leds 490 and deviceLeds 600", js)
		}
	})
	t.Run("fits", func(t *testing.T) {
		const ip = "127.0.202.22"
		fake := wledtest.New(t, wledtest.Config{LEDs: 300, HTTPListen: ip + ":0", DDPListen: "-", RealtimeListen: ip + ":0"})
		r := startForcedRig(t, "drgb", []string{fake.URL()}, nil, nil)
		waitStrips(t, r, fake.URL()+"->"+fake.RealtimeAddr()+"/300")
		d, js := snapshotDevice(t, r, fake.URL())
		if d.LEDs != 300 || d.DeviceLEDs != 0 || strings.Contains(js, "deviceLeds") {
			t.Errorf("device that fits: %s, want leds 300 and no deviceLeds", js)
		}
	})
}
