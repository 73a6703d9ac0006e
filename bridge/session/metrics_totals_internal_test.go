package session

import (
	"log/slog"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// A musician's tracks each get a new stream, which replaces her last one (a new track after a
// reconnect or a renegotiation), and her record goes when her connection closes: every packet any
// of her streams received is in ledbridge_audio_packets_received_total, whether a scrape saw the
// stream or not, and the counter never reads lower than before.
func TestMetricsCountEveryStreamOfAMusician(t *testing.T) {
	code, _ := room.ParseCode("TCK234")
	reg := prometheus.NewRegistry()
	s, err := New(Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Logger: slog.New(slog.DiscardHandler), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	pcmu := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}
	track := func() peer.RTPSink {
		t.Helper()
		sink := s.onTrack("ana", pcmu) // her first track makes her record (provisional: no Presence here)
		if sink == nil {
			t.Fatal("no stream for ana's track")
		}
		return sink
	}
	var seq uint16
	send := func(sink peer.RTPSink, n int) {
		for range n {
			seq++
			sink.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 7},
				Payload: make([]byte, 160)})
		}
	}
	var last float64
	scrape := func(want float64) {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() != "ledbridge_audio_packets_received_total" {
				continue
			}
			got := f.GetMetric()[0].GetCounter().GetValue()
			if got < last {
				t.Errorf("ledbridge_audio_packets_received_total went down from %v to %v", last, got)
			}
			last = got
			if got != want {
				t.Errorf("ledbridge_audio_packets_received_total = %v, want %v", got, want)
			}
			return
		}
		t.Fatal("/metrics has no ledbridge_audio_packets_received_total")
	}

	first := track()
	send(first, 30)
	scrape(30)
	send(first, 10)
	second := track() // replaces the first, which a scrape saw
	send(second, 5)
	scrape(45)
	send(second, 3)
	third := track() // replaces the second
	send(third, 7)
	fourth := track() // replaces the third, which no scrape saw
	send(fourth, 2)
	s.onPeerState("ana", webrtc.PeerConnectionStateClosed) // her record goes, with the fourth
	if _, ok := s.musicians["ana"]; ok {
		t.Fatal("ana's record kept after her connection closed")
	}
	scrape(57)
	scrape(57)
}
