package audio

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The session's auto mode compares LastAudioArrival with the frame loop's time.Now. Both must be
// monotonic readings: a wall-clock step (NTP correcting a clock that was minutes out, a manual
// date change) between the two would otherwise make audio that stopped look fresh, or fresh audio
// stale, for as long as the step. time.Time.String shows a monotonic reading as "m=±…".
func TestStreamLastAudioArrivalKeepsTheMonotonicReading(t *testing.T) {
	start := time.Now() // carries a monotonic reading
	var offset atomic.Int64
	now := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.LastAudioArrival(); !got.IsZero() {
		t.Fatalf("arrival before any audio = %v, want the zero time", got)
	}
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i * 37)
	}
	for i := range 3 {
		offset.Store(int64(time.Duration(i) * 20 * time.Millisecond))
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 7}, Payload: payload})
	}
	arrived := s.LastAudioArrival()
	if !arrived.Equal(now()) {
		t.Fatalf("arrival %v, want the last packet's time %v", arrived, now())
	}
	if !strings.Contains(arrived.String(), " m=") {
		t.Fatalf("arrival %q has no monotonic reading (the clock's time was %q): comparing it with time.Now uses the wall clock", arrived, now())
	}
	offset.Add(int64(700 * time.Millisecond))
	if d := now().Sub(arrived); d != 700*time.Millisecond {
		t.Fatalf("%v between the arrival and a later clock time, want 700ms", d)
	}
}

// A clock that goes backwards (an injected one; the monotonic clock never does) still yields the
// arrival it reported, never the zero time that means "no audio".
func TestStreamLastAudioArrivalBeforeTheStreamWasMade(t *testing.T) {
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	earlier := t0.Add(-time.Hour)
	clock.Set(earlier)
	s.WriteRTP(&rtp.Packet{Header: rtp.Header{SSRC: 1}, Payload: make([]byte, 160)})
	if got := s.LastAudioArrival(); !got.Equal(earlier) {
		t.Fatalf("arrival %v, want %v", got, earlier)
	}
}

// LastAudioArrival is when the newest delivered audio arrived, not when it was decoded: a
// packet the jitter buffer held for its target delay reports its arrival, so the status
// page's latency (now minus it) includes the hold. (It reported the release time: with a
// ~24 ms target, the hold was left out of the latency.)
func TestStreamLastAudioArrivalIncludesTheJitterHold(t *testing.T) {
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, SampleRate/5)
	send := func(i int, at time.Time) {
		clock.Set(at)
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 1}, Payload: make([]byte, 160)})
		s.ReadPCM(out)
	}
	const last = 200 // on time, after 199 packets alternating on time and 8 ms late
	for i := range last {
		send(i, t0.Add(time.Duration(i)*20*time.Millisecond+time.Duration(i%2)*8*time.Millisecond))
	}
	arrival := t0.Add(last * 20 * time.Millisecond)
	send(last, arrival)
	target := s.Stats().TargetDelay
	if b := s.Stats().BufferedAudio; b != 0 || target < 5*time.Millisecond {
		t.Fatalf("the on-time packet was not held: %d samples decoded, target delay %v", b, target)
	}
	clock.Set(arrival.Add(target))
	if n := s.ReadPCM(out); n < 960 || s.Stats().Packets != last+1 {
		t.Fatalf("the tick after the hold read %d samples, want the held packet's 960 at least", n)
	}
	if got := s.LastAudioArrival(); !got.Equal(arrival) {
		t.Fatalf("LastAudioArrival %v after the packet was held; it arrived %v before its release", got.Sub(t0), got.Sub(arrival))
	}
}
