package wled_test

import (
	"log/slog"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// TestOutputLogLinesCarryTheDrivenTarget: every factory-new WLED is called "WLED", and the
// session's lines about a device ("driving device", "configured device reachable again") give
// device=<name> target=<Target.String()>. The output's own lines must give the same pair, so
// that one grep finds all the lines of one strip's outage.
func TestOutputLogLinesCarryTheDrivenTarget(t *testing.T) {
	strip := newRefusingStrip(t)
	tg, _ := wled.ParseTarget("ddp://" + strip.addr.String() + "?leds=50")
	logs := &lineRecorder{}
	o, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Name: "WLED", Logger: slog.New(logs)})
	submitUntilLogged(t, o, logs, "wled send failed", 1)
	strip.back()
	submitUntilLogged(t, o, logs, "wled sending again", 1)

	for _, msg := range []string{"wled send failed", "wled sending again"} {
		for _, l := range logs.with(msg) {
			if got := l.attrs["device"].String(); got != "WLED" {
				t.Errorf("%q: device=%q, want WLED", msg, got)
			}
			if got := l.attrs["target"].String(); got != tg.String() {
				t.Errorf("%q: target=%q, want %q, as the session's lines about the device give it", msg, got, tg.String())
			}
		}
	}
}
