package session_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// gatherFamilies is the registry's series by metric name.
func gatherFamilies(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := make(map[string]*dto.MetricFamily, len(families))
	for _, f := range families {
		out[f.GetName()] = f
	}
	return out
}

// unlabelledValue is the value of the one unlabelled series of name (a counter's or a gauge's).
func unlabelledValue(t *testing.T, reg *prometheus.Registry, name string) (float64, bool) {
	t.Helper()
	f, ok := gatherFamilies(t, reg)[name]
	if !ok || len(f.GetMetric()) != 1 || len(f.GetMetric()[0].GetLabel()) != 0 {
		return 0, false
	}
	m := f.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue(), true
	}
	return m.GetGauge().GetValue(), true
}

// TestMetricsCarryNoRemoteChosenLabels: a musician's peer id is chosen by her tab (PROTOCOL.md:
// unique per tab, new on every reload), so a series labelled with it is a new series per reload
// and per made-up id. The per-musician detail is on /api/status; the metrics are aggregates.
func TestMetricsCarryNoRemoteChosenLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Metrics = reg })
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	cy := r.musician(musicianOpts{id: "cy", name: "Cy", offers: true}) // connects, sends nothing
	waitFor(t, 20*time.Second, "ana and cy connected to the bridge", func() bool { return ana.connected() && cy.connected() })
	waitFor(t, 10*time.Second, "audio from ana", func() bool { s, ok := r.musicianStatus("ana"); return ok && s.Packets > 0 })

	families := gatherFamilies(t, reg)
	for name, f := range families {
		if !strings.HasPrefix(name, "ledbridge_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "musician" || l.GetValue() == "ana" || l.GetValue() == "cy" {
					t.Errorf("%s has the label %s=%q, chosen by a musician's tab", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	for _, name := range []string{"ledbridge_audio_packets_lost_total", "ledbridge_webrtc_impostor_offers_total"} {
		if v, ok := unlabelledValue(t, reg, name); !ok || v != 0 {
			t.Errorf("%s = %v (one unlabelled series: %v), want 0", name, v, ok)
		}
	}
}
