package audio

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/thesyncim/gopus"
)

// fakeClock is a settable clock shared between goroutines.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.Set(t)
	return c
}
func (c *fakeClock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// rtpOverUDP sends packets through a real loopback UDP socket pair and hands each one, as
// a peer's read loop would (one reused buffer, one reused rtp.Packet), to deliver.
func rtpOverUDP(t *testing.T, pkts []rtp.Packet, deliver func(*rtp.Packet)) {
	t.Helper()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()

	var wg sync.WaitGroup
	wg.Add(1)
	var received atomic.Int64
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		var pkt rtp.Packet
		for int(received.Load()) < len(pkts) {
			_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := rx.Read(buf)
			if err != nil {
				return
			}
			if err := pkt.Unmarshal(buf[:n]); err != nil {
				continue
			}
			deliver(&pkt)
			received.Add(1)
		}
	}()
	for i := range pkts {
		raw, err := pkts[i].Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Write(raw); err != nil {
			t.Fatal(err)
		}
		// Let the reader keep up (the socket buffer is finite, and deliver may be slow
		// under -race): keep at most 64 packets in flight.
		for deadline := time.Now().Add(5 * time.Second); int(received.Load()) < i-64 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
	}
	wg.Wait()
	if n := int(received.Load()); n != len(pkts) {
		t.Fatalf("received %d of %d packets over loopback UDP", n, len(pkts))
	}
}

func opusRTP(payloads [][]byte, ssrc uint32, firstSeq uint16) []rtp.Packet {
	out := make([]rtp.Packet, len(payloads))
	for i, p := range payloads {
		out[i] = rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: firstSeq + uint16(i), Timestamp: uint32(i * 960), SSRC: ssrc},
			Payload: p,
		}
	}
	return out
}

// arrivalFromTimestamp advances the clock to the packet's nominal arrival (perfect network).
func arrivalFromTimestamp(clock *fakeClock, ts uint32) {
	clock.Set(t0.Add(time.Duration(ts) * time.Second / 48000))
}

func TestStreamDecodesOpusOverUDP(t *testing.T) {
	payloads, head := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: "audio/opus", RingSamples: 3 * SampleRate, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pkts := opusRTP(payloads, 0xabc, 65500) // wraps the sequence number
	// Chrome-style padding-only packets (transport-cc probes) interleaved.
	var withPadding []rtp.Packet
	for i, p := range pkts {
		withPadding = append(withPadding, p)
		if i%10 == 0 {
			withPadding = append(withPadding, rtp.Packet{Header: rtp.Header{
				Version: 2, Padding: true, PaddingSize: 200, PayloadType: 111,
				SequenceNumber: p.SequenceNumber, Timestamp: p.Timestamp, SSRC: 0xabc}})
		}
	}
	rtpOverUDP(t, withPadding, func(p *rtp.Packet) {
		arrivalFromTimestamp(clock, p.Timestamp)
		s.WriteRTP(p)
	})
	got := make([]float32, 3*SampleRate)
	n := s.ReadPCM(got)
	got = got[:n]

	// Reference: the same packets decoded straight to mono.
	want := decodeAll(t, payloads, 1, 0)
	if len(got) != len(want) {
		t.Fatalf("stream produced %d samples, direct decode %d", len(got), len(want))
	}
	if snr := snrDB(want[head.PreSkip:], got[head.PreSkip:]); snr < 100 {
		t.Fatalf("stream output differs from direct decode: SNR %.1f dB", snr)
	}
	st := s.Stats()
	if st.Packets != uint64(len(pkts)) || st.Padding != uint64((len(pkts)+9)/10) || st.Lost != 0 || st.Concealed != 0 || st.DecodeErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Level <= 0.01 || st.LastAudio.IsZero() || st.TargetDelay != 0 {
		t.Fatalf("level %v, last audio %v, target %v", st.Level, st.LastAudio, st.TargetDelay)
	}
	if !s.LastAudioArrival().Equal(clock.Now()) {
		t.Fatalf("last audio %v, clock %v", s.LastAudioArrival(), clock.Now())
	}
	t.Logf("%s: %+v", s, st)
}

func TestStreamLossUsesFECAndKeepsTimeline(t *testing.T) {
	payloads, _ := readOpusPackets(t, "hybrid_fec_mono_32k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, RingSamples: 3 * SampleRate, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pkts := opusRTP(payloads, 1, 0)
	var sent []rtp.Packet
	dropped, droppedBeforeFEC := 0, 0
	for i, p := range pkts {
		if i > 5 && i%7 == 0 && i+1 < len(pkts) {
			dropped++
			if gopus.PacketHasLBRR(pkts[i+1].Payload) {
				droppedBeforeFEC++
			}
			continue
		}
		sent = append(sent, p)
	}
	rtpOverUDP(t, sent, func(p *rtp.Packet) {
		arrivalFromTimestamp(clock, p.Timestamp)
		s.WriteRTP(p)
	})
	out := make([]float32, 3*SampleRate)
	n := s.ReadPCM(out)
	st := s.Stats()
	if n != len(pkts)*960 {
		t.Fatalf("got %d samples for %d packets (%d lost): timeline not kept", n, len(pkts), dropped)
	}
	if st.Lost != uint64(dropped) || st.FECRecovered != uint64(droppedBeforeFEC) || st.FECRecovered+st.Concealed != uint64(dropped) {
		t.Fatalf("dropped %d (%d before FEC packets); stats %+v", dropped, droppedBeforeFEC, st)
	}
	if droppedBeforeFEC == 0 {
		t.Fatal("test never exercised FEC")
	}
	for _, v := range out[:n] {
		if !isFinite(v) || v > 1 || v < -1 {
			t.Fatalf("sample %v", v)
		}
	}
}

func TestStreamReorderedPacketsComeOutInOrder(t *testing.T) {
	payloads, _ := readOpusPackets(t, "silk_wb_mono_16k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, RingSamples: 3 * SampleRate, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pkts := opusRTP(payloads, 1, 0)
	// Arrival jitter of ±4 ms for the first 60 packets (the buffer learns a target delay),
	// then every 10th pair swapped, the earlier one arriving 3 ms after the later one.
	for i := 0; i < len(pkts); i++ {
		nominal := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if i >= 60 && i%10 == 0 && i+1 < len(pkts) {
			clock.Set(nominal.Add(20 * time.Millisecond))
			s.WriteRTP(&pkts[i+1])
			clock.Set(nominal.Add(23 * time.Millisecond))
			s.WriteRTP(&pkts[i])
			i++
			continue
		}
		clock.Set(nominal.Add(time.Duration(i%2) * 4 * time.Millisecond))
		s.WriteRTP(&pkts[i])
	}
	clock.Set(t0.Add(time.Hour))
	out := make([]float32, 3*SampleRate)
	n := s.ReadPCM(out)
	want := decodeAll(t, payloads, 1, 0)
	st := s.Stats()
	if st.Lost != 0 || st.Late != 0 || st.Concealed != 0 {
		t.Fatalf("reordering within the target delay lost packets: %+v", st)
	}
	if n != len(want) || snrDB(want, out[:n]) < 100 {
		t.Fatalf("reordered stream decodes differently (%d vs %d samples)", n, len(want))
	}
}

func TestStreamG722AndG711(t *testing.T) {
	for _, codec := range []string{MimeTypeG722, MimeTypePCMU, MimeTypePCMA} {
		clock := newFakeClock(t0)
		s, err := NewStream(StreamConfig{Codec: codec, RingSamples: SampleRate, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, 160) // 20 ms at 8 kHz RTP clock for all three
		for i := range payload {
			payload[i] = byte(i * 37)
		}
		for i := range 10 {
			if i == 4 {
				continue // one lost packet: concealed
			}
			clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
			s.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 5}, Payload: payload})
		}
		out := make([]float32, SampleRate)
		if n := s.ReadPCM(out); n != 10*960 {
			t.Fatalf("%s: %d samples, want %d", codec, n, 10*960)
		}
		if st := s.Stats(); st.Lost != 1 || st.Concealed != 1 || st.TargetDelay != 0 {
			t.Fatalf("%s: stats %+v", codec, st)
		}
	}
}

func TestStreamSSRCChangeRestarts(t *testing.T) {
	payloads, _ := readOpusPackets(t, "silk_wb_mono_16k.opus")
	clock := newFakeClock(t0)
	s, _ := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	a := opusRTP(payloads[:10], 1, 100)
	b := opusRTP(payloads[10:20], 2, 40000)
	for i := range a {
		clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
		s.WriteRTP(&a[i])
	}
	for i := range b {
		clock.Set(t0.Add(time.Duration(10+i) * 20 * time.Millisecond))
		s.WriteRTP(&b[i])
	}
	st := s.Stats()
	if st.Resyncs != 1 || st.Lost != 0 || st.Late != 0 || uint64(st.BufferedAudio)+st.RingDropped != 20*960 {
		t.Fatalf("stats %+v", st)
	}
}

// TestStreamGarbageRTP throws random payloads, sequence storms, huge jumps and timestamps
// going backwards at a Stream: no panic, output finite and clamped, memory bounded (the
// ring never exceeds its size), errors counted.
func TestStreamGarbageRTP(t *testing.T) {
	good, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var pkt rtp.Packet
	payload := make([]byte, 2000)
	out := make([]float32, 800)
	now := t0
	for i := range 20000 / raceSlowdown {
		switch rng.IntN(8) {
		case 0:
			pkt.SequenceNumber = uint16(rng.Uint32())
		case 1:
			pkt.Timestamp -= uint32(rng.IntN(1 << 20)) // backwards
		case 2:
			pkt.SSRC = uint32(rng.IntN(3))
		default:
			pkt.SequenceNumber++
			pkt.Timestamp += 960
		}
		if rng.IntN(2) == 0 {
			pkt.Payload = good[rng.IntN(len(good))]
		} else {
			pkt.Payload = payload[:rng.IntN(len(payload))]
			for j := range pkt.Payload {
				pkt.Payload[j] = byte(rng.Uint32())
			}
		}
		now = now.Add(time.Duration(rng.IntN(40)-5) * time.Millisecond)
		clock.Set(now)
		s.WriteRTP(&pkt)
		if i%3 == 0 {
			n := s.ReadPCM(out)
			for _, v := range out[:n] {
				if !isFinite(v) || v > 1 || v < -1 {
					t.Fatalf("packet %d: sample %v", i, v)
				}
			}
		}
		if st := s.Stats(); st.BufferedAudio > DefaultRingSamples {
			t.Fatalf("ring holds %d samples", st.BufferedAudio)
		}
	}
	st := s.Stats()
	if st.DecodeErrors == 0 || st.Packets == 0 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("garbage stats: %+v", st)
}

func TestStreamSteadyStateAllocatesNothing(t *testing.T) {
	payloads, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	clock := newFakeClock(t0)
	s, _ := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	pkts := opusRTP(payloads, 9, 0)
	out := make([]float32, 960)
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		p := &pkts[i%len(pkts)]
		p.SequenceNumber = uint16(i)
		p.Timestamp = uint32(i * 960)
		clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
		s.WriteRTP(p)
		s.ReadPCM(out)
		i++
	})
	t.Logf("Stream WriteRTP+ReadPCM (20 ms CELT stereo 128k): %.2f allocs per packet", allocs)
	if allocs > 0.5 {
		t.Fatalf("%.2f allocs per packet", allocs)
	}
}

func TestNewStreamRejectsUnknownCodec(t *testing.T) {
	if _, err := NewStream(StreamConfig{Codec: "video/VP8"}); !errors.Is(err, ErrUnsupportedCodec) {
		t.Fatalf("err = %v", err)
	}
}

func TestRMS(t *testing.T) {
	pcm := make([]float32, 4800)
	for i := range pcm {
		pcm[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/SampleRate))
	}
	if r := rms(pcm); math.Abs(float64(r)-0.5/math.Sqrt2) > 0.01 {
		t.Fatalf("rms %v", r)
	}
}

// TestStreamConcurrentReadLoopAndTickLoop runs the real arrangement: the UDP read
// goroutine calls WriteRTP while another goroutine (the 60 fps loop) calls ReadPCM and
// Stats. Run with -race. The drained audio must equal a direct decode.
func TestStreamConcurrentReadLoopAndTickLoop(t *testing.T) {
	payloads, _ := readOpusPackets(t, "silk_wb_mono_16k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, RingSamples: 3 * SampleRate, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	want := decodeAll(t, payloads, 1, 0)
	var got []float32
	stop := make(chan struct{})
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		tick := make([]float32, 800)
		for {
			n := s.ReadPCM(tick)
			got = append(got, tick[:n]...)
			_ = s.Stats()
			_ = s.LastAudioArrival()
			select {
			case <-stop:
				for n = s.ReadPCM(tick); n > 0; n = s.ReadPCM(tick) {
					got = append(got, tick[:n]...)
				}
				return
			default:
				time.Sleep(100 * time.Microsecond) // stands in for the ticker; no timing is asserted
			}
		}
	}()
	rtpOverUDP(t, opusRTP(payloads, 7, 1000), func(p *rtp.Packet) {
		arrivalFromTimestamp(clock, p.Timestamp)
		s.WriteRTP(p)
	})
	close(stop)
	<-loopDone
	if len(got) != len(want) || snrDB(want, got) < 100 {
		t.Fatalf("drained %d samples concurrently, want %d identical to a direct decode", len(got), len(want))
	}
}

// TestStreamToleratesInvalidBursts: a short burst of undecodable packets is concealed
// (timeline kept); a long one resets the decoder and goes silent; valid packets then
// decode again.
func TestStreamToleratesInvalidBursts(t *testing.T) {
	payloads, _ := readOpusPackets(t, "silk_wb_mono_16k.opus")
	clock := newFakeClock(t0)
	s, _ := NewStream(StreamConfig{Codec: MimeTypeOpus, RingSamples: 3 * SampleRate, Now: clock.Now})
	invalid := []byte{0xff, 0xff, 0xff} // code 3 packet with an impossible frame count
	seq := 0
	send := func(p []byte) {
		clock.Set(t0.Add(time.Duration(seq) * 20 * time.Millisecond))
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(seq), Timestamp: uint32(seq * 960), SSRC: 1}, Payload: p})
		seq++
	}
	for _, p := range payloads[:10] {
		send(p)
	}
	for range 3 {
		send(invalid)
	}
	st := s.Stats()
	if st.DecodeErrors != 3 || st.Concealed != 3 || st.BufferedAudio != 13*960 {
		t.Fatalf("short burst: %+v", st)
	}
	for _, p := range payloads[10:20] {
		send(p)
	}
	for range 8 {
		send(invalid)
	}
	st = s.Stats()
	// 4 concealed, then silence from the 5th on.
	if st.DecodeErrors != 11 || st.Concealed != 7 || st.BufferedAudio != (23+4)*960 {
		t.Fatalf("long burst: %+v", st)
	}
	for _, p := range payloads[20:30] {
		send(p)
	}
	if st = s.Stats(); st.BufferedAudio != (37)*960 || st.DecodeErrors != 11 {
		t.Fatalf("recovery: %+v", st)
	}
}

// FuzzStreamRTP reads the input as a run of RTP packets, each 2 bytes sequence delta,
// 2 bytes timestamp delta, 1 signed byte arrival step in ms (time may go backwards),
// 1 byte payload length, then the payload, and feeds them to an Opus and a G.722 Stream:
// no panic, output finite and clamped, ring bounded.
func FuzzStreamRTP(f *testing.F) {
	pkts, _ := readOpusPackets(f, "hybrid_fec_mono_32k.opus")
	seed := []byte{}
	for i, p := range pkts[:6] {
		if len(p) > 255 || i == 3 {
			continue
		}
		seed = append(seed, 0, 1, 0x03, 0xc0, 20, byte(len(p)))
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 3, 0xfc, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, codec := range []string{MimeTypeOpus, MimeTypeG722} {
			clock := newFakeClock(t0)
			s, err := NewStream(StreamConfig{Codec: codec, RingSamples: 4800, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			var pkt rtp.Packet
			now := t0
			out := make([]float32, 800)
			for in := data; len(in) >= 6; {
				pkt.SequenceNumber += uint16(in[0])<<8 | uint16(in[1])
				pkt.Timestamp += uint32(in[2])<<8 | uint32(in[3]) // signed-ish jumps via wraparound
				now = now.Add(time.Duration(int8(in[4])) * time.Millisecond)
				n := min(int(in[5]), len(in)-6)
				pkt.Payload = in[6 : 6+n]
				in = in[6+n:]
				clock.Set(now)
				s.WriteRTP(&pkt)
				got := s.ReadPCM(out)
				for _, v := range out[:got] {
					if !isFinite(v) || v > 1 || v < -1 {
						t.Fatalf("%s: sample %v", codec, v)
					}
				}
				if st := s.Stats(); st.BufferedAudio > 4800 {
					t.Fatalf("ring holds %d", st.BufferedAudio)
				}
			}
		}
	})
}

// opus120ms builds a 120 ms Opus packet (code 3, six equal 20 ms frames) from the first
// single-frame 20 ms packet of the fixture short enough for six copies to fit an MTU.
func opus120ms(t *testing.T, fixture string) []byte {
	t.Helper()
	payloads, _ := readOpusPackets(t, fixture)
	for _, p := range payloads[20:] {
		if p[0]&3 == 0 && gopus.ParseTOC(p[0]).FrameSize == SampleRate/50 && 2+6*(len(p)-1) <= MaxPayloadSize {
			out := []byte{p[0] | 3, 6} // code 3, CBR, 6 frames
			for range 6 {
				out = append(out, p[1:]...)
			}
			return out
		}
	}
	t.Fatalf("%s: no 20 ms packet small enough", fixture)
	return nil
}

// TestStreamFloodDecodedAtMostBudget: a peer sends 120 ms Opus packets ten times faster
// than real time (timestamps advancing as if real time, so the jitter buffer releases each
// within MaxDelay) over a real UDP socket. Over the second half of the flood, once the burst
// is spent, the stream decodes no more than 1.2× the wall clock time that passed (plus one
// packet); overall no more than that plus the burst. The rest is counted as dropped, and
// at least real time of audio still gets through.
func TestStreamFloodDecodedAtMostBudget(t *testing.T) {
	payload := opus120ms(t, "hybrid_fec_mono_32k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const (
		packets  = 2000
		interval = 12 * ms // 120 ms of audio every 12 ms: ten times real time
	)
	pkts := make([]rtp.Packet, packets)
	for i := range pkts {
		pkts[i] = rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i), Timestamp: uint32(i * 5760), SSRC: 5},
			Payload: payload,
		}
	}
	out := make([]float32, 2*DefaultRingSamples)
	drained := 0
	produced := func() int { st := s.Stats(); return drained + int(st.RingDropped) + st.BufferedAudio }
	samples := func(d time.Duration) int { return int(d * SampleRate / time.Second) }
	budget := func(d time.Duration) int { return samples(d * decodeRateNum / decodeRateDen) }
	var half int
	rtpOverUDP(t, pkts, func(p *rtp.Packet) {
		clock.Set(t0.Add(time.Duration(p.SequenceNumber) * interval))
		s.WriteRTP(p)
		drained += s.ReadPCM(out)
		if p.SequenceNumber == packets/2 {
			half = produced()
		}
	})
	end := time.Duration(packets-1)*interval + DefaultMaxDelay // the last packet released
	clock.Set(t0.Add(end))
	drained += s.ReadPCM(out)
	st := s.Stats()
	total := produced()
	secondHalf := end - time.Duration(packets/2)*interval
	t.Logf("flood of %d × 120 ms in %v: decoded %.2f s (%.2f× real time), %.2f× over the second half; stats %+v",
		packets, end, float64(total)/SampleRate, float64(total)/float64(samples(end)),
		float64(total-half)/float64(samples(secondHalf)), st)
	if limit := budget(secondHalf) + MaxPacketSamples; total-half > limit {
		t.Errorf("decoded %d samples in the second half (%v), budget allows %d", total-half, secondHalf, limit)
	}
	if limit := budget(end) + samples(decodeBurst) + MaxPacketSamples; total > limit {
		t.Errorf("decoded %d samples in %v, budget and burst allow %d", total, end, limit)
	}
	if total < samples(end) {
		t.Errorf("decoded %d samples in %v: less than real time", total, end)
	}
	decoded := uint64(total / MaxPacketSamples)
	if st.OverBudget == 0 || st.Dropped != st.OverBudget || st.OverBudget+decoded != packets || st.DecodeErrors != 0 {
		t.Errorf("%d packets decoded, stats %+v: want the other %d counted as over budget", decoded, st, packets-decoded)
	}
}

// TestStreamBudgetSparesLegitimateSenders: 20 s of a 20 ms Opus stream with in-band FEC
// whose sender clock runs 0.1 % fast (far beyond real crystal drift), with ±5 ms jitter,
// one packet in 25 lost (concealed or FEC-recovered), and two Wi-Fi stalls (300 ms and
// 900 ms) after which the held packets arrive at once: nothing is dropped for the budget.
func TestStreamBudgetSparesLegitimateSenders(t *testing.T) {
	payloads, _ := readOpusPackets(t, "hybrid_fec_mono_32k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 2*DefaultRingSamples)
	sentAt := func(i int) time.Duration { return time.Duration(i) * 20 * ms * 999 / 1000 } // the sender's clock runs 0.1 % fast
	stalls := [][2]int{{300, 315}, {700, 745}}                                             // packets [from, to) arrive together with packet to
	var pkt rtp.Packet
	pkt.SSRC = 8
	for i := range 1000 {
		if i%25 == 24 {
			continue // lost
		}
		arrival := sentAt(i) + time.Duration(i*7%11-5)*ms
		for _, stall := range stalls {
			if i >= stall[0] && i < stall[1] {
				arrival = sentAt(stall[1])
			}
		}
		clock.Set(t0.Add(arrival))
		pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(i*960)
		pkt.Payload = payloads[i%len(payloads)]
		s.WriteRTP(&pkt)
		s.ReadPCM(out)
	}
	st := s.Stats()
	t.Logf("stats %+v", st)
	if st.OverBudget != 0 || st.Dropped != 0 || st.Late != 0 || st.Concealed+st.FECRecovered != st.Lost || st.Lost != 39 {
		t.Fatalf("a legitimate stream lost audio: %+v", st)
	}
}

// TestStreamGarbageFloodIsBudgeted: undecodable packets sent 20 times faster than real
// time cost a decode attempt each, so they are charged too: at most one attempt per 20 ms
// of the budget.
func TestStreamGarbageFloodIsBudgeted(t *testing.T) {
	clock := newFakeClock(t0)
	s, _ := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	const packets = 2000
	var pkt rtp.Packet
	pkt.Payload = []byte{0xff, 0xff, 0xff} // code 3 packet with an impossible frame count
	for i := range packets {
		clock.Set(t0.Add(time.Duration(i) * ms))
		pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(i*960)
		s.WriteRTP(&pkt)
	}
	wall := time.Duration(packets-1)*ms + DefaultMaxDelay // the last packet released
	clock.Set(t0.Add(wall))
	s.ReadPCM(make([]float32, DefaultRingSamples))
	st := s.Stats()
	attempts := st.DecodeErrors
	limit := uint64((wall*decodeRateNum/decodeRateDen+decodeBurst)/(20*ms)) + 1
	t.Logf("%d garbage packets in %v: %d decode attempts (limit %d), stats %+v", packets, wall, attempts, limit, st)
	if attempts == 0 || attempts > limit || attempts+st.OverBudget != packets {
		t.Fatalf("%d decode attempts for %d garbage packets in %v, want at most %d and the rest over budget: %+v", attempts, packets, wall, limit, st)
	}
}

// concealRefuser is a Decoder whose concealment always fails, to check that Stream counts
// what it could not conceal instead of dropping it silently.
type concealRefuser struct{ Decoder }

var errRefused = errors.New("test: concealment refused")

func (concealRefuser) DecodeFEC([]byte, []float32, int) (int, bool, error) {
	return 0, false, errRefused
}
func (concealRefuser) Conceal([]float32, int) (int, error) { return 0, errRefused }

func TestStreamCountsFailedConcealment(t *testing.T) {
	payloads, _ := readOpusPackets(t, "hybrid_fec_mono_32k.opus")
	clock := newFakeClock(t0)
	s, _ := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	s.dec = concealRefuser{s.dec}
	send := func(seq int, payload []byte) {
		clock.Set(t0.Add(time.Duration(seq) * 20 * ms))
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(seq), Timestamp: uint32(seq * 960), SSRC: 1}, Payload: payload})
	}
	send(0, payloads[0])
	send(1, payloads[1])
	send(4, payloads[4])              // 2 and 3 lost: FEC and concealment fail for both
	send(5, []byte{0xff, 0xff, 0xff}) // undecodable: its concealment fails too
	send(6, payloads[6])
	st := s.Stats()
	if st.Lost != 2 || st.DecodeErrors != 1 || st.ConcealErrors != 3 || st.Concealed != 0 || st.FECRecovered != 0 || st.BufferedAudio != 4*960 {
		t.Fatalf("stats %+v: want 2 lost and 1 undecodable packet counted as concealment errors", st)
	}
}

// TestStreamFloodAllocatesNothing: a flood ten times faster than real time, where most
// packets are dropped over budget and the rest decoded, allocates nothing per packet.
func TestStreamFloodAllocatesNothing(t *testing.T) {
	payloads, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	clock := newFakeClock(t0)
	s, _ := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	out := make([]float32, 960)
	var pkt rtp.Packet
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		clock.Set(t0.Add(time.Duration(i) * 2 * ms)) // 20 ms packets every 2 ms
		pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(i*960)
		pkt.Payload = payloads[i%len(payloads)]
		s.WriteRTP(&pkt)
		s.ReadPCM(out)
		i++
	})
	st := s.Stats()
	t.Logf("flood: %.2f allocs per packet, stats %+v", allocs, st)
	if allocs > 0 || st.OverBudget == 0 || st.Packets == st.OverBudget {
		t.Fatalf("%.2f allocs per packet; stats %+v (want some packets decoded, some over budget)", allocs, st)
	}
}

// TestStreamPacketsWithoutAudioAreNotLoss: padding-only packets (transport-cc probes) and a
// stray packet of another payload type each use a sequence number. They must not be counted
// lost and concealed (10 probes invented 200 ms of audio: 5 concealed, 5 "FEC recovered"),
// while a real loss right after a probe is still concealed once.
func TestStreamPacketsWithoutAudioAreNotLoss(t *testing.T) {
	payloads, _ := readOpusPackets(t, "hybrid_fec_mono_32k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, PayloadType: 111, KnownPayloadType: true, RingSamples: 3 * SampleRate, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const realLoss = 76 // its sequence number comes right after a probe
	seq := uint16(0)
	probes := 0
	for i, p := range payloads {
		clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
		if i != realLoss {
			s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(i * 960), SSRC: 1}, Payload: p})
		}
		seq++
		if i%10 == 5 { // a probe: padding only, the next sequence number, the same timestamp
			s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 200, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(i * 960), SSRC: 1}})
			seq++
			probes++
		}
		if i == 50 { // a stray packet of another negotiated type (telephone-event)
			s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 126, SequenceNumber: seq, Timestamp: uint32(i * 960), SSRC: 1}, Payload: []byte{1, 0x80, 0, 160}})
			seq++
		}
	}
	clock.Set(t0.Add(time.Hour))
	out := make([]float32, 3*SampleRate)
	n := s.ReadPCM(out)
	st := s.Stats()
	if n != len(payloads)*960 {
		t.Errorf("%d samples out for %d packets of 960 (one lost and concealed): %d invented", n, len(payloads), n-len(payloads)*960)
	}
	if st.Lost != 1 || st.Concealed+st.FECRecovered != 1 || st.Padding != uint64(probes) || st.OtherPayloadType != 1 {
		t.Errorf("one real loss, %d probes, one stray packet: stats %+v", probes, st)
	}
}

// pcmuNumbered is 20 ms of PCMU whose samples all carry one µ-law code chosen by n, so
// that whichNumbered can tell from a decoded sample which of 100 packets it came from.
func pcmuNumbered(n int) []byte {
	return bytes.Repeat([]byte{0x80 + byte(n%100)}, 160)
}

// whichNumbered is n%100 of the pcmuNumbered packet a settled decoded sample belongs to.
func whichNumbered(v float32) int {
	best := 0
	for k := range 100 {
		if math.Abs(float64(v)-float64(ulawToLinear(0x80+byte(k)))/32768) < math.Abs(float64(v)-float64(ulawToLinear(0x80+byte(best)))/32768) {
			best = k
		}
	}
	return best
}

// TestStreamStallBacklogKeepsNewestAudio: the network stalls, then delivers the held packets
// back to back with the first live one, while the 60 fps loop ticks on (injected clock). The
// tick after the backlog must read the newest audio, ending with the live packet, and none
// of the backlog older than the ring; nothing may be dropped over the decode budget. (A 2 s
// stall used to decode the oldest 1 s of the backlog and drop the rest over budget, live
// packet included: the tick read 100 ms of audio 1 s old.)
func TestStreamStallBacklogKeepsNewestAudio(t *testing.T) {
	const tick = time.Second / 60
	for _, stall := range []int{10, 40, 100, 250} { // packets held: 200 ms to 5 s
		clock := newFakeClock(t0)
		s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, SampleRate)
		resume := 200 + stall // the first live packet after the stall
		send := func(i int) {
			s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 1}, Payload: pcmuNumbered(i)})
		}
		var next time.Duration // the loop's next tick
		checked := false
		for i := range resume + 50 {
			at := time.Duration(i) * 20 * time.Millisecond
			for ; next <= at; next += tick {
				clock.Set(t0.Add(next))
				n := s.ReadPCM(out)
				if n == 0 || next < time.Duration(resume)*20*time.Millisecond || checked {
					continue
				}
				// The first tick after the backlog arrived.
				checked = true
				newest, oldest := whichNumbered(out[n-1]), whichNumbered(out[min(n-1, 480)])
				ringPackets := DefaultRingSamples / 960
				if newest != resume%100 || n > DefaultRingSamples || (resume-oldest)%100 > ringPackets {
					t.Errorf("stall %v: the tick after it read %d samples, from packet %d to %d (mod 100); want the newest %d samples, ending with live packet %d",
						time.Duration(stall)*20*time.Millisecond, n, oldest, newest, DefaultRingSamples, resume%100)
				}
			}
			if i >= 200 && i < resume {
				continue // held by the network
			}
			clock.Set(t0.Add(at))
			if i == resume {
				for k := 200; k < resume; k++ {
					send(k)
				}
			}
			send(i)
		}
		st := s.Stats()
		if !checked || st.OverBudget != 0 || st.Lost != 0 {
			t.Errorf("stall %v: checked %v, stats %+v", time.Duration(stall)*20*time.Millisecond, checked, st)
		}
	}
}

// TestStreamRingHoldsLongestPacket: Opus packets of 120 ms (the longest RTP Opus allows) and
// 60 ms at real-time pace, the loop ticking at 60 fps and draining up to 200 ms a tick as
// the session does. Every sample must reach the loop (the 100 ms ring cut the first 20 ms of
// every 120 ms packet: 17 % of the audio), and the bigger ring must not delay anything: each
// tick leaves the ring empty and has read everything decoded by then.
func TestStreamRingHoldsLongestPacket(t *testing.T) {
	if DefaultRingSamples < MaxPacketSamples+SampleRate/60 {
		t.Errorf("DefaultRingSamples %d holds less than a %d-sample packet and a tick", DefaultRingSamples, MaxPacketSamples)
	}
	payload120 := opus120ms(t, "hybrid_fec_mono_32k.opus")
	payload60 := append([]byte{payload120[0], 3}, payload120[2:2+3*(len(payload120)-2)/6]...) // 3 of its 6 frames
	for _, c := range []struct {
		payload []byte
		samples int
	}{{payload120, MaxPacketSamples}, {payload60, MaxPacketSamples / 2}} {
		clock := newFakeClock(t0)
		s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, SampleRate/5)
		const packets = 50
		pace := time.Duration(c.samples) * time.Second / SampleRate
		read, next := 0, time.Duration(0)
		for i := range packets + 1 {
			at := time.Duration(i) * pace
			for ; next < at; next += time.Second / 60 {
				clock.Set(t0.Add(next))
				read += s.ReadPCM(out)
				if b := s.Stats().BufferedAudio; b != 0 {
					t.Fatalf("%d-sample packets: %d samples left in the ring after a tick", c.samples, b)
				}
			}
			if i < packets {
				clock.Set(t0.Add(at))
				s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i), Timestamp: uint32(i * c.samples), SSRC: 1}, Payload: c.payload})
			}
		}
		st := s.Stats()
		if read != packets*c.samples || st.RingDropped != 0 || st.DecodeErrors != 0 {
			t.Errorf("%d × %d samples sent, %d read; stats %+v", packets, c.samples, read, st)
		}
	}
}

// TestStreamBurstySenderDecodesOnArrival: a sender whose packets arrive in bursts (Wi-Fi power
// save delivers 5 packets every 100 ms, 8 every 160 ms: the first of each burst is over
// MaxDelay late and the rest follow back to back, so the jitter buffer sees each burst as a
// stall's backlog) is in steady state, not after a stall. Packets due on arrival must be
// decoded by WriteRTP, on the peer's read goroutine, as for any sender: holding them for the
// 60 fps loop moved all of 8 musicians' decoding onto it. Only the burst's last packet or two
// may wait (the target delay), and no audio may be skipped as stale. (The stall hold kept 2 995 of
// 3 000 packets of a 5-per-100 ms sender for the loop, and WriteRTP decoded none.)
func TestStreamBurstySenderDecodesOnArrival(t *testing.T) {
	const tick = time.Second / 60
	for _, burst := range []int{5, 8} {
		clock := newFakeClock(t0)
		s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, SampleRate)
		const packets = 1000
		read, onArrival, maxHeld := 0, 0, 0
		var next time.Duration // the loop's next tick
		for i := range packets {
			// The burst arrives when its last packet is sent.
			at := time.Duration((i/burst)*burst+burst-1) * 20 * time.Millisecond
			for ; next < at; next += tick {
				clock.Set(t0.Add(next))
				read += s.ReadPCM(out)
			}
			clock.Set(t0.Add(at))
			before := s.Stats().BufferedAudio
			s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 1}, Payload: pcmuNumbered(i)})
			onArrival += s.Stats().BufferedAudio - before // nothing reads in between: what WriteRTP decoded
			s.mu.Lock()
			maxHeld = max(maxHeld, s.jb.Stats().Buffered)
			s.mu.Unlock()
		}
		clock.Set(t0.Add(time.Duration(packets)*20*time.Millisecond + DefaultMaxDelay))
		read += s.ReadPCM(out)
		st := s.Stats()
		// 8 packets are more than the ring holds: the first burst, before the loop's first
		// tick, overflows it.
		if read+int(st.RingDropped) != packets*960 || st.Stale != 0 || st.Lost != 0 || st.Concealed != 0 || st.Dropped != 0 {
			t.Errorf("bursts of %d: read %d of %d samples; stats %+v", burst, read, packets*960, st)
		}
		// The burst's first packets are due on arrival; the last one or two wait out the
		// target delay (the burst's spread is jitter too).
		if onArrival*4 < read*3 || maxHeld > 2 {
			t.Errorf("bursts of %d: WriteRTP decoded %d of %d samples, want at least 3/4 (the packets due on arrival); up to %d packets held after a write, want at most 2",
				burst, onArrival, read, maxHeld)
		}
		t.Logf("bursts of %d: WriteRTP decoded %d of %d samples, target delay %v", burst, onArrival, read, st.TargetDelay)
	}
}

// TestStreamPaddingAheadDoesNotSilenceAudio: padding-only packets whose sequence numbers run
// ahead of the audio (30 of them, 600 ms' worth) must not make the real packets with those
// numbers count as duplicates and be dropped: every packet is decoded and read, in order, and
// nothing is counted lost, duplicate or concealed. (They were: 30 packets dropped, 600 ms of
// silence, Duplicates=30 and Lost=0.)
func TestStreamPaddingAheadDoesNotSilenceAudio(t *testing.T) {
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, PayloadType: 0, KnownPayloadType: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	packet := func(seq int, payload []byte) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(seq), Timestamp: uint32(seq * 160), SSRC: 7}, Payload: payload}
	}
	out := make([]float32, SampleRate)
	const packets = 200
	var read []int // which packet each read 20 ms came from
	for i := range packets {
		clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
		if i == 50 {
			for k := 51; k <= 80; k++ {
				s.WriteRTP(packet(k, nil)) // padding only, sequence numbers ahead
			}
		}
		s.WriteRTP(packet(i, pcmuNumbered(i)))
		n := s.ReadPCM(out)
		for k := 0; k+960 <= n; k += 960 {
			read = append(read, whichNumbered(out[k+480]))
		}
	}
	st := s.Stats()
	inOrder := len(read) == packets
	for k := 0; inOrder && k < len(read); k++ {
		inOrder = read[k] == k%100
	}
	if !inOrder || st.Duplicates != 0 || st.Lost != 0 || st.Concealed != 0 || st.Padding != 30 {
		t.Errorf("read %d of %d packets' audio (in order: %v); stats %+v", len(read), packets, inOrder, st)
	}
}

// TestStreamMarkEmptyIsNotLoss: the packets the peer's reader does not pass to WriteRTP, yet
// that used a sequence number of the stream (padding-only probes, and a comfort-noise packet
// of a payload type not negotiated, which pion's read refuses), reach the stream through
// MarkEmpty. They are counted, and not declared lost and concealed; MarkEmpty allocates
// nothing.
func TestStreamMarkEmptyIsNotLoss(t *testing.T) {
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, PayloadType: 0, KnownPayloadType: true, RingSamples: 3 * SampleRate, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const packets = 100
	payload := bytes.Repeat([]byte{0x90}, 160)
	seq := uint16(0)
	probes := 0
	for i := range packets {
		clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(i * 160), SSRC: 1}, Payload: payload})
		seq++
		if i%10 == 5 { // a probe: padding only, the next sequence number, the same timestamp
			s.MarkEmpty(&rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 200, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(i * 160), SSRC: 1}})
			seq++
			probes++
		}
		if i == 50 { // comfort noise (RFC 3389), not negotiated
			s.MarkEmpty(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 13, SequenceNumber: seq, Timestamp: uint32(i * 160), SSRC: 1}, Payload: []byte{40}})
			seq++
		}
	}
	clock.Set(t0.Add(time.Hour))
	out := make([]float32, 3*SampleRate)
	n := s.ReadPCM(out)
	st := s.Stats()
	if n != packets*960 {
		t.Errorf("%d samples out for %d packets of 960: %d invented", n, packets, n-packets*960)
	}
	if st.Lost != 0 || st.Concealed != 0 || st.FECRecovered != 0 || st.Padding != uint64(probes) || st.OtherPayloadType != 1 || st.Packets != packets {
		t.Errorf("%d probes, one comfort-noise packet, no loss: stats %+v", probes, st)
	}

	probe := &rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 200, SSRC: 1}}
	if allocs := testing.AllocsPerRun(100, func() { probe.SequenceNumber++; s.MarkEmpty(probe) }); allocs != 0 {
		t.Errorf("MarkEmpty allocates %v times per packet", allocs)
	}
}
