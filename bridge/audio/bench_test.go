package audio

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkOpusDecodeCELTStereo128k decodes 20 ms CELT fullband stereo packets to stereo and to
// mono output (Stream's choice: one inverse MDCT instead of two): "vbr" is the accuracy fixture
// (VBR, 170 kbit/s on average), "cbr" the CPU measurement's (every packet 320 bytes, 128 kbit/s).
func BenchmarkOpusDecodeCELTStereo128k(b *testing.B) {
	for _, fix := range []struct{ name, file string }{
		{"vbr", "celt_fb_stereo_128k.opus"},
		{"cbr", "../latency/music_stereo_cbr128.opus"},
	} {
		pkts, _ := readOpusPackets(b, fix.file)
		for _, ch := range []int{2, 1} {
			benchmarkOpusDecode(b, fix.name+"/"+map[int]string{1: "mono-out", 2: "stereo-out"}[ch], pkts, ch)
		}
	}
}

// benchmarkOpusDecode decodes pkts in a loop with a ch-channel decoder.
func benchmarkOpusDecode(b *testing.B, name string, pkts [][]byte, ch int) {
	b.Run(name, func(b *testing.B) {
		dec, err := NewDecoder(MimeTypeOpus, ch)
		if err != nil {
			b.Fatal(err)
		}
		pcm := make([]float32, MaxPacketSamples*ch)
		b.ReportAllocs()
		i := 0
		cpu0 := processCPUTime()
		for b.Loop() {
			if _, err := dec.Decode(pkts[i%len(pkts)], pcm); err != nil {
				b.Fatal(err)
			}
			i++
		}
		reportCPU(b, cpu0)
	})
}

// BenchmarkOpusDecodeAfterIdle decodes one packet for each of 4 musicians (mono output, the
// CPU measurement's 128 kbit/s CBR fixture) after the thread has slept for one 60 fps frame, as
// the live loop does, and reports the decode time per packet. Next to the back-to-back figure of
// BenchmarkOpusDecodeCELTStereo128k it shows what a process that wakes 60 times a second pays on
// this machine for starting each burst of work cold (caches, TLB and branch predictors, after
// the vCPU idled). It reports the first packet after the sleep apart from the other three: if
// the cost were the decoder's own state, every position would pay it; if it is the wake-up's,
// the first pays most. It sleeps 16.7 ms per op: run it with -benchtime=300x.
func BenchmarkOpusDecodeAfterIdle(b *testing.B) {
	pkts, _ := readOpusPackets(b, "../latency/music_stereo_cbr128.opus")
	decs := make([]Decoder, 4)
	for i := range decs {
		dec, err := NewDecoder(MimeTypeOpus, 1)
		if err != nil {
			b.Fatal(err)
		}
		decs[i] = dec
	}
	pcm := make([]float32, MaxPacketSamples)
	b.ReportAllocs()
	n := 0
	var first, rest time.Duration
	for b.Loop() {
		b.StopTimer()
		time.Sleep(time.Second / 60)
		b.StartTimer()
		for i, dec := range decs {
			start := time.Now()
			if _, err := dec.Decode(pkts[n%len(pkts)], pcm); err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				first += time.Since(start)
			} else {
				rest += time.Since(start)
			}
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
	b.ReportMetric(float64(first.Nanoseconds())/float64(b.N), "ns/first")
	b.ReportMetric(float64(rest.Nanoseconds())/float64(n-b.N), "ns/later")
}

func BenchmarkG722Decode20ms(b *testing.B) {
	dec, _ := NewDecoder(MimeTypeG722, 1)
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i * 91)
	}
	pcm := make([]float32, MaxPacketSamples)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.Decode(payload, pcm); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJitterPushPop(b *testing.B) {
	j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
	payload := make([]byte, 320)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		j.Push(uint16(i), uint32(i*960), payload, now)
		for {
			if _, ok := j.Pop(now); !ok {
				break
			}
		}
		i++
	}
}

// BenchmarkMixer4x800 mixes 4 musicians for one 60 fps tick (800 samples).
func BenchmarkMixer4x800(b *testing.B) {
	m := NewMixer(800)
	inputs := make([]MixInput, 4)
	for i := range inputs {
		pcm := make([]float32, 800)
		for k := range pcm {
			pcm[k] = float32(k%100) / 100
		}
		inputs[i] = MixInput{PCM: pcm, Gain: 0.5}
	}
	dst := make([]float32, 800)
	b.ReportAllocs()
	for b.Loop() {
		m.Mix(dst, inputs)
	}
}

// BenchmarkStream4Musicians is the whole per-musician path for 4 musicians sending Opus
// 128 kbit/s stereo: per op, each of 4 streams takes one 20 ms RTP packet (jitter buffer,
// decode) and the loop drains it and mixes. %core is the share of one core this costs.
func BenchmarkStream4Musicians(b *testing.B) {
	payloads, _ := readOpusPackets(b, "celt_fb_stereo_128k.opus")
	clock := newFakeClock(t0)
	streams := make([]*Stream, 4)
	for i := range streams {
		s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		streams[i] = s
	}
	m := NewMixer(960)
	bufs := make([][]float32, 4)
	inputs := make([]MixInput, 4)
	for i := range bufs {
		bufs[i] = make([]float32, 960)
	}
	mixed := make([]float32, 960)
	var pkt rtp.Packet
	b.ReportAllocs()
	i := 0
	cpu0 := processCPUTime()
	for b.Loop() {
		clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
		for k, s := range streams {
			pkt.SSRC = uint32(k)
			pkt.SequenceNumber = uint16(i)
			pkt.Timestamp = uint32(i * 960)
			pkt.Payload = payloads[(i+k*7)%len(payloads)]
			s.WriteRTP(&pkt)
			n := s.ReadPCM(bufs[k])
			inputs[k] = MixInput{PCM: bufs[k][:n], Gain: 1}
		}
		m.Mix(mixed, inputs)
		i++
	}
	reportCPU(b, cpu0)
}

// reportCPU reports, for an op that processes 20 ms of audio, the process CPU time per op
// and the share of one core that is in real time ("%core"), next to the wall-time ns/op.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := processCPUTime() - cpu0; cpu > 0 {
		perOp := float64(cpu.Nanoseconds()) / float64(b.N)
		b.ReportMetric(perOp, "cpu-ns/op")
		b.ReportMetric(perOp/20e6*100, "%core")
	}
}

// BenchmarkStreamFloodOverBudget is the cost of one packet of a flood once the stream's
// decode budget is spent (jitter buffer push and release, then dropped undecoded): what a
// peer sending faster than real time costs per packet beyond the 1.2× real time decoded.
func BenchmarkStreamFloodOverBudget(b *testing.B) {
	payloads, _ := readOpusPackets(b, "celt_fb_stereo_128k.opus")
	clock := newFakeClock(t0)
	s, err := NewStream(StreamConfig{Codec: MimeTypeOpus, Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	// Spent for good: the 20 ms per op the clock advances (packets arrive in real time,
	// so each is released at once) could not refill it in years.
	s.budgetRefill, s.budget = t0, -100000*time.Hour
	var pkt rtp.Packet
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clock.Set(t0.Add(time.Duration(i) * 20 * time.Millisecond))
		pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(i*960)
		pkt.Payload = payloads[i%len(payloads)]
		s.WriteRTP(&pkt)
		i++
	}
	if st := s.Stats(); st.OverBudget != uint64(i) || st.BufferedAudio != 0 {
		b.Fatalf("stats %+v: want every packet dropped over budget", st)
	}
}

// BenchmarkStreamStallBacklog is one network stall per op: 40 PCMU packets of 10 ms held, then
// delivered back to back with the first live one, and the loop's next tick reading the newest
// 150 ms of them. "linear" is Stream; "reference" the release path that rescanned the jitter
// buffer's window for every packet it released (release_reference_test.go).
func BenchmarkStreamStallBacklog(b *testing.B) {
	const stall, frame = 40, 80 // packets, samples at 8 kHz
	for _, name := range []string{"linear", "reference"} {
		b.Run(name, func(b *testing.B) {
			clock := newFakeClock(t0)
			s, err := NewStream(StreamConfig{Codec: MimeTypePCMU, Now: clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			ref := &refStream{Stream: s}
			write, read := s.WriteRTP, s.ReadPCM
			if name == "reference" {
				write, read = ref.WriteRTP, ref.ReadPCM
			}
			out := make([]float32, SampleRate/5)
			payload := taggedPCMU(0, frame)
			var pkt rtp.Packet
			pkt.SSRC = 1
			seq := 0
			at := func(seq int) time.Time { return t0.Add(time.Duration(seq) * 10 * time.Millisecond) }
			send := func(seq int) {
				pkt.SequenceNumber, pkt.Timestamp, pkt.Payload = uint16(seq), uint32(seq*frame), payload
				write(&pkt)
			}
			b.ReportAllocs()
			for b.Loop() {
				for range 10 { // live, read every packet
					clock.Set(at(seq))
					send(seq)
					read(out)
					seq++
				}
				clock.Set(at(seq + stall))
				for range stall + 1 {
					send(seq)
					seq++
				}
				read(out)
				ref.released = ref.released[:0]
			}
			if st := s.Stats(); st.Stale == 0 || st.OverBudget != 0 {
				b.Fatalf("stats %+v: want the stalls' backlogs skipped as stale, nothing over budget", st)
			}
		})
	}
}

// BenchmarkJitterDrainBacklog releases a full window (32 packets, all due at once, as when the
// reader comes back after a pause) with, for each packet, the count of due packets behind it: "linear" counts once and
// down (Stream.releaseLocked), "reference" rescans the window per packet (the old Pop).
func BenchmarkJitterDrainBacklog(b *testing.B) {
	for _, name := range []string{"linear", "reference"} {
		b.Run(name, func(b *testing.B) {
			j := NewJitterBuffer(JitterConfig{ClockRate: 48000})
			payload := make([]byte, 160)
			seq := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				at := func(seq int) time.Time { return t0.Add(time.Duration(seq) * 20 * time.Millisecond) }
				for range DefaultJitterSlots {
					j.Push(uint16(seq), uint32(seq*960), payload, at(seq))
					seq++
				}
				now := at(seq).Add(DefaultMaxDelay) // every packet's deadline has passed
				b.StartTimer()
				released := 0
				if name == "linear" {
					newer, counted := 0, false
					for {
						if _, ok := j.Pop(now); !ok {
							break
						}
						if counted {
							newer--
						} else {
							newer, counted = j.due(now), true
						}
						released += newer
					}
				} else {
					for {
						_, newer, ok := refPop(j, now)
						if !ok {
							break
						}
						released += newer
					}
				}
				if released != DefaultJitterSlots*(DefaultJitterSlots-1)/2 {
					b.Fatalf("newer counts sum to %d, want %d", released, DefaultJitterSlots*(DefaultJitterSlots-1)/2)
				}
			}
		})
	}
}
