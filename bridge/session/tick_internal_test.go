package session

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// TestTickAllocatesNothing runs the frame loop's tick with four musicians whose streams are fed
// real RTP and four 300-LED strips: once warmed up, a tick must not allocate.
func TestTickAllocatesNothing(t *testing.T) {
	var devices []string
	for i := 0; i < 4; i++ {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		devices = append(devices, "ddp://"+pc.LocalAddr().String()+"?leds=300")
	}
	code, _ := room.ParseCode("TCK234")
	s, err := New(Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"}, Devices: devices, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.devices.run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); len(s.devices.current()) < 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("devices did not start")
		}
	}

	// Four musicians with G.711 streams (a decoder with no hidden allocations) fed a tone.
	var musicians []*musician
	for i := 0; i < 4; i++ {
		m, err := newMusician(string(rune('a'+i)), room.Meta{Name: "m"}, i, analysis.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.attachStream(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}, time.Now); err != nil {
			t.Fatal(err)
		}
		s.musicians[m.id] = m
		musicians = append(musicians, m)
	}
	s.loop.musiciansChanged()
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(0x80 + 40*((i/10)%2)) // a crude square wave in µ-law
	}
	var seq uint16
	feed := func() {
		for _, m := range musicians {
			st := m.stream.Load()
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 1}, Payload: payload}
			st.WriteRTP(&pkt)
		}
		seq++
	}
	now := time.Now()
	step := func() {
		feed()
		now = now.Add(time.Second / 60)
		s.loop.tick(now)
	}
	for i := 0; i < 120; i++ { // warm up: buffers, renderers, the jitter buffer's probation
		step()
	}
	if allocs := testing.AllocsPerRun(200, step); allocs > 0 {
		t.Fatalf("a tick allocates %.1f times", allocs)
	}
}
