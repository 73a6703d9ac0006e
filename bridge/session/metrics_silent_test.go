package session_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// TestMetricsSilentMusicians: a musician whose connection is up but whose audio does not arrive
// (a muted sender, a stopped track, a frozen tab) lights nothing, and a venue wants to alert on
// it: ledbridge_room_musicians_silent counts them, ledbridge_audio_packets_received_total counts
// the audio that does arrive, and does not go down when a musician leaves.
func TestMetricsSilentMusicians(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Metrics = reg })
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	cy := r.musician(musicianOpts{id: "cy", name: "Cy", offers: true}) // connects, sends nothing
	waitFor(t, 20*time.Second, "ana and cy connected to the bridge", func() bool { return ana.connected() && cy.connected() })
	waitFor(t, 10*time.Second, "audio from ana", func() bool { s, ok := r.musicianStatus("ana"); return ok && s.Packets > 0 })

	value := func(name string) float64 {
		t.Helper()
		v, ok := unlabelledValue(t, reg, name)
		if !ok {
			t.Fatalf("/metrics has no unlabelled %s", name)
		}
		return v
	}
	waitFor(t, 10*time.Second, "cy, connected and sending nothing, counted silent", func() bool {
		return value("ledbridge_room_musicians_silent") == 1
	})
	waitFor(t, 10*time.Second, "ana's packets counted", func() bool { return value("ledbridge_audio_packets_received_total") >= 10 })

	ana.muted.Store(true)
	waitFor(t, 10*time.Second, "ana, muted, counted silent too", func() bool { return value("ledbridge_room_musicians_silent") == 2 })
	ana.muted.Store(false)
	waitFor(t, 10*time.Second, "ana, sending again, not silent", func() bool { return value("ledbridge_room_musicians_silent") == 1 })

	before := value("ledbridge_audio_packets_received_total")
	ana.leave()
	waitFor(t, 10*time.Second, "ana gone", func() bool { _, ok := r.musicianStatus("ana"); return !ok })
	if after := value("ledbridge_audio_packets_received_total"); after < before {
		t.Errorf("ledbridge_audio_packets_received_total went down from %v to %v when ana left", before, after)
	}
	cy.leave()
	waitFor(t, 10*time.Second, "no musician silent once cy left", func() bool { return value("ledbridge_room_musicians_silent") == 0 })
}
