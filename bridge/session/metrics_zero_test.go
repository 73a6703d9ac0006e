package session_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// TestMetricsLabelledSeriesStartAtZero: a labelled series that appears only with its first event
// hides that event from increase() and rate(), so an alert on it never fires for the first one.
// Every label value the session knows is exported from the start.
func TestMetricsLabelledSeriesStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Metrics = reg })
	want := map[string]struct {
		label  string
		values []string
	}{
		"ledbridge_room_dropped_messages_total": {"event", []string{room.EventSignal, room.EventTempoChange,
			room.EventPlaybackControl, room.EventStateRequest, room.EventStateResponse, room.EventLEDUpdate}},
		"ledbridge_loop_errors_total": {"step", []string{"render", "sound_sync"}},
		"ledbridge_webrtc_peers":      {"state", []string{"new", "connecting", "connected", "disconnected", "failed", "closed"}},
	}
	families := gatherFamilies(t, reg)
	for name, w := range want {
		got := map[string]float64{}
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == w.label {
					v := m.GetCounter().GetValue()
					if m.GetGauge() != nil {
						v = m.GetGauge().GetValue()
					}
					got[l.GetValue()] = v
				}
			}
		}
		for _, value := range w.values {
			if v, ok := got[value]; !ok || v != 0 {
				t.Errorf("%s{%s=%q} = %v (present: %v), want 0 before any event", name, w.label, value, v, ok)
			}
		}
	}
}
