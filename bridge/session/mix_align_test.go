package session

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/audio/audiotest"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// mixRig is a session with sound sync on (sent to a loopback socket) and musicians whose PCMU
// streams run on the rig's virtual time, for driving the frame loop's mix tick by tick.
type mixRig struct {
	s         *Session
	musicians []*musician
	now       time.Time
	seq       []uint16
}

func newMixRig(t *testing.T, musicians int) *mixRig {
	t.Helper()
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	code, _ := room.ParseCode("TCK234")
	s, err := New(Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		SoundSyncAddr: sink.LocalAddr().String(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := &mixRig{s: s, now: time.Unix(1e9, 0), seq: make([]uint16, musicians)}
	params := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}}
	for i := range musicians {
		m, err := newMusician(fmt.Sprint("m", i), room.Meta{Name: "m"}, i, analysis.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.attachStream(params, func() time.Time { return r.now }); err != nil {
			t.Fatal(err)
		}
		s.musicians[m.id] = m
		r.musicians = append(r.musicians, m)
	}
	s.loop.musiciansChanged()
	return r
}

// send gives musician k its next 20 ms PCMU packet, arriving at the virtual time at.
func (r *mixRig) send(k int, at time.Time, payload []byte) {
	r.now = at
	seq := r.seq[k]
	r.seq[k]++
	r.musicians[k].stream.Load().WriteRTP(&rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: uint32(k + 1)},
		Payload: payload,
	})
}

// dcPacket is a PCMU payload of 160 samples of the constant x, and the value it decodes to.
func dcPacket(t *testing.T, x int16) ([]byte, float32) {
	t.Helper()
	p := make([]byte, 160)
	for i := range p {
		p[i] = audiotest.MuLaw(x)
	}
	now := time.Unix(1e9, 0)
	st, err := audio.NewStream(audio.StreamConfig{Codec: audio.MimeTypePCMU, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	st.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 9}, Payload: p})
	now = now.Add(time.Second) // long past any jitter buffer's delay
	pcm := make([]float32, pcmBlock)
	n := st.ReadPCM(pcm)
	if n == 0 {
		t.Fatal("a lone PCMU packet did not decode")
	}
	return p, pcm[n-1] // the last sample: the decoder's first may still be settling
}

// Two musicians each send a constant 0.25 in 20 ms packets, the second's 10 ms after the
// first's, while the loop ticks every 16.7 ms: the mix must be the two summed sample by sample
// (0.5 everywhere once both play), at the rate the audio arrives, not faster, and the analyser
// must get exactly that mix: its features, tick by tick, are those of a second analyser of the
// same settings fed the mix. (The analyser blocks DC, so the level of a constant mix is not the
// constant: comparing it with a number would test the analyser, not the mix.)
func TestMixIsTimeAligned(t *testing.T) {
	r := newMixRig(t, 2)
	payload, v := dcPacket(t, 8192)
	start := r.now
	arrival := func(k, i int) time.Time {
		jitter := time.Duration((i*7+k*3)%5) * time.Millisecond // deterministic 0–4 ms
		return start.Add(time.Duration(i)*20*time.Millisecond + time.Duration(k)*10*time.Millisecond + jitter)
	}
	const seconds = 10
	next := make([]int, 2)
	var mixed, wrong, delivered int
	var firstWrong string
	refCfg := r.s.cfg.Analysis
	refCfg.SpectrumOnly = true // as the loop's mix analyser
	ref, err := analysis.New(refCfg)
	if err != nil {
		t.Fatal(err)
	}
	var refFeatures analysis.Features
	var levelDiffers int
	var levelMax float32
	for tick := 1; tick <= seconds*60; tick++ {
		at := start.Add(time.Duration(tick) * time.Second / 60)
		for k := range next {
			for ; !arrival(k, next[k]).After(at); next[k]++ {
				r.send(k, arrival(k, next[k]), payload)
			}
		}
		r.now = at
		r.s.loop.tick(at)
		for _, x := range r.s.loop.mixed {
			// The first musician's first packet (before the second's audio begins) is alone.
			if mixed >= pcmBlock && math.Abs(float64(x-2*v)) > 1e-6 {
				if wrong == 0 {
					firstWrong = fmt.Sprintf("sample %d of the mix is %.4f", mixed, x)
				}
				wrong++
			}
			mixed++
		}
		if len(r.s.loop.mixed) > 0 {
			ref.Write(r.s.loop.mixed)
		}
		ref.Frame(&refFeatures)
		if f := &r.s.loop.mixFeatures; f.Level != refFeatures.Level || f.Bands != refFeatures.Bands {
			levelDiffers++
		}
		levelMax = max(levelMax, refFeatures.Level)
	}
	for _, m := range r.musicians {
		delivered = max(delivered, int(m.stream.Load().Stats().Packets)*audio.SampleRate/50)
	}
	if wrong > 0 {
		t.Errorf("%d of %d mixed samples are not the two musicians' sum %.4f (%s)", wrong, mixed, 2*v, firstWrong)
	}
	if mixed > delivered || mixed < delivered-mixSkew {
		t.Errorf("the mix analyser got %d samples in %d s (%.3f× real time); the musicians delivered %d each at most",
			mixed, seconds, float64(mixed)/(seconds*audio.SampleRate), delivered)
	}
	if levelDiffers > 0 || levelMax == 0 {
		t.Errorf("the mix analyser's level and bands differed from a reference fed the mix in %d of %d ticks (the reference's level peaked at %.4f)",
			levelDiffers, seconds*60, levelMax)
	}
}

// A musician whose audio stops must not hold the mix back: after mixHold the other is mixed
// alone, at its own rate, and nothing queues up behind the silent one.
func TestMixDoesNotWaitForAMusicianWhoStopped(t *testing.T) {
	r := newMixRig(t, 2)
	payload, v := dcPacket(t, 8192)
	start := r.now
	next := make([]int, 2)
	var mixed, alone, longestQueue int
	for tick := 1; tick <= 5*60; tick++ {
		at := start.Add(time.Duration(tick) * time.Second / 60)
		for k := range next {
			for ; ; next[k]++ {
				pkt := start.Add(time.Duration(next[k])*20*time.Millisecond + time.Duration(k)*10*time.Millisecond)
				if pkt.After(at) || (k == 1 && pkt.Sub(start) >= 2*time.Second) {
					break // the second musician stops after 2 s
				}
				r.send(k, pkt, payload)
			}
		}
		r.now = at
		r.s.loop.tick(at)
		for _, x := range r.s.loop.mixed {
			if math.Abs(float64(x-v)) < 1e-6 {
				alone++
			}
		}
		mixed += len(r.s.loop.mixed)
		for _, l := range r.s.loop.aligned.lanes {
			longestQueue = max(longestQueue, l.n)
		}
	}
	first := int(r.musicians[0].stream.Load().Stats().Packets) * audio.SampleRate / 50
	// None of it is lost waiting for the one who stopped (a packet or two may still be in the
	// jitter buffer at the end).
	if mixed < first-3*audio.SampleRate/50 {
		t.Errorf("the mix got %d samples in 5 s; the musician still playing delivered %d", mixed, first)
	}
	// Three seconds of the first musician alone, less its lead of up to a packet and a tick.
	if want := 3*audio.SampleRate - 2*audio.SampleRate/50; alone < want {
		t.Errorf("%d samples of the first musician alone after the second stopped, want ≥ %d", alone, want)
	}
	if longestQueue > mixSkew+pcmBlock/2 {
		t.Errorf("a lane held %d samples after a tick, more than mixSkew (%d) and a tick's audio", longestQueue, mixSkew)
	}
}

// A musician whose audio comes in a burst, far ahead of the others', is realigned by dropping its
// oldest audio, and the lanes never hold more than mixSkew after a tick.
func TestMixRealignsAMusicianFarAhead(t *testing.T) {
	a := newAlignedMix()
	ms := []*musician{{}, {}}
	a.follow(ms)
	now := time.Unix(1e9, 0)
	packet := func(x float32) []float32 {
		p := make([]float32, audio.SampleRate/50)
		for i := range p {
			p[i] = x
		}
		return p
	}
	one, two := packet(0.1), packet(0.2)
	// Both play in step for a while.
	for range 10 {
		now = now.Add(20 * time.Millisecond)
		a.add(0, one, now)
		a.add(1, two, now)
		for _, x := range a.mix(now) {
			if math.Abs(float64(x-0.3)) > 1e-6 {
				t.Fatalf("in step: mixed %.4f, want 0.3", x)
			}
		}
	}
	// The second musician's next 200 ms arrive at once, while the first has one packet queued.
	now = now.Add(20 * time.Millisecond)
	a.add(0, one, now)
	for range 10 {
		a.add(1, two, now)
	}
	for _, l := range a.lanes {
		if l.n > mixLaneCap {
			t.Fatalf("a lane holds %d samples, more than its capacity %d", l.n, mixLaneCap)
		}
	}
	got := a.mix(now)
	if len(got) != len(one) {
		t.Fatalf("after the burst the mix is %d samples, want the %d the first musician has", len(got), len(one))
	}
	for _, l := range a.lanes {
		if l.n > mixSkew {
			t.Errorf("after the burst a lane still holds %d samples, more than mixSkew %d", l.n, mixSkew)
		}
	}
	for _, x := range got {
		if math.Abs(float64(x-0.3)) > 1e-6 {
			t.Fatalf("after the burst: mixed %.4f, want 0.3", x)
		}
	}
	// Leaving: the departed musician's lane goes, the other keeps what it queued.
	a.follow(ms[:1])
	if len(a.lanes) != 1 || len(a.byID) != 1 {
		t.Fatalf("after one left: %d lanes, %d in the index", len(a.lanes), len(a.byID))
	}
}

// The mix is clamped: four musicians at full scale sum to 4, the mix says 1.
func TestMixClamps(t *testing.T) {
	a := newAlignedMix()
	a.follow([]*musician{{}, {}, {}, {}})
	now := time.Unix(1e9, 0)
	loud := make([]float32, 960)
	for i := range loud {
		loud[i] = 1
	}
	for i := range 4 {
		a.add(i, loud, now)
	}
	got := a.mix(now)
	if len(got) != len(loud) {
		t.Fatalf("mixed %d samples, want %d", len(got), len(loud))
	}
	for _, x := range got {
		if x != 1 {
			t.Fatalf("four full-scale musicians mix to %v, want 1 (clamped)", x)
		}
	}
}

// With sound sync on, the loop's tick (the aligned mix and its analysis included) allocates
// nothing once warmed up.
func TestTickWithSoundSyncAllocatesNothing(t *testing.T) {
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r := newTickRig(t, webrtc.MimeTypePCMU, sink.LocalAddr().String())
	i := 0
	step := func() { // five packets per six ticks, as in real time
		r.feed()
		r.tick()
		if i%5 == 4 {
			r.tick()
		}
		i++
	}
	for range 120 {
		step()
	}
	if allocs := testing.AllocsPerRun(200, step); allocs > 0 {
		t.Fatalf("a tick with sound sync allocates %.1f times", allocs)
	}
}
