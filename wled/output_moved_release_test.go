package wled_test

import (
	"log/slog"
	"net"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// TestOutputOfAMovedDeviceLeavesTheReleaseToItsSuccessor: DHCP moves a discovered WLED to another
// address; the session opens an output there and stops the one at the old address. That one
// must not release the old address: nothing answers there now (a "release failed" warning after
// a refused or timed-out connect: 26 in 5 minutes of a review's churn), or another machine took
// it. The new output drives the device and releases it when it stops in turn. A strip whose
// device is simply off when it stops (shutdown, no successor) still gets its warning.
func TestOutputOfAMovedDeviceLeavesTheReleaseToItsSuccessor(t *testing.T) {
	const mac = "02aa00000326"
	for _, moved := range []bool{true, false} {
		logs := &lineRecorder{}
		// The old address: its DDP port took frames until the move, its JSON API is gone.
		oldAt := wledtest.New(t, wledtest.Config{LEDs: 30, RealtimeListen: "-", HTTPListen: "-"})
		oldTarget, _ := wled.ParseTarget(oldAt.DDPURL())
		old, stopOld := wledtest.StartOutput(t, wled.OutputConfig{Target: oldTarget, Device: mac, Logger: slog.New(logs)})
		old.SetJSONAPI(closedTCPAddr(t))
		submitUntil(t, old, oldAt, 2)

		var newAt *wledtest.Fake
		if moved {
			newAt = wledtest.New(t, wledtest.Config{LEDs: 30, RealtimeListen: "-"})
			newTarget, _ := wled.ParseTarget(newAt.DDPURL())
			successor, stopNew := wledtest.StartOutput(t, wled.OutputConfig{Target: newTarget, Device: mac, Logger: slog.New(logs)})
			successor.SetJSONAPI(newAt.HTTPAddr())
			submitUntil(t, successor, newAt, 2)
			stopOld()
			if n := len(logs.with("wled release failed")); n != 0 {
				t.Errorf("the output at the address the device left tried to release it there: %d \"release failed\" lines", n)
			}
			stopNew()
			if reqs := newAt.StateRequests(); len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live {
				t.Errorf("the successor's device got state requests %+v, want its release ({\"live\":false}) when it stopped", reqs)
			}
			continue
		}
		stopOld()
		if n := len(logs.with("wled release failed")); n != 1 {
			t.Errorf("a strip switched off when its output stopped: %d \"release failed\" lines, want 1", n)
		}
	}
}

// closedTCPAddr is a loopback "host:port" where nothing listens: connects there are refused.
func closedTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
