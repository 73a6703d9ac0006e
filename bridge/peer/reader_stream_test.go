package peer

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/audio"
)

// tickingTrack advances a clock by step before each read of src, as packets arriving.
type tickingTrack struct {
	src  *scriptedTrack
	now  *time.Time
	step time.Duration
}

func (c *tickingTrack) Read(b []byte) (int, interceptor.Attributes, error) {
	*c.now = c.now.Add(c.step)
	return c.src.Read(b)
}

// The production path, pion's reads -> trackReader -> audio.Stream: padding-only probes,
// and a packet of a payload type the answer did not negotiate (pion's read refuses it),
// use sequence numbers of the audio's SSRC. The reader does not pass them to WriteRTP,
// but the stream must hear of them (EmptyMarker): otherwise each leaves a gap that the
// stream counts as lost and conceals with 20 ms of invented audio (review 312: Lost=11,
// Concealed=11, Padding=0, 10 560 samples invented for 100 packets).
func TestTrackReaderTellsTheStreamOfPacketsWithoutAudio(t *testing.T) {
	now := time.Unix(1000, 0)
	st, err := audio.NewStream(audio.StreamConfig{Codec: audio.MimeTypePCMU, PayloadType: 0, KnownPayloadType: true, RingSamples: 10 * audio.SampleRate, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	const audioPackets = 100
	var reads []scriptedRead
	var probe, cn []byte // one of each, for the allocations test
	seq := uint16(0)
	probes, refused := 0, 0
	for i := range audioPackets {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(i * 160), SSRC: 7}, Payload: bytes.Repeat([]byte{0x90}, 160)}
		reads = append(reads, scriptedRead{marshal(t, p), nil})
		seq++
		if i%10 == 5 { // a padding-only probe: the next sequence number, the same timestamp
			p := rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 200, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(i * 160), SSRC: 7}}
			probe = marshal(t, p)
			reads = append(reads, scriptedRead{probe, nil})
			seq++
			probes++
		}
		if i == 50 { // comfort noise (RFC 3389), which the answer did not negotiate
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 13, SequenceNumber: seq, Timestamp: uint32(i * 160), SSRC: 7}, Payload: []byte{40}}
			cn = marshal(t, p)
			reads = append(reads, scriptedRead{cn, fmt.Errorf("%w: payload type 13", webrtc.ErrCodecNotFound)})
			seq++
			refused++
		}
	}
	var rx rxCounters
	r := newTrackReader(&rx, pcmuParams, st)
	r.pause = func() { t.Fatal("paused after a packet") }
	src := &tickingTrack{src: &scriptedTrack{reads: reads}, now: &now, step: 10 * time.Millisecond}
	if err := r.readAll(src, make([]byte, readBufferSize)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour) // everything held is due
	out := make([]float32, 10*audio.SampleRate)
	n := st.ReadPCM(out)
	s := st.Stats()
	var ms MusicianStats
	rx.snapshot(&ms)
	t.Logf("%d probes, %d refused packet: stream Lost=%d Concealed=%d FECRecovered=%d Padding=%d OtherPT=%d; %d samples out for %d packets (%d invented); reader: lost %d, padding-only %d, bad RTP %d",
		probes, refused, s.Lost, s.Concealed, s.FECRecovered, s.Padding, s.OtherPayloadType, n, audioPackets, n-audioPackets*960, ms.PacketsLost, ms.PaddingOnly, ms.BadRTP)
	if n != audioPackets*960 {
		t.Errorf("%d samples out for %d packets of 960: %d invented", n, audioPackets, n-audioPackets*960)
	}
	if s.Lost != 0 || s.Concealed != 0 || s.FECRecovered != 0 {
		t.Errorf("packets without audio taken for losses: Lost=%d Concealed=%d FECRecovered=%d", s.Lost, s.Concealed, s.FECRecovered)
	}
	if s.Packets != audioPackets || s.Padding != uint64(probes) || s.OtherPayloadType != uint64(refused) {
		t.Errorf("stream counted %d packets, %d padding, %d of another payload type; want %d, %d, %d", s.Packets, s.Padding, s.OtherPayloadType, audioPackets, probes, refused)
	}
	if ms.PacketsLost != 0 || ms.PaddingOnly != uint64(probes) || ms.BadRTP != uint64(refused) {
		t.Errorf("reader stats %+v", ms)
	}

	// Telling the stream allocates nothing, for a probe as for a refused packet.
	marked := st.Stats()
	for _, tc := range []struct {
		what string
		b    []byte
		feed func([]byte)
	}{
		{"padding-only packet", probe, func(b []byte) { r.handle(b, now) }},
		{"refused packet", cn, r.refused},
	} {
		if allocs := testing.AllocsPerRun(100, func() {
			seq++
			tc.b[2], tc.b[3] = byte(seq>>8), byte(seq)
			tc.feed(tc.b)
		}); allocs != 0 {
			t.Errorf("a %s told to the stream allocates %v times", tc.what, allocs)
		}
	}
	if s := st.Stats(); s.Padding == marked.Padding || s.OtherPayloadType == marked.OtherPayloadType || s.Packets != marked.Packets {
		t.Errorf("the allocations test did not reach the stream as packets without audio: %+v", s)
	}
}
