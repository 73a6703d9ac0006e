package session

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/wled"
)

// reopenSink is a memSink whose output has failed to re-open its socket reopenFailures times.
type reopenSink struct {
	*memSink
	reopenFailures atomic.Uint64
}

func (r *reopenSink) Stats() wled.OutputStats {
	s := r.memSink.Stats()
	s.ReopenFailures = r.reopenFailures.Load()
	return s
}

// scrapeDeviceSeries is name's value for each strip by its id label, and each series' label names.
func scrapeDeviceSeries(t *testing.T, reg *prometheus.Registry, name string) (map[string]float64, map[string][]string) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	values, labels := map[string]float64{}, map[string][]string{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var id string
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
				if l.GetName() == "id" {
					id = l.GetValue()
				}
			}
			values[id], labels[id] = m.GetCounter().GetValue(), names
		}
	}
	return values, labels
}

// Failed socket re-opens (wled.OutputStats.ReopenFailures: a route gone, a zone's interface
// unplugged) are on /metrics as ledbridge_wled_reopen_failures_total, by strip like the other
// wled series, and there from zero for every strip, so that the first failure shows in
// increase().
func TestMetricsCountReopenFailures(t *testing.T) {
	code, err := room.ParseCode("RFP234")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	sinks := map[string]*reopenSink{}
	// Addresses of TEST-NET-1: no frame may reach a network.
	const a, b = "ddp://192.0.2.41:4048?leds=30", "ddp://192.0.2.42:4048?leds=10"
	s, err := New(Config{
		Code:     code,
		Mode:     effect.ModeBroadcast,
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Devices:  []string{a, b},
		Logger:   slog.New(slog.DiscardHandler),
		Metrics:  reg,
		OpenSink: func(cfg wled.OutputConfig) (Sink, error) {
			r := &reopenSink{memSink: &memSink{leds: cfg.Target.LEDs}}
			mu.Lock()
			sinks[cfg.Target.Host] = r
			mu.Unlock()
			return r, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.devices.run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "both strips", func() bool { return len(s.devices.current()) == 2 })

	const name = "ledbridge_wled_reopen_failures_total"
	values, labels := scrapeDeviceSeries(t, reg, name)
	_, siblingLabels := scrapeDeviceSeries(t, reg, "ledbridge_wled_send_errors_total")
	for _, id := range []string{a, b} {
		v, ok := values[id]
		if !ok || v != 0 {
			t.Fatalf("%s{id=%q} = %v (present: %v), want 0 from the start; series: %v", name, id, v, ok, values)
		}
		if got, want := labels[id], siblingLabels[id]; len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s{id=%q} labels %v, ledbridge_wled_send_errors_total's %v", name, id, got, want)
		}
	}
	mu.Lock()
	sinks["192.0.2.42"].reopenFailures.Store(3)
	mu.Unlock()
	values, _ = scrapeDeviceSeries(t, reg, name)
	if values[a] != 0 || values[b] != 3 {
		t.Fatalf("after three failed re-opens of %s's socket: %s = %v, want 0 for %s and 3 for %s", b, name, values, a, b)
	}
}
