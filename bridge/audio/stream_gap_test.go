package audio

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ledbridge/ledbridge/bridge/audio/audiotest"
)

// A sender whose packets stop for a second and come back with silence: the gap is longer than
// MaxConceal, so nothing of the note from before it may be played when it ends, neither
// concealment (the first 100 ms of the gap were concealed at its end, the old note replayed just
// as the next started) nor the upsampler's history of it spliced into the first new packet.
// Meanwhile Starved says how long the reader has found nothing.
func TestStreamLongGapReplaysNothingOfTheOldNote(t *testing.T) {
	now := time.Unix(1e9, 0)
	s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tone, quiet := make([]byte, 160), make([]byte, 160)
	for i := range tone {
		tone[i] = audiotest.MuLaw(int16(16000 * math.Sin(2*math.Pi*440*float64(i)/8000)))
		quiet[i] = audiotest.MuLaw(0)
	}
	out := make([]float32, SampleRate)
	send := func(i int, p []byte) {
		now = time.Unix(1e9, 0).Add(time.Duration(i) * 20 * time.Millisecond)
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 1}, Payload: p})
	}
	for i := range 50 {
		send(i, tone)
		if n := s.ReadPCM(out); n > 0 && s.Starved() != 0 {
			t.Fatalf("ReadPCM returned %d samples, yet Starved is %v", n, s.Starved())
		}
	}
	s.ReadPCM(out)
	now = now.Add(time.Second)
	if n := s.ReadPCM(out); n != 0 || s.Starved() < time.Second {
		t.Fatalf("a second after the last packet ReadPCM returned %d samples, Starved %v", n, s.Starved())
	}
	send(100, quiet) // 50 packets lost
	now = now.Add(time.Second)
	n := s.ReadPCM(out)
	if n == 0 {
		t.Fatal("the packet after the gap was not delivered")
	}
	peak := float32(0)
	for _, v := range out[:n] {
		peak = max(peak, float32(math.Abs(float64(v))))
	}
	if st := s.Stats(); st.Concealed != 0 || st.Lost != 50 || n != SampleRate/50 || peak > 1e-3 {
		t.Errorf("after a 1 s gap the stream delivered %d samples peaking at %.4f (concealed %d of %d lost); want the one silent packet's %d",
			n, peak, st.Concealed, st.Lost, SampleRate/50)
	}
}
