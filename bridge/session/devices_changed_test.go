package session

import (
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A configured WLED whose LED count or RGBW setting changes in its settings stays where it was:
// the log says what changed, not that the device moved.
func TestConfiguredDeviceChangeSaysWhatChanged(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{LEDs: 300, HTTPListen: "127.0.194.10:0", DDPListen: "127.0.194.10:0", RealtimeListen: "-"})
	url := fake.URL()
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
	waitStrips(t, r, url+"->"+fake.DDPAddr()+"/300")
	fake.SetInfo(func(i *wled.Info) { i.LEDs.Count = 1500 })
	waitStrips(t, r, url+"->"+fake.DDPAddr()+"/1500")
	fake.SetInfo(func(i *wled.Info) { i.LEDs.LC, i.LEDs.RGBW = 0x03, true })
	waitFor(t, "the RGBW strip", func() bool { st := r.strip(url); return st != nil && st.target.RGBW })
	r.stop()
	logs := r.logs.String()
	if strings.Contains(logs, "moved") {
		t.Errorf("a change of LED count or RGBW is logged as a move:\n%s", logs)
	}
	for _, want := range []string{"leds 300 → 1500", "rgbw off → on"} {
		found := false
		for _, line := range strings.Split(logs, "\n") {
			found = found || strings.Contains(line, "configured device changed") && strings.Contains(line, want)
		}
		if !found {
			t.Errorf("no \"configured device changed\" line saying %q:\n%s", want, logs)
		}
	}
}
