package session

import (
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/audio"
)

// receivedFrom returns where in src the samples got begin (got is src[at:at+len(got)] exactly),
// or -1 when they are not a stretch of src as it was received.
func receivedFrom(src, got []float32) int {
	for at := 0; at+len(got) <= len(src); at++ {
		i := 0
		for i < len(got) && got[i] == src[at+i] {
			i++
		}
		if i == len(got) {
			return at
		}
	}
	return -1
}

// A lane realigned (as in TestMixRealignmentIsSmooth) whose partner stops: it is mixed alone,
// with the least audio queued. Its realignment ends, and from then on it comes out as exactly
// the audio it received, with no glitch at the end of each tick (the resampler read 8 samples
// past what the lane held there, a repeated edge sample in their place, every tick for good).
func TestMixRealignedLaneAloneIsTheAudioItReceived(t *testing.T) {
	a := newAlignedMix()
	a.follow([]*musician{{}, {}})
	const f0, seconds = 1000.0, 40
	src := make([]float32, seconds*audio.SampleRate+audio.SampleRate)
	for i := range src {
		src[i] = float32(0.5 * math.Sin(2*math.Pi*f0*float64(i)/audio.SampleRate))
	}
	quiet := make([]float32, audio.SampleRate/50)
	now := time.Unix(1e9, 0)
	fed := 0
	next := func() []float32 {
		p := src[fed : fed+audio.SampleRate/50]
		fed += len(p)
		return p
	}
	var prev float32
	var steepest float64
	var realigned bool
	var tail []float32
	started := false
	for tick := range seconds * 50 {
		now = now.Add(20 * time.Millisecond)
		a.add(0, next(), now)
		if tick == 10 { // the first musician's next 100 ms come early, in a burst
			for range 5 {
				a.add(0, next(), now)
			}
		}
		if tick < 1000 { // then the second musician stops: the first is alone
			a.add(1, quiet, now)
		}
		out := a.mix(now)
		realigned = realigned || a.lanes[0].rate > 0
		for _, x := range out {
			if started {
				steepest = max(steepest, math.Abs(float64(x-prev)))
			}
			prev, started = x, true
		}
		if tick >= seconds*50-100 {
			tail = append(tail, out...)
		}
	}
	lane := a.lanes[0]
	t.Logf("lane 0: rate %.0f ppm, pos %v; the steepest step %.4f", lane.rate*1e6, lane.pos, steepest)
	if !realigned {
		t.Fatal("the leading lane was never realigned")
	}
	if limit := 0.5 * 2 * math.Pi * f0 / audio.SampleRate * (1 + maxRealignRate) * 1.01; steepest > limit {
		t.Errorf("the lane steps by up to %.4f between samples; a smooth 1 kHz sine, %.4f", steepest, limit)
	}
	if lane.rate != 0 || lane.pos != 0 || lane.resampling() {
		t.Errorf("20 s alone, the lane is still resampled: rate %v, pos %v", lane.rate, lane.pos)
	}
	if len(tail) < audio.SampleRate || receivedFrom(src[:fed], tail) < 0 {
		t.Errorf("the lane's last 2 s (%d samples) are not the audio it received", len(tail))
	}
}

// A lane left between two samples by a realignment (pos 0.5, rate 0) is the only one: the mix
// takes all it has each tick. Its read position comes back onto a sample without a glitch, and
// from then on it is exactly the audio it received.
func TestMixResampledLaneAloneComesBackOntoItsSamples(t *testing.T) {
	a := newAlignedMix()
	l := &mixLane{buf: make([]float32, mixLaneCap), queued: -1, pos: 0.5}
	a.lanes = append(a.lanes, l)
	w := 2 * math.Pi * 3000 / audio.SampleRate
	const ticks, block = 120, 800
	src := make([]float32, ticks*block)
	for i := range src {
		src[i] = float32(math.Sin(w * float64(i)))
	}
	now := time.Unix(0, 0)
	var got []float32
	for tick := range ticks {
		now = now.Add(time.Second / 60)
		a.add(0, src[tick*block:(tick+1)*block], now)
		got = append(got, a.mix(now)...)
	}
	// A sine's second difference is 4·sin²(w/2) times its value: a sample repeated or skipped,
	// or one interpolated from a missing neighbour, is a larger one. The first block's first
	// samples are read against the silence before the lane's first audio.
	bend := 4 * math.Pow(math.Sin(w/2), 2) * 1.01
	var most float64
	for i := 16; i+1 < len(got); i++ {
		most = max(most, math.Abs(float64(got[i+1]-2*got[i]+got[i-1])))
	}
	t.Logf("pos %v rate %v; %d samples out of %d; the largest second difference %.4f (a smooth 3 kHz sine: %.4f)",
		l.pos, l.rate, len(got), len(src), most, bend)
	if most > bend {
		t.Errorf("the lane's audio bends by up to %.4f between samples; a smooth 3 kHz sine, %.4f", most, bend)
	}
	if l.pos != 0 || l.resampling() {
		t.Errorf("the lane is still resampled: pos %v rate %v", l.pos, l.rate)
	}
	if len(got) < len(src)-block || receivedFrom(src, got[block:]) < 0 {
		t.Errorf("after its first tick the lane's %d samples are not the audio it received", len(got)-block)
	}
}
