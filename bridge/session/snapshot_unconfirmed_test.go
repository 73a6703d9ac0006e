package session

import (
	"testing"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A host that announces itself as a WLED on mDNS but whose JSON API never confirms it is listed
// offline with its error, and with no protocol: none was chosen for it (not "Protocol(0)").
func TestUnconfirmedDiscoveredDeviceHasNoProtocol(t *testing.T) {
	const ip = "127.0.36.21"
	fake := wledtest.New(t, wledtest.Config{LEDs: 30, DDPListen: "-", HTTPListen: ip + ":0", RealtimeListen: "-"})
	fake.SetRawInfo(503, []byte("not a WLED"))
	browser := &answerBrowser{}
	browser.set(answerFor("impostor", fake.HTTPAddr()))
	r := startDeviceRig(t, nil, browser, nil)
	r.clock.waitRound(t)
	if ds := r.s.devices.registryDevices(); len(ds) != 1 || ds[0].Online {
		t.Fatalf("discovery lists %+v, want one device, offline", ds)
	}
	wantStrips(t, r)
	snap := r.s.Snapshot()
	if len(snap.Devices) != 1 {
		t.Fatalf("status devices = %s, want the announced device", describeDevices(snap.Devices))
	}
	if d := snap.Devices[0]; d.Protocol != "" || d.Online || d.Driven || d.LastError == "" {
		t.Errorf("status lists %+v, want no protocol, offline, not driven, with its error", d)
	}
}
