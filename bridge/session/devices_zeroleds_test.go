package session

import (
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A discovered WLED that starts reporting 0 LEDs (its LED settings half saved) keeps its strip at
// the last size it reported, as a configured one does, and the log says so once.
func TestDiscoveredDeviceReportingZeroLEDsIsLoggedOnce(t *testing.T) {
	const ip, mac = "127.0.194.11", "02fc00019411"
	fake := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 300, VID: oldFirmwareVID, Name: "Bar", HTTPListen: ip + ":0", DDPListen: "-", RealtimeListen: ip + ":0"})
	browser := &answerBrowser{}
	browser.set(answerFor("bar", fake.HTTPAddr()))
	r := startDeviceRig(t, nil, browser, nil)
	r.clock.waitRound(t)
	waitStrips(t, r, mac+"->"+fake.RealtimeAddr()+"/300")
	fake.SetInfo(func(i *wled.Info) { i.LEDs.Count = 0 })
	for range 3 {
		r.clock.nextRound(t)
	}
	wantStrips(t, r, mac+"->"+fake.RealtimeAddr()+"/300")
	r.stop()
	var lines []string
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "0 LEDs") {
			lines = append(lines, line)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "leds=300") || !strings.Contains(lines[0], "device=Bar") {
		t.Errorf("%d warnings about 0 LEDs, want one naming the device and its 300 LEDs:\n%s", len(lines), r.logs.String())
	}
}
