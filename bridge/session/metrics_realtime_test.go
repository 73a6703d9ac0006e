package session

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// TestMetricsRealtimeConnected: ledbridge_realtime_reconnects_total counts every attempt (a
// server that refuses each one adds one per backoff step), so it cannot say whether the room is
// joined now; ledbridge_realtime_connected can, and an alert on it is simple.
func TestMetricsRealtimeConnected(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lost := errors.New("socket closed")
	steps := []struct {
		state     realtime.State
		connected float64
		attempts  float64
	}{
		{realtime.StateConnecting, 0, 0},
		{realtime.StateJoined, 1, 0},
		{realtime.StateReconnecting, 0, 1},
		{realtime.StateConnecting, 0, 1},
		{realtime.StateReconnecting, 0, 2}, // the retry failed too
		{realtime.StateConnecting, 0, 2},
		{realtime.StateJoined, 1, 2},
		{realtime.StateClosed, 0, 2},
	}
	for i, s := range steps {
		m.realtimeState(realtime.Status{State: s.state, Err: lost})
		if got := valueOf(t, m.realtimeConnected); got != s.connected {
			t.Errorf("step %d (%v): ledbridge_realtime_connected = %v, want %v", i, s.state, got, s.connected)
		}
		if got := valueOf(t, m.reconnects); got != s.attempts {
			t.Errorf("step %d (%v): ledbridge_realtime_reconnects_total = %v, want %v", i, s.state, got, s.attempts)
		}
	}
	if help := m.reconnects.Desc().String(); !strings.Contains(help, "attempt") || strings.Contains(help, "Times the Realtime connection was lost") {
		t.Errorf("ledbridge_realtime_reconnects_total's help says it counts losses: %s", help)
	}
}

// valueOf is a gauge's or a counter's value.
func valueOf(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := c.Write(&out); err != nil {
		t.Fatal(err)
	}
	if out.GetCounter() != nil {
		return out.GetCounter().GetValue()
	}
	return out.GetGauge().GetValue()
}
