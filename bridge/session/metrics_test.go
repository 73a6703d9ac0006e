package session_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/room"
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

// TestMetricsImpostorOffers: an offer under a streaming musician's peer id from another
// RTCPeerConnection than hers is refused by the peer Manager and counted in
// ledbridge_webrtc_impostor_offers_total, which is there from zero. (The embedded room server lets
// only her own client send under her peer id, so the offer comes from a second connection of
// hers: a tab of the same peer id that is not the one streaming, which the count includes.)
func TestMetricsImpostorOffers(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Metrics = reg })
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	waitFor(t, 20*time.Second, "ana connected to the bridge", ana.connected)
	waitFor(t, 10*time.Second, "audio from ana", func() bool { s, ok := r.musicianStatus("ana"); return ok && s.Packets > 0 })

	impostorOffers := func() (float64, bool) {
		t.Helper()
		return unlabelledValue(t, reg, "ledbridge_webrtc_impostor_offers_total")
	}
	if v, ok := impostorOffers(); !ok || v != 0 {
		t.Fatalf(`ledbridge_webrtc_impostor_offers_total = %v (present: %v), want 0`, v, ok)
	}

	second, err := musicianAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Close() })
	if _, err := second.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := second.CreateOffer(nil)
	if err == nil {
		err = second.SetLocalDescription(offer)
	}
	if err != nil {
		t.Fatal(err)
	}
	ana.send(room.Signal{Type: room.SignalOffer, FromPeerID: "ana", TargetPeerID: ana.bridgeID(),
		Description: &room.SessionDescription{Type: "offer", SDP: offer.SDP}})
	waitFor(t, 10*time.Second, "the second connection's offer counted", func() bool { v, _ := impostorOffers(); return v == 1 })
	if s, ok := r.musicianStatus("ana"); !ok || s.WebRTC != "connected" {
		t.Errorf("ana after the offer: %+v, want connected", s)
	}
}
