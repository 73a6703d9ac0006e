// Command gen writes the deterministic source WAV files that testdata/opus/make-fixtures.sh
// encodes into the Opus fixtures: synthetic music with harmonics, plucks and noise bursts,
// so CELT, hybrid and SILK all get realistic spectra. Same output on every run (fixed seed).
//
// Usage: go run ./testdata/opus/gen <outdir>
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

const rate = 48000

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen <outdir>")
		os.Exit(2)
	}
	dir := os.Args[1]
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(name string, channels int, pcm [][]float64) {
		if err := writeWAV(filepath.Join(dir, name), channels, pcm); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}

	// music: 2 s stereo. Left: sawtooth-ish C major chord; right: Karplus-Strong plucks;
	// both: short noise bursts (hi-hat) every 250 ms.
	n := 2 * rate
	left, right := make([]float64, n), make([]float64, n)
	addTone(left, 0, n, []float64{261.63, 329.63, 392.00}, 14, 0.12, 0.02, 0.3)
	addTone(right, 0, n, []float64{261.63, 329.63, 392.00}, 14, 0.04, 0.02, 0.3)
	for i, f := range []float64{440, 554.37, 659.25, 880, 659.25, 554.37, 440, 329.63} {
		pluck(right, i*n/8, n/8, f, 0.35, rng)
		pluck(left, i*n/8, n/8, f, 0.12, rng)
	}
	for t := 0; t < n; t += rate / 4 {
		for i := 0; i < rate/50 && t+i < n; i++ {
			v := (rng.Float64()*2 - 1) * 0.15 * math.Exp(-float64(i)/float64(rate/400))
			left[t+i] += v
			right[t+i] += v * 0.8
		}
	}
	write("music_stereo.wav", 2, [][]float64{left, right})

	// music_mono: the mid signal, for the hybrid and SILK fixtures.
	mono := make([]float64, n)
	for i := range mono {
		mono[i] = (left[i] + right[i]) * 0.6
	}
	write("music_mono.wav", 1, [][]float64{mono})

	// a3: a sustained A3 (220 Hz) with 10 harmonics, gentle vibrato, 3 s.
	a3 := make([]float64, 3*rate)
	addTone(a3, 0, len(a3), []float64{220}, 10, 0.45, 0.03, 0.2)
	write("a3_220hz.wav", 1, [][]float64{a3})

	// chord: C4 E4 G4, 3 s.
	chord := make([]float64, 3*rate)
	addTone(chord, 0, len(chord), []float64{261.63, 329.63, 392.00}, 8, 0.2, 0.03, 0.2)
	write("c_major_chord.wav", 1, [][]float64{chord})

	// bass: E2 A2 D3 G2 E2 A2 B2 E2, 0.5 s each, 4 s.
	bass := make([]float64, 4*rate)
	for i, f := range []float64{82.41, 110.00, 146.83, 98.00, 82.41, 110.00, 123.47, 82.41} {
		addTone(bass, i*rate/2, rate/2, []float64{f}, 12, 0.5, 0.01, 0.1)
	}
	write("bass_line.wav", 1, [][]float64{bass})
}

// addTone adds notes with `harmonics` partials (amplitude 1/k) starting at sample start
// for n samples, with linear attack and release (seconds) and a 5 Hz vibrato.
func addTone(dst []float64, start, n int, freqs []float64, harmonics int, amp, attack, release float64) {
	for _, f := range freqs {
		for i := 0; i < n && start+i < len(dst); i++ {
			t := float64(i) / rate
			env := math.Min(1, t/attack) * math.Min(1, (float64(n-i)/rate)/release)
			phase := 2 * math.Pi * f * (t + 0.0008*math.Sin(2*math.Pi*5*t))
			var v float64
			for k := 1; k <= harmonics && f*float64(k) < 16000; k++ {
				v += math.Sin(float64(k)*phase) / float64(k)
			}
			dst[start+i] += amp * env * v / float64(len(freqs))
		}
	}
}

// pluck adds a Karplus-Strong plucked string.
func pluck(dst []float64, start, n int, f, amp float64, rng *rand.Rand) {
	period := int(rate / f)
	buf := make([]float64, period)
	for i := range buf {
		buf[i] = rng.Float64()*2 - 1
	}
	for i := 0; i < n && start+i < len(dst); i++ {
		j := i % period
		next := buf[(j+1)%period]
		out := buf[j]
		buf[j] = 0.996 * 0.5 * (out + next)
		dst[start+i] += amp * out
	}
}

func writeWAV(path string, channels int, pcm [][]float64) error {
	n := len(pcm[0])
	data := make([]byte, 0, 44+n*channels*2)
	data = append(data, "RIFF"...)
	data = binary.LittleEndian.AppendUint32(data, uint32(36+n*channels*2))
	data = append(data, "WAVEfmt "...)
	data = binary.LittleEndian.AppendUint32(data, 16)
	data = binary.LittleEndian.AppendUint16(data, 1)
	data = binary.LittleEndian.AppendUint16(data, uint16(channels))
	data = binary.LittleEndian.AppendUint32(data, rate)
	data = binary.LittleEndian.AppendUint32(data, uint32(rate*channels*2))
	data = binary.LittleEndian.AppendUint16(data, uint16(channels*2))
	data = binary.LittleEndian.AppendUint16(data, 16)
	data = append(data, "data"...)
	data = binary.LittleEndian.AppendUint32(data, uint32(n*channels*2))
	for i := 0; i < n; i++ {
		for c := 0; c < channels; c++ {
			v := math.Max(-1, math.Min(1, pcm[c][i]))
			data = binary.LittleEndian.AppendUint16(data, uint16(int16(math.Round(v*32767))))
		}
	}
	return os.WriteFile(path, data, 0o644)
}
