package audio

import (
	"math"
	"testing"
)

func TestMixerSumsWithGainAndClamps(t *testing.T) {
	m := NewMixer(800)
	a := []float32{0.5, 0.5, -0.9, 0.1}
	b := []float32{0.25, 0.8, -0.9}
	c := []float32{float32(math.NaN()), 0, 0, 0}
	dst := make([]float32, 4)
	n := m.Mix(dst, []MixInput{{PCM: a, Gain: 1}, {PCM: b, Gain: 0.5}, {PCM: c, Gain: 0}})
	want := []float32{0.625, 0.9, -1, 0.1} // -0.9 + -0.45 clamps; b ends after 3 samples; c muted
	if n != 4 {
		t.Fatalf("n = %d", n)
	}
	for i := range want {
		if math.Abs(float64(dst[i]-want[i])) > 1e-6 {
			t.Fatalf("mix = %v, want %v", dst, want)
		}
	}
	// Four full-scale musicians clamp instead of wrapping or exceeding 1; NaN input is zeroed.
	full := []float32{1, -1, 1}
	n = m.Mix(dst[:3], []MixInput{{full, 1}, {full, 1}, {full, 1}, {[]float32{float32(math.NaN()), 0, 0}, 1}})
	if n != 3 || dst[0] != 0 || dst[1] != -1 || dst[2] != 1 {
		t.Fatalf("clamp: %v", dst[:3])
	}
}

func TestMixerOutputCappedAtCapacity(t *testing.T) {
	m := NewMixer(2)
	dst := []float32{9, 9, 9}
	if n := m.Mix(dst, []MixInput{{[]float32{0.1, 0.2, 0.3}, 1}}); n != 2 || dst[2] != 9 {
		t.Fatalf("n=%d dst=%v", n, dst)
	}
}

func TestMixerAllocatesNothing(t *testing.T) {
	m := NewMixer(800)
	inputs := make([]MixInput, 4)
	for i := range inputs {
		inputs[i] = MixInput{PCM: make([]float32, 800), Gain: 0.5}
	}
	dst := make([]float32, 800)
	if a := testing.AllocsPerRun(100, func() { m.Mix(dst, inputs) }); a != 0 {
		t.Fatalf("%v allocs per mix", a)
	}
}
