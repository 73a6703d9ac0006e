package session_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// msgImpostorRefused is the peer Manager's line for an offer it refuses as an impostor's.
const msgImpostorRefused = "offer under the musician's peer id refused while her connection is up (any room member can send under its peer id)"

// An impostor offer refused on a musician's behalf stays counted after she leaves, though no
// scrape came between the offer and her leave: the peer Manager forgets her record, and
// ledbridge_webrtc_impostor_offers_total used to lose what it had counted since the last scrape.
func TestMetricsCountImpostorOffersOfAMusicianWhoLeft(t *testing.T) {
	reg := prometheus.NewRegistry()
	logs := &logCounter{}
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Metrics = reg
		c.Logger = slog.New(logs)
	})
	read := &counterReader{t: t, reg: reg, last: map[string]float64{}}
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	streamedPackets(t, r, "ana", 0)
	read.scrape()

	// A second connection of hers offers under her peer id while her audio arrives (see
	// TestMetricsImpostorOffers): refused, and counted on her peer record.
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
	waitFor(t, 10*time.Second, "the offer refused", func() bool { return logs.count(msgImpostorRefused) == 1 })
	ana.leave()
	waitFor(t, 10*time.Second, "ana gone", func() bool { _, ok := r.musicianStatus("ana"); return !ok })
	if got := read.value("ledbridge_webrtc_impostor_offers_total"); got != 1 {
		t.Errorf("ledbridge_webrtc_impostor_offers_total = %v after ana left, want the 1 offer refused on her behalf", got)
	}
	read.scrape()
}
