package session_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// TestMetricsWithStripsOfTheSameName: every fresh WLED is called "WLED", so two strips of the same
// name are the normal case; their series must stay apart, or the whole /metrics scrape fails.
func TestMetricsWithStripsOfTheSameName(t *testing.T) {
	a := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "WLED"})
	b := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "WLED"})
	reg := prometheus.NewRegistry()
	newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Devices = []string{a.URL(), b.URL()}
		c.Metrics = reg
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		families, err := reg.Gather()
		if err != nil {
			t.Fatalf("gather: %v", err)
		}
		ids, names := map[string]bool{}, map[string]bool{}
		for _, f := range families {
			names[f.GetName()] = true
			if f.GetName() != "ledbridge_wled_frames_sent_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "id" {
						ids[l.GetValue()] = true
					}
				}
			}
		}
		if len(ids) == 2 {
			for _, want := range []string{"ledbridge_webrtc_signals_dropped_total", "ledbridge_webrtc_offers_deferred_total", "ledbridge_loop_ticks_total"} {
				if !names[want] {
					t.Errorf("/metrics has no %s", want)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("frames_sent series by id: %v, want one for each of the two strips", ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
