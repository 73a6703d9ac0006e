package session

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// Two senders streaming to one WLED contest it: WLED takes its realtime mode (lm) and lip from
// whichever packet came last, so its JSON API shows the other sender on most polls and ours now
// and then. One poll that catches our packet must neither end the warning's run (a new warning
// three polls later) nor say our frames show: the all-clear waits for as many polls in a row
// showing our stream as the warning waited for.

// contestedWLED is how a poll finds the device: driven by the other sender, or by us.
type contestedWLED struct {
	name string
	// other and ours set what the JSON API says while the other sender's or our packet came last.
	other, ours func(*wled.Info)
}

var contestedWLEDs = []contestedWLED{
	{"e131", // a second sender of another protocol
		func(i *wled.Info) { i.Live, i.LiveMode, i.LiveIP = true, "E1.31", "" },
		func(i *wled.Info) { i.Live, i.LiveMode, i.LiveIP = true, "UDP", "" }},
	{"lip", // a second sender of our protocol from another address; ours towards 127.0.208.x is 127.0.0.1
		func(i *wled.Info) { i.Live, i.LiveMode, i.LiveIP = true, "UDP", "127.0.0.2" },
		func(i *wled.Info) { i.Live, i.LiveMode, i.LiveIP = true, "UDP", "127.0.0.1" }},
}

// A discovered WLED polled once a round, so every poll is the test's to set.
func TestContestedWLEDWarnsOnceAndClearsOnlyWhenOursHolds(t *testing.T) {
	for n, tc := range contestedWLEDs {
		t.Run(tc.name, func(t *testing.T) {
			ip, mac := "127.0.208."+string(rune('1'+n)), "02fc0002080"+string(rune('1'+n))
			fake := startStripFake(t, ip, mac, 60)
			var lastFromOther atomic.Bool
			var contested atomic.Bool
			api := startInfoFront(t, ip, func() wled.Info {
				i := fake.Info()
				if contested.Load() {
					if lastFromOther.Load() {
						tc.other(&i)
					} else {
						tc.ours(&i)
					}
				}
				return i
			})
			browser := &answerBrowser{}
			browser.set(answerFor("bar", api.String()))
			r := startDeviceRig(t, nil, browser, nil)
			r.clock.waitRound(t)
			waitStrips(t, r, mac+"->"+fake.RealtimeAddr()+"/60")
			feedStrip(t, r, mac)
			streamingForASecond(t, r, mac)
			contested.Store(true)
			warnings := func() int { return len(logLines(r.logs.String(), "level=WARN", "another source", "mac="+mac)) }
			allClears := func() int { return len(logLines(r.logs.String(), "level=INFO", "shows our frames again")) }
			poll := func(fromOther bool) { lastFromOther.Store(fromOther); r.clock.nextRound(t) }

			// One poll of ours among the first ones does not start the count again: the device
			// shows the other sender two polls in three.
			poll(true)
			poll(true)
			poll(false)
			poll(true)
			if warnings() != 1 {
				t.Fatalf("%d other-source warnings after 3 polls of the other sender in 4, want 1:\n%s", warnings(), r.logs.String())
			}
			// All evening: three polls show the other sender, the fourth ours.
			for range 10 {
				poll(false)
				poll(true)
				poll(true)
				poll(true)
			}
			if n := warnings(); n != 1 {
				t.Errorf("%d other-source warnings while the same sender contests the device, want 1:\n%s", n, r.logs.String())
			}
			if n := allClears(); n != 0 {
				t.Fatalf("%d all-clears while another sender still drives the device, want 0:\n%s", n, r.logs.String())
			}
			// The other sender stops: ours alone drives it, the all-clear after notLivePolls polls.
			for range notLivePolls - 1 {
				poll(false)
			}
			if n := allClears(); n != 0 {
				t.Fatalf("all-clear after %d polls of ours, want it after %d:\n%s", notLivePolls-1, notLivePolls, r.logs.String())
			}
			poll(false)
			if n := allClears(); n != 1 {
				t.Fatalf("%d all-clears after %d polls of ours, want 1:\n%s", n, notLivePolls, r.logs.String())
			}
			w := logLines(r.logs.String(), "level=WARN", "another source")[0]
			for _, want := range []string{mac, "not showing our frames"} {
				if !strings.Contains(w, want) {
					t.Errorf("warning %q does not mention %q", w, want)
				}
			}
			// The run is over: the other sender back is a new cause, warned about again.
			for range notLivePolls {
				poll(true)
			}
			if n := warnings(); n != 2 {
				t.Errorf("%d other-source warnings after the other sender came back, want 2:\n%s", n, r.logs.String())
			}
		})
	}
}

// The reviewer's case: a configured line polled on its own timer, the JSON API showing the other
// sender on three polls of four. One warning, no all-clear, however long it goes on.
func TestContestedConfiguredWLEDDoesNotFlap(t *testing.T) {
	const ip = "127.0.208.10"
	fake := startStripFake(t, ip, "02fc00020810", 60)
	var polls atomic.Int32
	var contested atomic.Bool
	api := startInfoFront(t, ip, func() wled.Info {
		i := fake.Info()
		if !contested.Load() {
			return i
		}
		if polls.Add(1)%4 == 0 {
			contestedWLEDs[0].ours(&i)
		} else {
			contestedWLEDs[0].other(&i)
		}
		return i
	})
	url := "wled://" + api.String()
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { d.recheckEvery = 20 * time.Millisecond })
	waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/60")
	feedStrip(t, r, url)
	streamingForASecond(t, r, url)
	contested.Store(true)
	waitFor(t, "40 polls", func() bool { return polls.Load() >= 40 })
	if n := len(logLines(r.logs.String(), "level=WARN", "another source")); n != 1 {
		t.Errorf("%d other-source warnings in 40 polls, want 1:\n%s", n, r.logs.String())
	}
	if lines := logLines(r.logs.String(), "shows our frames again"); len(lines) != 0 {
		t.Errorf("all-clear while another sender drives the device:\n%s", strings.Join(lines, "\n"))
	}
}
