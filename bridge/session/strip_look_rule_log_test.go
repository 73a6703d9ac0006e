package session

import (
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// Two fresh WLEDs are both called "WLED": the lines that say which look each strip takes give
// its address and key, so that they can be told apart.
func TestStripLookLogLinesTellTwoWLEDsApart(t *testing.T) {
	a := wledtest.New(t, wledtest.Config{Name: "WLED", LEDs: lookLEDs, HTTPListen: "127.0.182.4:0", DDPListen: "127.0.182.4:0", RealtimeListen: "-"})
	b := wledtest.New(t, wledtest.Config{Name: "WLED", LEDs: lookLEDs, HTTPListen: "127.0.182.5:0", DDPListen: "127.0.182.5:0", RealtimeListen: "-"})
	r := startDeviceRig(t, []string{a.URL(), b.URL()}, nil, nil)
	if err := r.s.SetStripLooks([]StripLook{{Device: "127.0.182.5", Look: effect.Strip{Effect: effect.EffectPulse}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both strips", func() bool { return len(r.s.devices.current()) == 2 })
	lookAfterTicks(t, r, a.URL())
	logs := r.logs.String()
	for _, want := range []string{
		`msg="strip takes its own look" device=WLED strips_entry=0`,
		"addr=" + b.DDPAddr() + ` key="` + b.URL() + `"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("no log line has %q:\n%s", want, logs)
		}
	}
	if err := r.s.SetStripLooks(nil); err != nil {
		t.Fatal(err)
	}
	lookAfterTicks(t, r, a.URL())
	line := ""
	for _, l := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(l, "strip takes the global look") {
			line = l
		}
	}
	if !strings.Contains(line, "addr="+b.DDPAddr()) || !strings.Contains(line, `key="`+b.URL()+`"`) {
		t.Errorf("the global look's line %q does not name the strip's address and key", line)
	}
}
