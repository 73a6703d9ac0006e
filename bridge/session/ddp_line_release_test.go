package session

import (
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// Stopping hands a ddp:// line's WLED back to its own effects when the line's host answered
// /json/info on port 80 (as it is asked for the WLED's name): {"live":false} goes there, as for
// a wled:// line, and the fake leaves realtime mode at once. A host with no JSON API gets no
// request (its strip holds the last frame for the device's realtime timeout).
func TestStopReleasesADDPLineWhoseHostAnsweredTheJSONAPI(t *testing.T) {
	for _, answers := range []bool{true, false} {
		fake := wledtest.New(t, wledtest.Config{Name: "Drums", LEDs: 30, RealtimeListen: "-"})
		jsonAPI := ""
		if answers {
			jsonAPI = fake.HTTPAddr()
		}
		r := startDeviceRig(t, []string{fake.DDPURL()}, nil, func(d *deviceSet) {
			d.lineInfo = port80Client(jsonAPI)
			d.release = port80Client(jsonAPI)
			d.release.Timeout = releaseClient.Timeout
		})
		waitFor(t, "the line's strip", func() bool { return r.strip(fake.DDPURL()) != nil })
		if answers {
			waitFor(t, "the line's host asked", func() bool {
				r.s.devices.mu.Lock()
				defer r.s.devices.mu.Unlock()
				return r.s.devices.lineNames[fake.DDPURL()].jsonAPI
			})
		} else {
			time.Sleep(100 * time.Millisecond) // the question's refusal comes at once
		}
		r.feedUntilFrame(t, fake.DDPURL(), fake)
		if !fake.Info().Live {
			t.Fatal("the fake is not live while frames arrive")
		}
		r.stop()
		reqs := fake.StateRequests()
		switch {
		case answers && (len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live || fake.Info().Live):
			t.Errorf("host answered: state requests %+v, live %v; want one {\"live\":false} and not live", reqs, fake.Info().Live)
		case !answers && len(reqs) != 0:
			t.Errorf("no JSON API: state requests %+v, want none", reqs)
		}
	}
}
