package session_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// TestMetricsPlacesGivenStartAtZero: the places the session and the peer manager take back from
// musicians that never connect, for musicians waiting, are on /metrics from the start, at 0 (a
// series that appears with its first event hides that event from increase()). The squatters
// test (TestSilentMembersGiveTheirPlaceToAMusicianWhoWaits) sees both go up.
func TestMetricsPlacesGivenStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Metrics = reg })
	for _, name := range []string{"ledbridge_webrtc_slots_reclaimed_total", "ledbridge_room_musicians_unfollowed_total"} {
		if v, ok := unlabelledValue(t, reg, name); !ok || v != 0 {
			t.Errorf("%s = %v (present, unlabelled: %v), want 0 from the start", name, v, ok)
		}
	}
}
