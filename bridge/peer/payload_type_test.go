package peer

import (
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/audio/audiotest"
	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
)

// oncePT rewrites the payload type of one packet, the first sent after arm, and records
// its sequence number: a stray packet that surely travels on a connected PeerConnection.
type oncePT struct {
	pt    uint8
	armed atomic.Bool
	seq   atomic.Int32 // -1 until rewritten
}

func newOncePT(pt uint8) *oncePT {
	o := &oncePT{pt: pt}
	o.seq.Store(-1)
	return o
}

func (o *oncePT) rewrite(_ uint32, seq uint16, pt uint8) uint8 {
	if o.armed.CompareAndSwap(true, false) {
		o.seq.Store(int32(seq))
		return o.pt
	}
	return pt
}

// Packets whose payload type the bridge's answer did not negotiate (telephone-event 126,
// comfort noise 13) make pion's Read fail for that packet alone: they are counted, and the
// musician's audio goes on on the same track and sink.
func TestUnknownPayloadTypeDoesNotEndTheAudio(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	dtmf, cn := newOncePT(126), newOncePT(13)
	newTestMusician(t, r, "ana", musicianOpts{offerFirst: true, rewritePT: func(n uint32, seq uint16, pt uint8) uint8 {
		return cn.rewrite(n, seq, dtmf.rewrite(n, seq, pt))
	}})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's first packets", func() bool { return s.packets("ana") > 10 })
	dtmf.armed.Store(true)
	waitFor(t, "the telephone-event packet sent", func() bool { return dtmf.seq.Load() >= 0 })
	cn.armed.Store(true)
	waitFor(t, "the comfort-noise packet sent", func() bool { return cn.seq.Load() >= 0 })
	last := cn.seq.Load()
	waitFor(t, "ana's audio 25 packets past the refused ones", func() bool {
		rs := s.get("ana")
		return len(rs) > 0 && int32(rs[len(rs)-1].lastSeq.Load()) > last+25
	})
	rs := s.get("ana")
	if len(rs) != 1 || rs[0].closed.Load() != 0 {
		t.Fatalf("%d sinks, the first closed %d times: the track was ended", len(rs), rs[0].closed.Load())
	}
	st, _ := musicianStats(m, "ana")
	if st.BadRTP != 2 || st.ConnectionState != webrtc.PeerConnectionStateConnected || st.Codec != webrtc.MimeTypeOpus {
		t.Fatalf("stats %+v", st)
	}
}

// opusFixture is the packets of testdata/opus/name.
func opusFixture(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "opus", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ogg.NewPacketReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		p, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), p...))
	}
}

// streamSinks makes the bridge's OnTrack build an audio.Stream per track, as the session
// does, and hands each to the test.
func streamSinks(t *testing.T, cfg *Config) <-chan *audio.Stream {
	streams := make(chan *audio.Stream, 8)
	cfg.OnTrack = func(_ MusicianID, c webrtc.RTPCodecParameters) RTPSink {
		st, err := audio.NewStream(audio.StreamConfig{Codec: c.MimeType, ClockRate: c.ClockRate, PayloadType: uint8(c.PayloadType), KnownPayloadType: true, RingSamples: 2 * audio.SampleRate})
		if err != nil {
			t.Errorf("NewStream(%s): %v", c.MimeType, err)
			return nil
		}
		streams <- st
		return st
	}
	return streams
}

// decodingRoom is a room whose Manager's sinks decode (streamSinks), and the a3 Opus fixture's
// packets for a musician to send.
func decodingRoom(t *testing.T) (a3 [][]byte, r *testRoom, m *Manager, streams <-chan *audio.Stream) {
	t.Helper()
	requireLoopback(t)
	a3 = opusFixture(t, "a3_220hz.opus")
	r = newTestRoom(t)
	cfg := bridgeConfig(t, r, &sinks{})
	streams = streamSinks(t, &cfg)
	return a3, r, startManager(t, cfg, r), streams
}

// nextStream waits for the next stream streamSinks hands over.
func nextStream(t *testing.T, what string, streams <-chan *audio.Stream) *audio.Stream {
	t.Helper()
	var st *audio.Stream
	waitFor(t, what, func() bool {
		select {
		case st = <-streams:
			return true
		default:
			return false
		}
	})
	return st
}

// A musician whose browser switches from Opus to PCMU mid-stream, without renegotiating
// (Chrome's setParameters with encodings[].codec), under the same SSRC and sequence: the
// bridge's stream follows it once the run of PCMU packets confirms it, never feeds PCMU
// to the Opus decoder, and what comes out is the PCMU tone, 440 Hz at −6 dBFS.
func TestCodecSwitchMidStreamIsDecodedAsTheNewCodec(t *testing.T) {
	opus, r, m, streams := decodingRoom(t)

	var switchNow atomic.Bool
	var pcmuFrom atomic.Int32 // the first PCMU sequence number, once chosen
	pcmuFrom.Store(-1)
	isPCMU := func(seq uint16) bool { f := pcmuFrom.Load(); return f >= 0 && int32(seq) >= f }
	tone := make([]byte, 160)
	newTestMusician(t, r, "ana", musicianOpts{
		offerFirst: true,
		media: func(seq uint16) ([]byte, uint32) {
			if switchNow.Load() && pcmuFrom.Load() < 0 {
				pcmuFrom.Store(int32(seq))
			}
			if !isPCMU(seq) {
				return opus[int(seq)%len(opus)], 960
			}
			k := (int(seq) - int(pcmuFrom.Load())) * len(tone)
			for i := range tone {
				tone[i] = audiotest.MuLaw(int16(0.5 * 32767 * math.Sin(2*math.Pi*440*float64(k+i)/8000)))
			}
			return tone, 160
		},
		rewritePT: func(_ uint32, seq uint16, pt uint8) uint8 {
			if isPCMU(seq) {
				return 0 // PCMU, negotiated
			}
			return pt
		},
	})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	st := nextStream(t, "ana's audio stream", streams)
	pcm := make([]float32, audio.SampleRate)
	waitFor(t, "half a second of Opus decoded", func() bool {
		st.ReadPCM(pcm)
		return st.Stats().Packets > 25
	})
	if st.Codec() != audio.MimeTypeOpus || st.Stats().Level < 0.01 {
		t.Fatalf("before the switch: %+v", st.Stats())
	}
	switchNow.Store(true)
	waitFor(t, "the stream switched to PCMU", func() bool {
		st.ReadPCM(pcm)
		return st.Codec() == audio.MimeTypePCMU
	})
	var after []float32
	waitFor(t, "0.6 s of audio after the switch", func() bool {
		after = append(after, pcm[:st.ReadPCM(pcm)]...)
		return len(after) >= 6*audio.SampleRate/10
	})
	stats := st.Stats()
	t.Logf("%s: %+v", st, stats)
	if stats.DecodeErrors != 0 || stats.CodecSwitches != 1 || stats.OtherPayloadType > codecSwitchPackets-1 {
		t.Fatalf("stream stats after the switch: %+v", stats)
	}
	if ms, _ := musicianStats(m, "ana"); ms.Codec != webrtc.MimeTypePCMU {
		t.Fatalf("musician's codec %q after the switch", ms.Codec)
	}
	// Past the decoder's start-up (100 ms), the output is the tone: its 440 Hz component
	// has the amplitude sent and nearly all the energy.
	amp, share := sineFit(after[audio.SampleRate/10:], 440)
	t.Logf("after the switch: 440 Hz amplitude %.3f, %.1f%% of the energy", amp, 100*share)
	if math.Abs(amp-0.5) > 0.05 || share < 0.95 {
		t.Fatalf("after the switch: 440 Hz amplitude %.3f (want 0.5), %.1f%% of the energy", amp, 100*share)
	}
}

// sineFit is the amplitude of pcm's component at freq (48 kHz sampling) and its share of
// pcm's energy.
func sineFit(pcm []float32, freq float64) (amp, share float64) {
	var sn, cs, energy float64
	for i, v := range pcm {
		ph := 2 * math.Pi * freq * float64(i) / audio.SampleRate
		sn += float64(v) * math.Sin(ph)
		cs += float64(v) * math.Cos(ph)
		energy += float64(v) * float64(v)
	}
	n := float64(len(pcm))
	amp = 2 * math.Hypot(sn, cs) / n
	return amp, amp * amp / 2 * n / energy
}

// A single packet of another negotiated payload type changes nothing: no switch, the Opus
// decoder never sees it, and the audio goes on.
func TestStrayPayloadTypeDoesNotSwitchTheCodec(t *testing.T) {
	opus, r, m, streams := decodingRoom(t)
	stray := newOncePT(0) // PCMU, negotiated
	newTestMusician(t, r, "ana", musicianOpts{
		offerFirst: true,
		media:      func(seq uint16) ([]byte, uint32) { return opus[int(seq)%len(opus)], 960 },
		rewritePT:  stray.rewrite,
	})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	st := nextStream(t, "ana's audio stream", streams)
	pcm := make([]float32, audio.SampleRate)
	waitFor(t, "Opus decoded", func() bool { st.ReadPCM(pcm); return st.Stats().Packets > 10 })
	stray.armed.Store(true)
	waitFor(t, "the stray packet sent", func() bool { return stray.seq.Load() >= 0 })
	before := st.Stats().Packets
	waitFor(t, "25 packets after the stray", func() bool { st.ReadPCM(pcm); return st.Stats().Packets > before+25 })
	stats := st.Stats()
	t.Logf("%s: %+v", st, stats)
	if stats.OtherPayloadType != 1 || stats.CodecSwitches != 0 || stats.DecodeErrors != 0 || st.Codec() != audio.MimeTypeOpus {
		t.Fatalf("a stray packet changed the stream: %+v", stats)
	}
	if ms, _ := musicianStats(m, "ana"); ms.Codec != webrtc.MimeTypeOpus {
		t.Fatalf("musician's codec %q after a stray packet", ms.Codec)
	}
}
