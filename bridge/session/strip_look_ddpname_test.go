package session

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// port80Client is a JSON API client whose requests to port 80 (where a real WLED answers, and a
// test cannot listen) go to jsonAPI instead, over real TCP.
func port80Client(jsonAPI string) *wled.Client {
	var d net.Dialer
	return &wled.Client{HTTP: &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if _, port, _ := net.SplitHostPort(addr); port == "80" {
				if jsonAPI == "" {
					return nil, errors.New("connection refused (no JSON API)")
				}
				addr = jsonAPI
			}
			return d.DialContext(ctx, network, addr)
		},
	}}}
}

// With discovery off, a ddp:// line answers to the name of the WLED at its address, as in
// test-pattern: an entry {device: Drums} for the line to Drums' IP applies (its host is asked for
// /json/info once, since the entry names no device otherwise), the status page shows the entry's
// look, and the entry is not reported as matching no device.
func TestStripLookAppliesToADDPLineByItsWLEDsName(t *testing.T) {
	drums := wledtest.New(t, wledtest.Config{Name: "Drums", LEDs: lookLEDs, RealtimeListen: "-"})
	r := startDeviceRig(t, []string{drums.DDPURL()}, nil, func(d *deviceSet) {
		d.lineInfo = port80Client(drums.HTTPAddr())
		d.lookReportDelay = time.Hour // logged below, once the answer had its chance
	})
	look := StripLook{Device: "Drums", Look: effect.Strip{Effect: effect.EffectSpectrum, Reverse: true}}
	if err := r.s.SetStripLooks([]StripLook{look}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the line's strip", func() bool { return len(r.s.devices.current()) == 1 })
	if err := r.s.SetMode("local"); err != nil {
		t.Fatal(err)
	}
	base := serveStatus(t, r.s)
	want := effect.DescribeLook(0, look.Look, false)
	now := time.Now()
	var got map[string]string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		now = now.Add(time.Second / 60)
		r.s.loop.tick(now)
		if got = statusLooks(t, base); got[drums.DDPURL()] == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("line %s, entry {device: Drums}: status looks %q, want %q", drums.DDPURL(), got, want)
		}
	}
	r.s.devices.logUnmatchedLooks()
	if logs := r.logs.String(); strings.Contains(logs, "matches no device") {
		t.Errorf("the entry is reported as matching no device:\n%s", logs)
	}
}
