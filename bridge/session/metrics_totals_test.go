package session_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// counterReader reads the session's summed audio counters, and fails the test if one ever reads
// lower than it did before: a counter that goes down is a reset to Prometheus.
type counterReader struct {
	t    *testing.T
	reg  *prometheus.Registry
	last map[string]float64
}

func (c *counterReader) value(name string) float64 {
	c.t.Helper()
	v, ok := unlabelledValue(c.t, c.reg, name)
	if !ok {
		c.t.Fatalf("/metrics has no unlabelled %s", name)
	}
	if before := c.last[name]; v < before {
		c.t.Errorf("%s went down from %v to %v", name, before, v)
	}
	c.last[name] = v
	return v
}

// scrape reads every summed counter, as a Prometheus scrape does.
func (c *counterReader) scrape() {
	c.t.Helper()
	for _, name := range []string{"ledbridge_audio_packets_received_total", "ledbridge_audio_packets_lost_total", "ledbridge_webrtc_impostor_offers_total"} {
		c.value(name)
	}
}

// streamedPackets waits until the bridge has more than n of the musician's packets, and returns
// how many the status page counts.
func streamedPackets(t *testing.T, r *rig, id string, n uint64) uint64 {
	t.Helper()
	var packets uint64
	waitFor(t, 20*time.Second, id+"'s audio reached the bridge", func() bool {
		s, ok := r.musicianStatus(id)
		packets = s.Packets
		return ok && s.WebRTC == "connected" && s.Packets > n
	})
	return packets
}

// A musician who joins, plays and leaves between two scrapes is counted all the same: her stream
// is gone by the second scrape, and ledbridge_audio_packets_received_total still holds her
// packets (it used to read 0, as it only added what streams counted between two scrapes that
// both saw them).
func TestMetricsCountAMusicianWhoCameAndWentBetweenScrapes(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Metrics = reg })
	read := &counterReader{t: t, reg: reg, last: map[string]float64{}}
	read.scrape()

	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	packets := streamedPackets(t, r, "ana", 50)
	ana.leave()
	waitFor(t, 10*time.Second, "ana gone", func() bool { _, ok := r.musicianStatus("ana"); return !ok })

	// The peer counts a packet just before it hands it to her stream: at most one in flight.
	if got := read.value("ledbridge_audio_packets_received_total"); got < float64(packets-1) {
		t.Errorf("ledbridge_audio_packets_received_total = %v after ana left, want at least the %d packets the status page showed", got, packets)
	}
	read.scrape()
}

// A musician who leaves and comes back under the same key gets a new record and a new stream; the
// first one's packets stay counted, the second one's are added, and no scrape along the way reads
// lower than the one before, whether it falls while she is there or between the two.
func TestMetricsCountAMusicianReplacedUnderTheSameKey(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) { c.Metrics = reg })
	read := &counterReader{t: t, reg: reg, last: map[string]float64{}}
	read.scrape()

	first := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	streamedPackets(t, r, "ana", 20)
	read.scrape() // her stream seen by a scrape: what it counts after is added at the next
	firstPackets := streamedPackets(t, r, "ana", 60)
	first.leave()
	waitFor(t, 10*time.Second, "the first ana gone", func() bool { _, ok := r.musicianStatus("ana"); return !ok })
	read.scrape()

	second := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	secondPackets := streamedPackets(t, r, "ana", 50)
	second.leave()
	waitFor(t, 10*time.Second, "the second ana gone", func() bool { _, ok := r.musicianStatus("ana"); return !ok })

	// The peer counts a packet just before it hands it to her stream: at most one in flight each.
	if got, want := read.value("ledbridge_audio_packets_received_total"), float64(firstPackets+secondPackets-2); got < want {
		t.Errorf("ledbridge_audio_packets_received_total = %v after both left, want at least %v (%d + %d on the status page)",
			got, want, firstPackets, secondPackets)
	}
	read.scrape()
}
