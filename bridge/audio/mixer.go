package audio

// MixInput is one mono source for the Mixer.
type MixInput struct {
	PCM  []float32 // 48 kHz mono samples; shorter than the output means silence after its end
	Gain float32   // linear gain; 0 mutes
}

// Mixer sums mono inputs with per-input gain into a preallocated float32 accumulator and
// clamps the result to [-1, 1] (NaN becomes 0). Clamping matters: four musicians at full
// scale sum to 4, and decoders fed garbage can emit |x| > 4. It allocates nothing per Mix.
// A Mixer is not safe for concurrent use; the 60 fps loop owns one.
type Mixer struct {
	acc []float32
}

// NewMixer returns a mixer for outputs of up to maxSamples samples (800 = one 60 fps tick).
func NewMixer(maxSamples int) *Mixer {
	return &Mixer{acc: make([]float32, max(maxSamples, 1))}
}

// Mix writes the clamped sum of inputs into dst and returns the number of samples
// written: len(dst), capped at the mixer's capacity. dst may alias an input.
func (m *Mixer) Mix(dst []float32, inputs []MixInput) int {
	n := min(len(dst), len(m.acc))
	acc := m.acc[:n]
	clear(acc)
	for _, in := range inputs {
		if in.Gain == 0 {
			continue
		}
		pcm := in.PCM[:min(len(in.PCM), n)]
		g := in.Gain
		for i, v := range pcm {
			acc[i] += g * v
		}
	}
	sanitize(acc)
	copy(dst, acc)
	return n
}
