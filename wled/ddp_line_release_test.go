package wled_test

import (
	"testing"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A ddp:// line names no JSON API, so its output cannot release the WLED on stop unless it is
// told where the WLED's is (the line's host answered /json/info): then it sends {"live":false}
// there, as for wled://, and the fake leaves realtime mode at once. Untold, it sends nothing
// (the strip keeps the last frame for the device's own realtime timeout).
func TestOutputReleasesADDPLineThroughTheJSONAPIItIsGiven(t *testing.T) {
	for _, told := range []bool{true, false} {
		fake := wledtest.New(t, wledtest.Config{LEDs: 30, RealtimeListen: "-"})
		tg, err := wled.ParseTarget(fake.DDPURL())
		if err != nil {
			t.Fatal(err)
		}
		o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg})
		if told {
			o.SetJSONAPI(fake.HTTPAddr())
		}
		submitUntil(t, o, fake, 2)
		if !fake.Info().Live {
			t.Fatal("the fake is not live while frames arrive")
		}
		stop()
		reqs := fake.StateRequests()
		switch {
		case told && (len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live || fake.Info().Live):
			t.Errorf("told the JSON API: state requests %+v, live %v; want one {\"live\":false} and not live", reqs, fake.Info().Live)
		case !told && len(reqs) != 0:
			t.Errorf("told no JSON API: state requests %+v, want none", reqs)
		}
	}
}
