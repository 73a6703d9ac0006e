package session

import (
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/status"
)

// droppedAudio reads the audio the bridge received and threw away from /metrics:
// ledbridge_audio_dropped_samples_total and each reason of ledbridge_audio_packets_skipped_total.
type droppedAudio struct {
	samples, stale, overBudget float64
}

func scrapeDroppedAudio(t *testing.T, reg *prometheus.Registry) droppedAudio {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var d droppedAudio
	seen := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "/" + l.GetName() + "=" + l.GetValue()
			}
			switch name {
			case "ledbridge_audio_dropped_samples_total":
				d.samples = m.GetCounter().GetValue()
			case "ledbridge_audio_packets_skipped_total/reason=stale":
				d.stale = m.GetCounter().GetValue()
			case "ledbridge_audio_packets_skipped_total/reason=over_budget":
				d.overBudget = m.GetCounter().GetValue()
			default:
				continue
			}
			seen[name] = true
		}
	}
	if len(seen) != 3 {
		t.Fatalf("/metrics has %v of ledbridge_audio_dropped_samples_total and ledbridge_audio_packets_skipped_total{reason=stale|over_budget}", seen)
	}
	return d
}

// Audio a musician sent that the bridge received and then threw away shows on /metrics, by what
// threw it away: the frame loop not reading her buffer in time (a bridge starved of CPU: review
// 280 saw 11.6 s of 240 s dropped while packetsLost read 0), a stall's backlog older than the
// newest buffer's worth, and a sender past the decode budget. Each is driven here on a real
// stream, and read back from the registry; a musician who leaves takes none of it with her.
func TestMetricsCountAudioDroppedUnheard(t *testing.T) {
	code, _ := room.ParseCode("TCK234")
	reg := prometheus.NewRegistry()
	clock := &stepClock{now: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)}
	s, err := New(Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Clock: clock, Logger: slog.New(slog.DiscardHandler), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	pcmu := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}
	// The session is not Run: no frame loop reads any musician's buffer.
	track := func(id peer.MusicianID) func(n int, every time.Duration) {
		t.Helper()
		sink := s.onTrack(id, pcmu)
		if sink == nil {
			t.Fatalf("no stream for %s's track", id)
		}
		var seq uint16
		// send sends n 20 ms packets, the clock moving on by every after each.
		return func(n int, every time.Duration) {
			for range n {
				seq++
				sink.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 7},
					Payload: make([]byte, 160)})
				clock.work(every)
			}
		}
	}
	stats := func(id peer.MusicianID) (ringDropped, stale, overBudget uint64) {
		t.Helper()
		st := s.musicians[string(id)].stream.Load().Stats()
		t.Logf("%s: %+v", id, st)
		return st.RingDropped, st.Stale, st.OverBudget
	}

	// Ana sends 1 s of audio at its pace, which nobody reads: all but the newest 150 ms is
	// pushed out of her buffer.
	ana := track("ana")
	ana(50, 20*time.Millisecond)
	anaRing, _, _ := stats("ana")
	got := scrapeDroppedAudio(t, reg)
	if anaRing != 50*960-audio.DefaultRingSamples || got.samples != float64(anaRing) || got.stale != 0 || got.overBudget != 0 {
		t.Errorf("after ana's unread second: /metrics %+v, her stream dropped %d samples from its ring", got, anaRing)
	}

	// Bo's packets stop for 2 s, then all arrive at once, and on at their pace again.
	bo := track("bo")
	bo(10, 20*time.Millisecond)
	clock.work(2 * time.Second)
	bo(100, 0)
	bo(10, 20*time.Millisecond)
	boRing, boStale, boOver := stats("bo")
	got = scrapeDroppedAudio(t, reg)
	if boStale == 0 || got.samples != float64(anaRing+boRing) || got.stale != float64(boStale) || got.overBudget != float64(boOver) {
		t.Errorf("after bo's stall: /metrics %+v, ana's and bo's streams dropped %d samples, skipped %d stale and %d over budget",
			got, anaRing+boRing, boStale, boOver)
	}

	// Cy sends 10 s of audio in 2.5 s, evenly: four times real time.
	cy := track("cy")
	cy(500, 5*time.Millisecond)
	cyRing, cyStale, cyOver := stats("cy")
	got = scrapeDroppedAudio(t, reg)
	want := droppedAudio{samples: float64(anaRing + boRing + cyRing), stale: float64(boStale + cyStale), overBudget: float64(boOver + cyOver)}
	if cyOver == 0 || got != want {
		t.Errorf("after cy's flood: /metrics %+v, want the streams' %+v", got, want)
	}

	// /api/status says whose audio it was.
	snap := s.Snapshot()
	for _, w := range []struct {
		id                string
		ring, stale, over uint64
	}{{"ana", anaRing, 0, 0}, {"bo", boRing, boStale, boOver}, {"cy", cyRing, cyStale, cyOver}} {
		i := slices.IndexFunc(snap.Musicians, func(m status.Musician) bool { return m.ID == w.id })
		if i < 0 {
			t.Fatalf("%s is not in the snapshot's musicians", w.id)
		}
		m := snap.Musicians[i]
		wantMS := math.Round(float64(w.ring)/48*10) / 10
		if m.AudioDroppedMS != wantMS || m.PacketsSkipped != w.stale+w.over {
			t.Errorf("%s on /api/status: audioDroppedMs %v, packetsSkipped %d; want %v ms and %d (her stream's)",
				w.id, m.AudioDroppedMS, m.PacketsSkipped, wantMS, w.stale+w.over)
		}
	}

	// All three leave: what their streams dropped stays counted.
	for _, id := range []peer.MusicianID{"ana", "bo", "cy"} {
		s.onPeerState(id, webrtc.PeerConnectionStateClosed)
	}
	if len(s.musicians) != 0 {
		t.Fatalf("%d musicians' records kept after their connections closed", len(s.musicians))
	}
	if got := scrapeDroppedAudio(t, reg); got != want {
		t.Errorf("after all left: /metrics %+v, want %+v as before", got, want)
	}
}
