package session

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// lookGauge scrapes ledbridge_loop_look: its value by look, and its HELP.
func lookGauge(t *testing.T, s *Session) (map[string]float64, string) {
	t.Helper()
	families, err := s.cfg.Metrics.(prometheus.Gatherer).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "ledbridge_loop_look" {
			continue
		}
		got := map[string]float64{}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "look" {
				t.Fatalf("ledbridge_loop_look labels %v, want look only", m.GetLabel())
			}
			got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
		return got, f.GetHelp()
	}
	t.Fatal("no ledbridge_loop_look in /metrics")
	return nil, ""
}

// /metrics shows the look the strips show, as the status page does: one series per look the
// code knows, 1 for the current one and 0 for the others, whatever the room sends.
func TestMetricsLoopLook(t *testing.T) {
	r := newModeRig(t, effect.ModeAuto)
	check := func(when, want string) {
		t.Helper()
		got, help := lookGauge(t, r.s)
		if help == "" {
			t.Fatal("ledbridge_loop_look has no HELP")
		}
		if r.look() != want {
			t.Fatalf("%s: the status page says %q, want %q", when, r.look(), want)
		}
		for _, look := range []string{"local", "broadcast", "idle"} {
			v := map[bool]float64{true: 1}[look == want]
			if g, ok := got[look]; !ok || g != v {
				t.Errorf("%s: ledbridge_loop_look{look=%q} = %v (present: %v), want %v", when, look, g, ok, v)
			}
		}
		if len(got) != 3 {
			t.Errorf("%s: ledbridge_loop_look has %d series %v, want local, broadcast and idle", when, len(got), got)
		}
	}
	r.run(time.Second)
	check("no audio, no frames", "idle")
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":1}`)
	r.run(time.Second / 2)
	check("a host's frame", "broadcast")
	r.send(room.EventLEDUpdate, `{"colors":["#00ff00"],"seq":2,"look":"party"}`)
	r.run(3 * time.Second)
	check("the host gone for 3 s", "idle")
}
