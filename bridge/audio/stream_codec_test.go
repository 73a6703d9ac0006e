package audio

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Payload types as Chrome offers them (field notes): Opus 111, PCMU 0, CN 13.
const (
	ptOpus = 111
	ptPCMU = 0
	ptCN   = 13
)

// pcmuTone is n 20 ms PCMU payloads of a sine at freq Hz and amplitude amp (0.5 is −6 dBFS).
func pcmuTone(n int, freq, amp float64) [][]byte {
	out := make([][]byte, n)
	k := 0
	for i := range out {
		out[i] = make([]byte, 160)
		for j := range out[i] {
			out[i][j] = linearToG711(int16(amp*32767*math.Sin(2*math.Pi*freq*float64(k)/8000)), false)
			k++
		}
	}
	return out
}

// A sender that switches from Opus to PCMU mid-stream, under one SSRC with one sequence, as
// Chrome does after setParameters with encodings[].codec: the PCMU packets that arrive
// before the switch is confirmed are not fed to the Opus decoder, and once SwitchCodec
// follows, what comes out is the PCMU tone, 440 Hz at −6 dBFS.
func TestStreamFollowsACodecSwitch(t *testing.T) {
	opus, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	opus = opus[:50]
	tone := pcmuTone(100, 440, 0.5)
	const confirmAfter = 3 // the peer's reader confirms a switch after this many packets

	var pkts []rtp.Packet
	seq, ts := uint16(65530), uint32(0) // the sequence wraps during the Opus part
	for _, p := range opus {
		pkts = append(pkts, rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptOpus, SequenceNumber: seq, Timestamp: ts, SSRC: 7}, Payload: p})
		seq, ts = seq+1, ts+960
	}
	ts = 12345 // the new codec's clock: nothing in common with Opus's
	for _, p := range tone {
		pkts = append(pkts, rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptPCMU, SequenceNumber: seq, Timestamp: ts, SSRC: 7}, Payload: p})
		seq, ts = seq+1, ts+160
	}

	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, PayloadType: ptOpus, KnownPayloadType: true, RingSamples: 3 * SampleRate, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 3*SampleRate)
	var opusOut, pcmuOut []float32
	at, pcmuSeen := t0, 0
	rtpOverUDP(t, pkts, func(p *rtp.Packet) {
		clock.Set(at)
		at = at.Add(20 * time.Millisecond)
		if p.PayloadType == ptPCMU {
			if pcmuSeen++; pcmuSeen == confirmAfter {
				if err := s.SwitchCodec(MimeTypePCMU, 8000, ptPCMU); err != nil {
					t.Errorf("SwitchCodec: %v", err)
				}
			}
		}
		s.WriteRTP(p)
		n := s.ReadPCM(out)
		if pcmuSeen == 0 {
			opusOut = append(opusOut, out[:n]...)
		} else {
			pcmuOut = append(pcmuOut, out[:n]...)
		}
	})

	st := s.Stats()
	t.Logf("%s: %+v", s, st)
	if len(opusOut) != len(opus)*960 {
		t.Fatalf("Opus part: %d samples, want %d", len(opusOut), len(opus)*960)
	}
	if want := (len(tone) - confirmAfter + 1) * 960; len(pcmuOut) != want {
		t.Fatalf("PCMU part: %d samples, want %d (every packet from the confirming one on)", len(pcmuOut), want)
	}
	if st.DecodeErrors != 0 || st.Concealed != 0 || st.Lost != 0 {
		t.Fatalf("PCMU packets reached the Opus decoder, or the switch looked like loss: %+v", st)
	}
	if st.OtherPayloadType != confirmAfter-1 || st.CodecSwitches != 1 || st.Codec != MimeTypePCMU || s.Codec() != MimeTypePCMU {
		t.Fatalf("other payload type %d (want %d), switches %d, codec %q/%q", st.OtherPayloadType, confirmAfter-1, st.CodecSwitches, st.Codec, s.Codec())
	}
	if st.Packets != uint64(len(opus)+len(tone)-confirmAfter+1) {
		t.Fatalf("packets %d", st.Packets)
	}
	// Past the upsampler's start-up transient (100 ms), the output is the tone itself.
	checkSine(t, "PCMU after the switch", pcmuOut[4800:], 440, 0.5)
}

// A single packet of another payload type (comfort noise, a stray packet of another
// negotiated codec) is not decoded and changes nothing: the codec stays, the decoder sees
// only Opus, and the stray's sequence number is not taken for a lost packet: nothing is
// concealed for it (it carried no audio of this codec to stand in for).
func TestStreamIgnoresAStrayPayloadType(t *testing.T) {
	opus, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	opus = opus[:60]
	pkts := opusRTP(opus, 9, 100)
	pkts[20].PayloadType = ptPCMU
	pkts[20].Payload = pcmuTone(1, 440, 0.5)[0]
	pkts[40].PayloadType = ptCN
	pkts[40].Payload = []byte{0x40}

	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, PayloadType: ptOpus, KnownPayloadType: true, RingSamples: 3 * SampleRate, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rtpOverUDP(t, pkts, func(p *rtp.Packet) {
		arrivalFromTimestamp(clock, p.Timestamp)
		s.WriteRTP(p)
	})
	clock.Set(clock.Now().Add(DefaultMaxDelay))
	got := make([]float32, 3*SampleRate)
	got = got[:s.ReadPCM(got)]

	st := s.Stats()
	t.Logf("%s: %+v", s, st)
	if st.OtherPayloadType != 2 || st.DecodeErrors != 0 || st.CodecSwitches != 0 || s.Codec() != MimeTypeOpus {
		t.Fatalf("stray packets changed the stream: %+v", st)
	}
	if st.Lost != 0 || st.Concealed+st.FECRecovered != 0 || len(got) != (len(opus)-2)*960 {
		t.Fatalf("the strays' places were taken for losses: %d samples, %+v", len(got), st)
	}
	// Up to the first stray, the output is exactly the direct decode.
	want := decodeAll(t, opus[:20], 1, 0)
	if snr := snrDB(want, got[:len(want)]); snr < 100 {
		t.Fatalf("output before the stray differs from a direct decode: SNR %.1f dB", snr)
	}
}

// Switching back and forth costs one decoder per codec, made on the first switch to it:
// after that, switches and the packets between them allocate nothing.
func TestStreamCodecSwitchesAllocateNothingOnceEachCodecWasSeen(t *testing.T) {
	opus, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	tone := pcmuTone(1, 440, 0.5)[0]
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, PayloadType: ptOpus, KnownPayloadType: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, DefaultRingSamples)
	var seq uint16
	var ts uint32
	at := t0
	step := func(codec string, clockRate uint32, pt uint8, payload []byte) {
		if err := s.SwitchCodec(codec, clockRate, pt); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			seq++
			ts += clockRate / 50
			at = at.Add(20 * time.Millisecond)
			clock.Set(at)
			s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 1}, Payload: payload})
			s.ReadPCM(pcm)
		}
	}
	round := func() {
		step(MimeTypePCMU, 8000, ptPCMU, tone)
		step(MimeTypeOpus, 48000, ptOpus, opus[int(seq)%len(opus)])
	}
	round() // makes the PCMU decoder
	if allocs := testing.AllocsPerRun(50, round); allocs != 0 {
		t.Fatalf("a round of switches allocates %v times", allocs)
	}
	st := s.Stats()
	// 52 rounds: the first, AllocsPerRun's warm-up and its 50 runs.
	if st.CodecSwitches != 2*52 || st.DecodeErrors != 0 || st.Dropped != 0 || st.Packets != 3*2*52 {
		t.Fatalf("stats %+v", st)
	}
}

// A switch keeps the decode budget: a peer sending faster than real time cannot buy a fresh
// second of decoding by switching codec.
func TestStreamCodecSwitchKeepsTheDecodeBudget(t *testing.T) {
	opus, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	clock := newFakeClock(t0) // never advances: every packet arrives at the same instant
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, PayloadType: ptOpus, KnownPayloadType: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var seq uint16
	send := func(pt uint8, payload []byte, ts uint32) {
		seq++
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 1}, Payload: payload})
	}
	for i := 0; s.Stats().OverBudget == 0; i++ {
		if i > 1000 {
			t.Fatal("a second of Opus at one instant was never over budget")
		}
		send(ptOpus, opus[i%len(opus)], uint32(i*960))
	}
	pcm := make([]float32, DefaultRingSamples)
	s.ReadPCM(pcm) // what was decoded before the switch
	if err := s.SwitchCodec(MimeTypePCMU, 8000, ptPCMU); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	tone := pcmuTone(1, 440, 0.5)[0]
	for i := range 10 {
		send(ptPCMU, tone, uint32(i*160))
	}
	after := s.Stats()
	if n := s.ReadPCM(pcm); n != 0 || after.OverBudget == before.OverBudget || after.Packets != before.Packets+10 {
		t.Fatalf("after the switch, %d samples decoded at the same instant, %d packets over budget (%+v)", n, after.OverBudget-before.OverBudget, after)
	}
}

// A bad packet just after a switch is concealed at the new codec's length, not the old codec's:
// one-byte PCMU packets (6 samples) left a length that Opus cannot conceal (it conceals whole
// 2.5 ms frames), so the first bad Opus packets were dropped from the timeline.
func TestStreamConcealsAtTheNewCodecsLengthAfterASwitch(t *testing.T) {
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, PayloadType: ptPCMU, KnownPayloadType: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var seq uint16
	var ts uint32
	pcm := make([]float32, DefaultRingSamples)
	send := func(pt uint8, payload []byte, step uint32) {
		seq++
		ts += step
		clock.Set(clock.Now().Add(20 * time.Millisecond))
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 1}, Payload: payload})
		s.ReadPCM(pcm)
	}
	for range 10 {
		send(ptPCMU, []byte{0x7f}, 1)
	}
	if err := s.SwitchCodec(MimeTypeOpus, 48000, ptOpus); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	// Code 3 with a frame count of 63 and no frames: every Opus decoder refuses it.
	send(ptOpus, []byte{0x03, 0xff}, 960)
	send(ptOpus, []byte{0x03, 0xff}, 960)
	st := s.Stats()
	if st.DecodeErrors-before.DecodeErrors != 2 || st.Concealed-before.Concealed != 2 || st.ConcealErrors != 0 {
		t.Fatalf("two bad Opus packets after a switch from one-byte PCMU: %d decode errors, %d concealed, %d conceal errors (want 2, 2, 0)",
			st.DecodeErrors-before.DecodeErrors, st.Concealed-before.Concealed, st.ConcealErrors)
	}
}

func TestStreamRefusesASwitchToAnUnsupportedCodec(t *testing.T) {
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, PayloadType: ptOpus, KnownPayloadType: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, codec := range []string{"audio/red", "audio/telephone-event", "video/VP8", ""} {
		if err := s.SwitchCodec(codec, 48000, 63); !errors.Is(err, ErrUnsupportedCodec) {
			t.Fatalf("SwitchCodec(%q) = %v, want ErrUnsupportedCodec", codec, err)
		}
	}
	// Case-insensitive like NewDecoder; a switch to the codec decoded already changes nothing.
	if err := s.SwitchCodec("AUDIO/OPUS", 0, ptOpus); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Codec != MimeTypeOpus || st.CodecSwitches != 0 {
		t.Fatalf("stats after refused switches: %+v", st)
	}
}

// SetClockRate restarts the buffer on the new clock: 20 ms packets at 8 kHz after 20 ms
// packets at 48 kHz are neither jitter nor held back.
func TestJitterSetClockRateRestartsOnTheNewClock(t *testing.T) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	at := t0
	for i := range 50 {
		j.Push(uint16(i), uint32(i*960), []byte{1}, at)
		popAll(j, at)
		at = at.Add(20 * time.Millisecond)
	}
	j.SetClockRate(8000)
	for i := range 50 {
		if r := j.Push(uint16(50+i), 999+uint32(i*160), []byte{2}, at); r != PushAccepted {
			t.Fatalf("packet %d: %v", i, r)
		}
		if got := popAll(j, at); len(got) != 1 || got[0].Lost != 0 {
			t.Fatalf("packet %d not released on arrival: %+v", i, got)
		}
		at = at.Add(20 * time.Millisecond)
	}
	if st := j.Stats(); st.Jitter != 0 || st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
}
