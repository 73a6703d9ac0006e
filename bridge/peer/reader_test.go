package peer

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

type countSink struct {
	n       int
	lastSeq uint16
	lastLen int
	// MarkEmpty calls, and the last one's sequence number and payload type.
	marked     int
	markedSeq  uint16
	markedType uint8
}

func (c *countSink) WriteRTP(p *rtp.Packet) {
	c.n++
	c.lastSeq = p.SequenceNumber
	c.lastLen = len(p.Payload)
}

func (c *countSink) MarkEmpty(p *rtp.Packet) {
	c.marked++
	c.markedSeq, c.markedType = p.SequenceNumber, p.PayloadType
}

func marshal(t testing.TB, p rtp.Packet) []byte {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// opusParams is the Opus codec as the bridge negotiates it.
var opusParams = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}

func opusPacket(seq uint16, ts uint32, payload []byte) rtp.Packet {
	return rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: ts, SSRC: 42}, Payload: payload}
}

func TestTrackReaderCountsLossPaddingAndGarbage(t *testing.T) {
	var rx rxCounters
	sink := &countSink{}
	r := newTrackReader(&rx, opusParams, sink)
	now := time.Unix(1000, 0)
	payload := []byte{0xfc, 1, 2, 3, 4}
	// 65534, 65535, 0, 2, 3: wraps, and 1 is lost.
	for i, seq := range []uint16{65534, 65535, 0, 2, 3} {
		r.handle(marshal(t, opusPacket(seq, uint32(i)*960, payload)), now.Add(time.Duration(i)*20*time.Millisecond))
	}
	// Chrome's probing packets: padding bit, no payload.
	pad := opusPacket(4, 5*960, nil)
	pad.Padding, pad.PaddingSize = true, 200
	r.handle(marshal(t, pad), now.Add(100*time.Millisecond))
	// Not RTP at all, and RTP whose CSRC count runs past the end.
	r.handle([]byte{0x00, 0x01}, now)
	r.handle([]byte{0x8f, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, now)

	var s MusicianStats
	rx.snapshot(&s)
	if s.PacketsReceived != 6 || s.PacketsLost != 1 || s.PaddingOnly != 1 || s.BadRTP != 2 || s.Bytes != 5*5 {
		t.Fatalf("stats = %+v", s)
	}
	if sink.n != 5 || sink.lastSeq != 3 || sink.lastLen != len(payload) {
		t.Fatalf("sink saw %d packets, last seq %d len %d", sink.n, sink.lastSeq, sink.lastLen)
	}
	// The padding-only packet is not audio, but the sink hears that it used sequence number 4.
	if sink.marked != 1 || sink.markedSeq != 4 {
		t.Fatalf("sink told of %d packets without audio, last seq %d; want 1, seq 4", sink.marked, sink.markedSeq)
	}
	if s.Jitter != 0 {
		t.Errorf("jitter %v for perfectly paced packets", s.Jitter)
	}
}

func TestTrackReaderJitter(t *testing.T) {
	var rx rxCounters
	r := newTrackReader(&rx, opusParams, nil)
	now := time.Unix(1000, 0)
	// Every other packet arrives 10 ms late: |D| alternates 480 clock units.
	for i := range 200 {
		late := time.Duration(i%2) * 10 * time.Millisecond
		r.handle(marshal(t, opusPacket(uint16(i), uint32(i)*960, []byte{1})), now.Add(time.Duration(i)*20*time.Millisecond+late))
	}
	var s MusicianStats
	rx.snapshot(&s)
	// J converges to |D| = 10 ms.
	if s.Jitter < 9*time.Millisecond || s.Jitter > 11*time.Millisecond {
		t.Fatalf("jitter = %v, want about 10 ms", s.Jitter)
	}
}

// The per-packet path allocates nothing (STYLE §8), padding-only packets told to the sink
// included.
func TestTrackReaderHandleAllocatesNothing(t *testing.T) {
	var rx rxCounters
	sink := &countSink{}
	r := newTrackReader(&rx, opusParams, sink)
	p := opusPacket(1, 960, make([]byte, 120))
	if err := p.SetExtension(1, []byte{0x90}); err != nil { // audio level, as Chrome sends it
		t.Fatal(err)
	}
	buf := marshal(t, p)
	pad := opusPacket(1, 960, nil)
	pad.Padding, pad.PaddingSize = true, 200
	padBuf := marshal(t, pad)
	now := time.Now()
	seq := uint16(0)
	allocs := testing.AllocsPerRun(1000, func() {
		for _, b := range [][]byte{buf, padBuf} {
			seq++
			b[2], b[3] = byte(seq>>8), byte(seq)
			r.handle(b, now)
		}
	})
	if allocs != 0 {
		t.Fatalf("handle allocates %v times per pair of packets", allocs)
	}
	if sink.marked == 0 {
		t.Fatal("padding-only packets not told to the sink")
	}
}

func BenchmarkTrackReaderHandle(b *testing.B) {
	var rx rxCounters
	r := newTrackReader(&rx, opusParams, &countSink{})
	p := opusPacket(1, 960, make([]byte, 120))
	if err := p.SetExtension(1, []byte{0x90}); err != nil {
		b.Fatal(err)
	}
	buf := marshal(b, p)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf[2], buf[3] = byte(i>>8), byte(i)
		r.handle(buf, now)
	}
}

// FuzzTrackReader: no byte string panics the reader, and every input is
// counted exactly once as a packet or as bad RTP; each packet reaches the sink once,
// as audio (WriteRTP) or as a padding-only packet (MarkEmpty).
func FuzzTrackReader(f *testing.F) {
	p := opusPacket(7, 960, []byte{1, 2, 3})
	b, _ := p.Marshal()
	f.Add(b)
	p.Padding, p.PaddingSize, p.Payload = true, 3, nil
	b, _ = p.Marshal()
	f.Add(b)
	f.Add([]byte{0x90, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var rx rxCounters
		sink := &countSink{}
		r := newTrackReader(&rx, opusParams, sink)
		r.handle(data, time.Unix(0, 0))
		r.handle(data, time.Unix(1, 0))
		var s MusicianStats
		rx.snapshot(&s)
		if s.PacketsReceived+s.BadRTP != 2 || uint64(sink.n)+s.PaddingOnly != s.PacketsReceived || uint64(sink.marked) != s.PaddingOnly {
			t.Fatalf("stats %+v, sink %d, marked %d", s, sink.n, sink.marked)
		}
	})
}
