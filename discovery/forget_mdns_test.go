package discovery

import (
	"testing"
	"time"
)

// A controller whose JSON API stops answering while mDNS still answers for it (a busy ESP8266
// under realtime load, or TCP 80 filtered while UDP gets through) is still taking the stream:
// it stays listed, offline, however long that lasts, and is forgotten only once mDNS too has
// been silent about it for ForgetAfter. The answer names it by TXT mac, or by its instance name
// alone (firmware without the TXT record).
func TestRegistryKeepsADeviceMDNSStillAnswersFor(t *testing.T) {
	for _, withMAC := range []bool{true, false} {
		name := "by instance name"
		if withMAC {
			name = "by TXT mac"
		}
		t.Run(name, func(t *testing.T) {
			const mac = "02fc0000f0a1"
			f := startFake(t, "127.0.0.1:0", mac, 30)
			ans := answerFor(t, f, withMAC)
			h := startRegistry(t, Config{}, ans)
			h.waitRound()
			if evs := h.drain(); kinds(evs) != "added:"+mac {
				t.Fatalf("events = %s, want added:%s", kinds(evs), mac)
			}

			_ = f.Close() // the JSON API goes dark; the mDNS answers go on
			h.nextRound()
			h.nextRound()
			if evs := h.drain(); kinds(evs) != "offline:"+mac {
				t.Fatalf("events after /json/info stopped = %s, want offline:%s", kinds(evs), mac)
			}
			for range 3 { // three hours, each well past ForgetAfter
				h.clock.advance(time.Hour + time.Minute)
				h.nextRound()
			}
			if evs := h.drain(); len(evs) != 0 {
				t.Fatalf("events while mDNS still answers = %s, want none (the device is kept)", kinds(evs))
			}
			if ds := h.reg.Devices(); len(ds) != 1 || ds[0].Online || ds[0].MAC != mac || ds[0].LastError == "" {
				t.Fatalf("after 3 h with mDNS answering: %+v, want the device listed offline with its error", ds)
			}

			// mDNS falls silent too: ForgetAfter counts from its last answer.
			h.browser.set(nil)
			h.clock.advance(time.Hour - 2*time.Minute)
			h.nextRound()
			if evs := h.drain(); len(evs) != 0 {
				t.Fatalf("events within ForgetAfter of the last mDNS answer = %s, want none", kinds(evs))
			}
			h.clock.advance(3 * time.Minute)
			h.nextRound()
			if evs := h.drain(); kinds(evs) != "removed:"+mac {
				t.Fatalf("events an hour after mDNS fell silent = %s, want removed:%s", kinds(evs), mac)
			}
			if ds := h.reg.Devices(); len(ds) != 0 {
				t.Fatalf("after the forget period Devices() = %+v, want none", ds)
			}
		})
	}
}
