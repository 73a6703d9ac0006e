package session

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/wled"
)

// tickRig is a session with four musicians whose streams are fed real RTP and four 300-LED DDP
// strips on loopback sockets, for driving the frame loop's tick directly.
type tickRig struct {
	s         *Session
	musicians []*musician
	payloads  [][]byte
	clockRate uint32
	seq       uint16
	now       time.Time
}

// handTickedSession starts a session for ticking its frame loop by hand: cfg (its room, Realtime
// settings and logger filled in when empty) driving one DDP strip on a loopback socket per
// query ("leds=300", "leds=300&rgbw=1"), and its sound sync sender if cfg has one. It returns
// the session and its strips once all run and the sender has a socket.
func handTickedSession(tb testing.TB, cfg Config, queries ...string) (*Session, []*strip) {
	tb.Helper()
	for _, q := range queries {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { pc.Close() })
		cfg.Devices = append(cfg.Devices, "ddp://"+pc.LocalAddr().String()+"?"+q)
	}
	if cfg.Code == "" {
		cfg.Code, _ = room.ParseCode("TCK234")
	}
	if cfg.Realtime.URL == "" {
		cfg.Realtime = realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { defer func() { done <- struct{}{} }(); _ = s.devices.run(ctx) }()
	syncing := s.loop.soundSync != nil
	if syncing {
		// The sound sync sender, which Run would run beside the ticker.
		go func() { defer func() { done <- struct{}{} }(); _ = s.loop.soundSync.Run(ctx) }()
	}
	tb.Cleanup(func() {
		cancel()
		<-done
		if syncing {
			<-done
		}
	})
	for deadline := time.Now().Add(5 * time.Second); len(s.devices.current()) < len(queries) ||
		(syncing && s.loop.soundSync.Send(wled.SoundSync{}) != nil); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("devices or sound sync did not start")
		}
	}
	return s, s.devices.current()
}

// newTickRig builds the rig. codec is webrtc.MimeTypePCMU (fed a square wave) or
// webrtc.MimeTypeOpus (fed testdata/latency/music_stereo_cbr128.opus, the CPU measurement's
// fixture); soundSyncAddr "" leaves sound sync, and so the analysis of the mix, off.
func newTickRig(tb testing.TB, codec, soundSyncAddr string) *tickRig {
	tb.Helper()
	s, _ := handTickedSession(tb, Config{SoundSyncAddr: soundSyncAddr}, "leds=300", "leds=300", "leds=300", "leds=300")

	r := &tickRig{s: s, now: time.Now()}
	params := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: codec}}
	switch codec {
	case webrtc.MimeTypePCMU:
		params.ClockRate = 8000
		payload := make([]byte, 160)
		for i := range payload {
			payload[i] = byte(0x80 + 40*((i/10)%2)) // a crude square wave in µ-law
		}
		r.payloads = [][]byte{payload}
	case webrtc.MimeTypeOpus:
		params.ClockRate, params.Channels = 48000, 2
		r.payloads = readOggPackets(tb, filepath.Join("..", "..", "testdata", "latency", "music_stereo_cbr128.opus"))
	default:
		tb.Fatalf("no fixture for %s", codec)
	}
	r.clockRate = params.ClockRate
	for i := 0; i < 4; i++ {
		m, err := newMusician(string(rune('a'+i)), room.Meta{Name: "m"}, i, analysis.Config{})
		if err != nil {
			tb.Fatal(err)
		}
		// The streams run on the rig's virtual time, so that packets arrive at the pace the
		// ticks advance, however fast the test runs.
		if _, err := m.attachStream(params, func() time.Time { return r.now }); err != nil {
			tb.Fatal(err)
		}
		s.musicians[m.id] = m
		r.musicians = append(r.musicians, m)
	}
	s.loop.musiciansChanged()
	return r
}

// feed gives every musician its next 20 ms packet (each musician at its own place in the fixture).
func (r *tickRig) feed() {
	for k, m := range r.musicians {
		pkt := rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: r.seq, Timestamp: uint32(r.seq) * r.clockRate / 50, SSRC: 1},
			Payload: r.payloads[(int(r.seq)+7*k)%len(r.payloads)],
		}
		m.stream.Load().WriteRTP(&pkt)
	}
	r.seq++
}

// tick runs one frame-loop tick 1/60 s after the previous one.
func (r *tickRig) tick() {
	r.now = r.now.Add(time.Second / 60)
	r.s.loop.tick(r.now)
}

func readOggPackets(tb testing.TB, path string) [][]byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	pr, err := ogg.NewPacketReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for {
		pkt, _, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, append([]byte(nil), pkt...))
	}
	if len(out) == 0 {
		tb.Fatalf("%s has no packets", path)
	}
	return out
}

// TestTickAllocatesNothing runs the frame loop's tick with four musicians whose streams are fed
// real RTP and four 300-LED strips: once warmed up, a tick must not allocate.
func TestTickAllocatesNothing(t *testing.T) {
	// G.711 streams: a decoder with no hidden allocations.
	r := newTickRig(t, webrtc.MimeTypePCMU, "")
	step := func() {
		r.feed()
		r.tick()
	}
	for i := 0; i < 120; i++ { // warm up: buffers, renderers, the jitter buffer's probation
		step()
	}
	if allocs := testing.AllocsPerRun(200, step); allocs > 0 {
		t.Fatalf("a tick allocates %.1f times", allocs)
	}
}

// BenchmarkTick is the frame loop's work for issue 4's load: four musicians sending Opus
// 128 kbit/s stereo (decode, analysis) and four 300-LED strips (render, submit), per 20 ms of
// audio (one packet per musician, 1.2 ticks). "sound-sync" adds the analysis of the mix for
// WLED's sound sync; "sound-sync-full-mix" analyses the mix with notes too (before SpectrumOnly),
// for comparison. %core is the share of one core the work costs in real time.
func BenchmarkTick(b *testing.B) {
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	for _, c := range []struct {
		name      string
		soundSync string
		fullMix   bool
	}{
		{"no-sound-sync", "", false},
		{"sound-sync", sink.LocalAddr().String(), false},
		{"sound-sync-full-mix", sink.LocalAddr().String(), true},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := newTickRig(b, webrtc.MimeTypeOpus, c.soundSync)
			if c.fullMix {
				full, err := analysis.New(analysis.Config{})
				if err != nil {
					b.Fatal(err)
				}
				r.s.loop.mix = full
			}
			// Five packets (100 ms) per six ticks, as in real time.
			step := func(i int) {
				r.feed()
				r.tick()
				if i%5 == 4 {
					r.tick()
				}
			}
			for i := range 100 {
				step(i)
			}
			b.ReportAllocs()
			i := 0
			start := time.Now()
			for b.Loop() {
				step(i)
				i++
			}
			b.ReportMetric(float64(time.Since(start))/float64(b.N)/20e6*100, "%core")
			for _, m := range r.musicians {
				st := m.stream.Load().Stats()
				if lost := st.Dropped + st.Late + st.Lost + st.Concealed + st.DecodeErrors; lost > 0 || st.Packets == 0 {
					b.Fatalf("musician %s: %d packets, %d not decoded as sent: %+v", m.id, st.Packets, lost, st)
				}
			}
		})
	}
}
