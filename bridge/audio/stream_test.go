package audio

import (
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
	received := 0
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		var pkt rtp.Packet
		for received < len(pkts) {
			_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := rx.Read(buf)
			if err != nil {
				return
			}
			if err := pkt.Unmarshal(buf[:n]); err != nil {
				continue
			}
			deliver(&pkt)
			received++
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
		if i%16 == 15 {
			time.Sleep(time.Millisecond) // let the reader keep up; the socket buffer is finite
		}
	}
	wg.Wait()
	if received != len(pkts) {
		t.Fatalf("received %d of %d packets over loopback UDP", received, len(pkts))
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

func TestStreamDropBacklogKeepsNewest(t *testing.T) {
	clock := newFakeClock(t0)
	s, _ := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: clock.Now})
	// Three 20 ms packets of different constant levels (µ-law codes), decoded back to back.
	for i, code := range []byte{0xff, 0xff, 0x80} { // 0xff = 0, 0x80 = +full scale
		payload := make([]byte, 160)
		for k := range payload {
			payload[k] = code
		}
		clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
		s.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 1}, Payload: payload})
	}
	if s.Buffered() != 3*960 {
		t.Fatalf("buffered %d", s.Buffered())
	}
	if dropped := s.DropBacklog(400); dropped != 3*960-400 {
		t.Fatalf("dropped %d", dropped)
	}
	out := make([]float32, 800)
	n := s.ReadPCM(out)
	if n != 400 || out[n-1] < 0.9 {
		t.Fatalf("after DropBacklog: %d samples, last %v; want the newest (loud) 400", n, out[n-1])
	}
	if st := s.Stats(); st.RingDropped != 3*960-400 || s.DropBacklog(0) != 0 {
		t.Fatalf("stats %+v", st)
	}
}
