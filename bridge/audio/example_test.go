package audio_test

import (
	"fmt"
	"time"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/pion/rtp"
)

// A musician's read goroutine feeds WriteRTP; the 60 fps loop drains ReadPCM and mixes.
func ExampleStream() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := audio.NewStream(audio.StreamConfig{Codec: "audio/PCMU", Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	silence := make([]byte, 160) // 20 ms of µ-law at 8 kHz
	for i := range silence {
		silence[i] = 0xff
	}
	var pkt rtp.Packet // reused, as a read loop would
	for i := range 3 {
		pkt.SequenceNumber, pkt.Timestamp, pkt.Payload = uint16(i), uint32(i*160), silence
		s.WriteRTP(&pkt)
		now = now.Add(20 * time.Millisecond)
	}

	tick := make([]float32, 800) // one 60 fps tick at 48 kHz
	n := s.ReadPCM(tick)
	mixed := make([]float32, 800)
	audio.NewMixer(800).Mix(mixed, []audio.MixInput{{PCM: tick[:n], Gain: 1}})
	fmt.Println(s)
	fmt.Println("samples this tick:", n, "buffered:", s.Stats().BufferedAudio)
	// Output:
	// RTP -> jitter(0s-60ms) -> PCMU(decode 8kHz -> 48kHz) -> ring(7200)
	// samples this tick: 800 buffered: 2080
}
