package audio

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A sender's RTP timestamps jump forward by 300 ms or 900 ms with no sequence gap while its
// packets keep their pace: that is no jitter, and the target delay must stay where it was. Read
// as jitter (the transit drops by the jump), the jump raised the target to up to 60 ms for
// 0.5 to 0.9 s of live audio. (The estimate still creeps a little as it settles on the arrival
// jitter: 1 ms of slack.)
func TestStreamForwardTimestampJumpAddsNoDelay(t *testing.T) {
	for _, jump := range []time.Duration{300 * time.Millisecond, 900 * time.Millisecond} {
		t0 := time.Unix(1e9, 0)
		now := t0
		s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, PayloadType: 0, KnownPayloadType: true, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, 160)
		pcm := make([]float32, SampleRate)
		ts := uint32(1000)
		var before, after time.Duration
		for i := range 400 {
			at := time.Duration(i) * 20 * time.Millisecond
			if i == 200 {
				ts += uint32(jump * 8000 / time.Second)
			}
			now = t0.Add(at + 2*time.Millisecond + time.Duration(i%3)*time.Millisecond) // a little jitter
			s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: ts, SSRC: 1}, Payload: payload})
			ts += 160
			now = t0.Add(at + 10*time.Millisecond)
			s.ReadPCM(pcm)
			if target := s.Stats().TargetDelay; i < 200 {
				before = max(before, target)
			} else {
				after = max(after, target)
			}
		}
		st := s.Stats()
		if after > before+time.Millisecond || st.Late != 0 || st.Lost != 0 {
			t.Errorf("jump %v: target delay up to %v after it, %v before; late %d, lost %d", jump, after, before, st.Late, st.Lost)
		}
	}
}
