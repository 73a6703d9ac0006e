package effect

import (
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
)

// samplesPerTick is one 60 fps tick of 48 kHz audio (16.7 ms).
const samplesPerTick = analysis.SampleRate / analysis.FrameRate

// synthSource makes seconds of a musician's playing: a three-note chord of
// harmonic tones (root + 12·i semitones apart per source), re-struck every
// half second with a decaying envelope, plus a little noise. Made before the
// benchmark so that the tick measures analysis and rendering only.
func synthSource(i int, seconds float64) []float32 {
	n := int(seconds * analysis.SampleRate)
	pcm := make([]float32, n)
	root := 40 + 12*i
	chord := []int{root, root + 4, root + 7}
	seed := uint32(12345 + i)
	for k := range pcm {
		t := float64(k) / analysis.SampleRate
		env := math.Exp(-3 * math.Mod(t, 0.5))
		var v float64
		for _, m := range chord {
			f := 440 * math.Exp2(float64(m-69)/12)
			for h := 1; h <= 4; h++ {
				v += math.Sin(2*math.Pi*f*float64(h)*t) / float64(h*h)
			}
		}
		seed = seed*1664525 + 1013904223
		noise := (float64(seed>>8)/float64(1<<24) - 0.5) * 0.01
		pcm[k] = float32(0.15*env*v + noise)
	}
	return pcm
}

// BenchmarkTick4Sources4Strips is one full LED tick: 16.7 ms of PCM written
// to each of four Analyzers, their Features computed, and four 300-LED strips
// rendered from them.
func BenchmarkTick4Sources4Strips(bm *testing.B) {
	const sources = 4
	var (
		analyzers [sources]*analysis.Analyzer
		pcm       [sources][]float32
		features  [sources]analysis.Features
		input     [sources]Source
	)
	for i := range sources {
		a, err := analysis.New(analysis.Config{})
		if err != nil {
			bm.Fatal(err)
		}
		analyzers[i] = a
		pcm[i] = synthSource(i, 2)
		input[i] = Source{Musician: i, Features: &features[i]}
	}
	rs, bufs := fourStrips(bm)
	in := Input{Look: LookLocal, Playing: true, Tempo: 120, Sources: input[:]}
	now := t0
	tickN := 0
	lit := 0
	bm.ReportAllocs()
	cpu0 := processCPU()
	for bm.Loop() {
		off := (tickN * samplesPerTick) % (len(pcm[0]) - samplesPerTick)
		tickN++
		for i, a := range analyzers {
			a.Write(pcm[i][off : off+samplesPerTick])
			a.Frame(&features[i])
		}
		now = now.Add(tick)
		in.Now = now
		for i, r := range rs {
			if _, err := r.Render(bufs[i], in); err != nil {
				bm.Fatal(err)
			}
		}
		if features[0].NumNotes > 0 {
			lit++
		}
	}
	reportCPU(bm, cpu0)
	if tickN > 60 && lit == 0 {
		bm.Fatal("the analysers never reported a note: the benchmark measured silence")
	}
}

// BenchmarkAnalysisBetweenTicks times the analysis of four sources for one tick (Write and
// Frame, as BenchmarkTick4Sources4Strips without rendering) after each of four gaps, and
// reports µs per source: back to back; after sweeping 8 MiB of memory (the data caches
// emptied, the code's state kept); after sleeping one 60 fps frame (the vCPU idles, as the
// live loop's does between ticks); after spinning for one frame (time passes, the vCPU stays
// busy). It separates what the live daemon's analysis pays for the data it touches from what
// it pays for the time between ticks. The sleep and spin cost 16.7 ms an op: run it with
// -benchtime=300x.
func BenchmarkAnalysisBetweenTicks(bm *testing.B) {
	const sources = 4
	sweep := make([]byte, 8<<20)
	for _, gap := range []struct {
		name string
		wait func()
	}{
		{"back-to-back", func() {}},
		{"data-sweep-8MiB", func() {
			for i := 0; i < len(sweep); i += 64 {
				sweep[i]++
			}
		}},
		{"sleep-1-frame", func() { time.Sleep(tick) }},
		{"spin-1-frame", func() {
			for end := time.Now().Add(tick); time.Now().Before(end); {
			}
		}},
	} {
		bm.Run(gap.name, func(bm *testing.B) {
			var (
				analyzers [sources]*analysis.Analyzer
				pcm       [sources][]float32
				features  [sources]analysis.Features
			)
			for i := range sources {
				a, err := analysis.New(analysis.Config{})
				if err != nil {
					bm.Fatal(err)
				}
				analyzers[i], pcm[i] = a, synthSource(i, 2)
			}
			tickN := 0
			var spent time.Duration
			for bm.Loop() {
				gap.wait()
				off := (tickN * samplesPerTick) % (len(pcm[0]) - samplesPerTick)
				tickN++
				start := time.Now()
				for i, a := range analyzers {
					a.Write(pcm[i][off : off+samplesPerTick])
					a.Frame(&features[i])
				}
				spent += time.Since(start)
			}
			bm.ReportMetric(float64(spent.Nanoseconds())/1e3/float64(tickN*sources), "µs/source")
		})
	}
}
