package wled_test

import (
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// wantPowerAndWiFiAdvice checks that the failure line of each outage, one per outage, tells the
// operator what to check.
func wantPowerAndWiFiAdvice(t *testing.T, logs *lineRecorder, outages int) {
	t.Helper()
	lines := logs.with("wled send failed")
	if len(lines) != outages {
		t.Fatalf("%d \"wled send failed\" lines for %d outages, want one each", len(lines), outages)
	}
	for i, l := range lines {
		if l.level != slog.LevelWarn {
			t.Errorf("outage %d: level %v, want WARN", i+1, l.level)
		}
		advice := l.attrs["advice"].String()
		if !strings.Contains(advice, "power") || !strings.Contains(advice, "Wi-Fi") {
			t.Errorf("outage %d (err=%v): advice=%q, want what to check: the device's power and Wi-Fi", i+1, l.attrs["err"], advice)
		}
	}
}

// TestOutputRefusedSendsAdvise: a WLED that reboots (or whose address another machine took)
// refuses the strip's datagrams. The line that says sends fail must say what to check, once an
// outage: two reboots in an evening, two lines.
func TestOutputRefusedSendsAdvise(t *testing.T) {
	strip := newRefusingStrip(t)
	tg, _ := wled.ParseTarget("ddp://" + strip.addr.String() + "?leds=50")
	logs := &lineRecorder{}
	clock := &laterClock{}
	o := startOutputOnClock(t, wled.OutputConfig{Target: tg, Name: "WLED", Logger: slog.New(logs)}, clock)
	for outage := 1; outage <= 2; outage++ {
		if outage == 2 {
			clock.pass(wled.ErrorLogInterval) // not a strip that comes and goes: see endOutage
			strip.away()
		}
		submitUntilLogged(t, o, logs, "wled send failed", outage)
		submitFor(o, 300*time.Millisecond) // many more sends fail: still one line
		strip.back()
		submitUntilLogged(t, o, logs, "wled sending again", outage)
	}
	wantPowerAndWiFiAdvice(t, logs, 2)
}

// TestOutputUnreachableHostSendsAdvise: a WLED that lost power or its Wi-Fi no longer answers
// ARP, and the kernel fails the strip's sends with "no route to host". That line must say what to
// check too. In a network namespace of its own, the route to the strip turns unreachable, as a
// failed neighbour lookup makes it, and comes back.
func TestOutputUnreachableHostSendsAdvise(t *testing.T) {
	const route = "10.9.0.9/32"
	if !testenv.InNetworkNamespace(t, "ip addr add 10.9.0.1/32 dev lo && ip route add "+route+" dev lo") {
		return
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	tg, _ := wled.ParseTarget("ddp://10.9.0.9?leds=50")
	logs := &lineRecorder{}
	o, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Name: "WLED", Logger: slog.New(logs)})
	submitFor(o, 100*time.Millisecond)
	ip("route", "replace", "unreachable", route)
	submitUntilLogged(t, o, logs, "wled send failed", 1)
	ip("route", "replace", route, "dev", "lo")
	submitUntilLogged(t, o, logs, "wled sending again", 1)
	wantPowerAndWiFiAdvice(t, logs, 1)
}
