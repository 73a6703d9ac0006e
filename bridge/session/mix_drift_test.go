package session

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/audio/audiotest"
)

// Two musicians whose sound cards' clocks differ (one 1000 ppm fast, the other 1000 ppm slow:
// ±500 ppm over an hour compressed into 100 s) play steady notes: the fast one's lane gains
// 96 samples a second on the slow one's. It must be realigned gradually (played a little
// faster) once it leads by mixLead: it used to grow to 140 ms and then be cut at once (6720
// samples → 0), and the mix analyser saw an onset the tick after. (The mix analyser's onsets
// are logged, not counted: it finds some in two steady notes whose beating slides, drift or no
// drift, 7 in 100 s at ±5 ppm.)
func TestMixRealignsDriftingMusiciansGradually(t *testing.T) {
	r := newMixRig(t, 2)
	start := r.now
	ppm := []float64{1000, -1000}
	freqs := []float64{220, 330}
	packet := func(k, i int) []byte {
		p := make([]byte, 160)
		for j := range p {
			// Her sound card samples her note at its own rate: read at 8 kHz, the note is as
			// much sharp (or flat) as her packets come early (or late).
			at := float64(i*160+j) / (8000 * (1 + ppm[k]*1e-6))
			p[j] = audiotest.MuLaw(int16(8000 * math.Sin(2*math.Pi*freqs[k]*at)))
		}
		return p
	}
	arrival := func(k, i int) time.Time {
		return start.Add(time.Duration(float64(i) * float64(20*time.Millisecond) / (1 + ppm[k]*1e-6)))
	}
	const seconds, warmUp = 100, 2
	next := []int{0, 0}
	prev := []int{0, 0}
	var onsets []string
	var mostCut, mostQueued int
	for tick := 1; tick <= seconds*60; tick++ {
		at := start.Add(time.Duration(tick) * time.Second / 60)
		for k := range next {
			for ; !arrival(k, next[k]).After(at); next[k]++ {
				r.now = arrival(k, next[k])
				r.musicians[k].stream.Load().WriteRTP(&rtp.Packet{
					Header:  rtp.Header{Version: 2, SequenceNumber: uint16(next[k]), Timestamp: uint32(next[k]) * 160, SSRC: uint32(k + 1)},
					Payload: packet(k, next[k]),
				})
			}
		}
		r.now = at
		r.s.loop.tick(at)
		for k, l := range r.s.loop.aligned.lanes {
			// What a tick adds only raises a lane: a fall beyond what was mixed was cut.
			// A lane played faster reads up to maxRealignRate more (and a sample of its
			// fraction).
			mostCut = max(mostCut, prev[k]-l.n-len(r.s.loop.mixed)-int(maxRealignRate*float64(len(r.s.loop.mixed)))-1)
			prev[k] = l.n
			if tick > warmUp*60 {
				mostQueued = max(mostQueued, l.n)
			}
		}
		if tick > warmUp*60 && r.s.loop.mixFeatures.Onset && len(onsets) < 10 {
			onsets = append(onsets, fmt.Sprintf("%.2fs", float64(tick)/60))
		}
	}
	if next[0]-next[1] < 8 { // 200 ms
		t.Fatalf("the fast musician sent only %d packets more than the slow one: the test shows nothing", next[0]-next[1])
	}
	t.Logf("mix onsets after %d s: %v", warmUp, onsets)
	if mostCut > 0 {
		t.Errorf("a lane lost %d samples in one tick beyond what was mixed and its realignment's speed-up", mostCut)
	}
	// Led by mixLead at most, give or take a packet, a tick and the realignment's reaction.
	if limit := mixLead + 2*960 + 800; mostQueued > limit {
		t.Errorf("a lane queued up to %.1f ms, more than %.1f ms", float64(mostQueued)/48, float64(limit)/48)
	}
}

// A lane realigned gradually is played through the resampler: its audio stays one smooth curve
// (no step where a sample was dropped, no jump where a tick's block meets the next), and a tick
// allocates nothing.
func TestMixRealignmentIsSmooth(t *testing.T) {
	a := newAlignedMix()
	a.follow([]*musician{{}, {}})
	const f0 = 1000.0
	sine := make([]float32, audio.SampleRate) // a second of 1 kHz, played in 20 ms packets
	for i := range sine {
		sine[i] = float32(0.5 * math.Sin(2*math.Pi*f0*float64(i)/audio.SampleRate))
	}
	quiet := make([]float32, audio.SampleRate/50)
	now := time.Unix(1e9, 0)
	src := 0
	next := func() []float32 {
		p := make([]float32, audio.SampleRate/50)
		for i := range p {
			p[i] = sine[(src+i)%len(sine)]
		}
		src += len(p)
		return p
	}
	var prev float32
	var steepest float64
	started := false
	for tick := range 20 * 50 {
		now = now.Add(20 * time.Millisecond)
		a.add(0, next(), now)
		if tick == 10 { // the first musician's next 100 ms come early, in a burst
			for range 5 {
				a.add(0, next(), now)
			}
		}
		a.add(1, quiet, now)
		var out []float32
		if tick == 500 {
			// AllocsPerRun mixes twice; the second finds nothing new to mix.
			out = make([]float32, 0, 2*pcmBlock)
			if allocs := testing.AllocsPerRun(1, func() { out = append(out, a.mix(now)...) }); allocs > 0 {
				t.Errorf("a mix while realigning allocated %v times", allocs)
			}
			if a.lanes[0].rate == 0 {
				t.Error("the leading lane was not being realigned when the allocations were counted")
			}
		} else {
			out = a.mix(now)
		}
		for _, x := range out {
			if started {
				steepest = max(steepest, math.Abs(float64(x-prev)))
			}
			prev, started = x, true
		}
	}
	lane := a.lanes[0]
	t.Logf("the leading lane holds %.1f ms, played %.0f ppm fast; the steepest step %.4f", float64(lane.n)/48, lane.rate*1e6, steepest)
	if lane.n > mixLead {
		t.Errorf("after 20 s the leading lane still holds %.1f ms", float64(lane.n)/48)
	}
	// A 1 kHz sine of 0.5 moves at most 0.5·2π·1000/48000 = 0.065 a sample; played 0.5 % faster
	// and interpolated, a little more. A dropped sample or a cut would be a larger step.
	if limit := 0.5 * 2 * math.Pi * f0 / audio.SampleRate * (1 + maxRealignRate) * 1.01; steepest > limit {
		t.Errorf("the realigned audio steps by up to %.4f between samples; a smooth 1 kHz sine, %.4f", steepest, limit)
	}
}
