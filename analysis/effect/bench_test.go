package effect

import (
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// band holds what a busy jam looks like to the renderer: four sources, each
// with a few notes, onsets now and then, and a moving spectrum.
type band struct {
	features [4]analysis.Features
	sources  [4]Source
	frame    int
}

func newBand() *band {
	b := &band{}
	for i := range b.sources {
		b.sources[i] = Source{Musician: i, Features: &b.features[i]}
	}
	return b
}

// next fills the features for the next tick without allocating.
func (b *band) next() {
	b.frame++
	for i := range b.features {
		f := &b.features[i]
		phase := float64(b.frame)/60 + float64(i)
		f.NumNotes = 3
		root := 40 + 12*i + (b.frame/30)%5
		for k := range 3 {
			f.Notes[k] = analysis.Note{
				MIDI:     root + 4*k,
				Hz:       float32(440 * math.Exp2(float64(root+4*k-69)/12)),
				Velocity: float32(0.9 - 0.2*float64(k)),
				Onset:    (b.frame+7*i)%30 == 0,
			}
		}
		f.Level = float32(0.3 + 0.2*math.Sin(phase))
		f.Onset = (b.frame+7*i)%30 == 0
		for k := range f.Bands {
			f.Bands[k] = float32(0.5 + 0.5*math.Sin(phase*3+float64(k)/2))
		}
		f.PeakHz = f.Notes[0].Hz
	}
}

// fourStrips are the benchmark's strips: every effect, RGB and RGBW, one with
// a current limit, 300 LEDs each.
func fourStrips(t testing.TB) ([]*Renderer, [][]byte) {
	strips := []Strip{
		{LEDs: 300, Effect: EffectNotes},
		{LEDs: 300, Effect: EffectPulse, ColorMode: color.ModeMusician},
		{LEDs: 300, Effect: EffectSpectrum, Mirror: true},
		{LEDs: 300, Effect: EffectNotes, RGBW: true, MaxMilliamps: 2000, Reverse: true},
	}
	rs := make([]*Renderer, len(strips))
	bufs := make([][]byte, len(strips))
	for i, s := range strips {
		rs[i] = newRenderer(t, Config{}, s)
		bufs[i] = make([]byte, s.FrameSize())
	}
	return rs, bufs
}

func TestRenderAllocatesNothing(t *testing.T) {
	rs, bufs := fourStrips(t)
	b := newBand()
	broadcast := make([]color.RGB, 37)
	for i := range broadcast {
		broadcast[i] = color.RGB{R: uint8(i * 7), G: 255, B: uint8(255 - i*7)}
	}
	now := t0
	in := Input{Look: LookLocal, Playing: true, Tempo: 128, Sources: b.sources[:], Broadcast: broadcast}
	looks := []Look{LookLocal, LookBroadcast, LookIdle}
	allocs := testing.AllocsPerRun(200, func() {
		b.next()
		now = now.Add(tick)
		in.Now = now
		in.Look = looks[(b.frame/10)%3] // switch every 10 frames: crossfades in progress
		for i, r := range rs {
			if _, err := r.Render(bufs[i], in); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("rendering 4 strips allocates %v times per tick", allocs)
	}
}

// BenchmarkRender4Strips4Sources is one LED tick of rendering alone: four
// 300-LED strips from four sources' Features.
func BenchmarkRender4Strips4Sources(bm *testing.B) {
	rs, bufs := fourStrips(bm)
	b := newBand()
	now := t0
	in := Input{Look: LookLocal, Playing: true, Tempo: 120, Sources: b.sources[:]}
	bm.ReportAllocs()
	cpu0 := processCPU()
	for bm.Loop() {
		b.next()
		now = now.Add(tick)
		in.Now = now
		for i, r := range rs {
			if _, err := r.Render(bufs[i], in); err != nil {
				bm.Fatal(err)
			}
		}
	}
	reportCPU(bm, cpu0)
}

// BenchmarkRenderCrossfade measures the worst case: two looks drawn per strip.
func BenchmarkRenderCrossfade(bm *testing.B) {
	rs, bufs := fourStrips(bm)
	b := newBand()
	broadcast := []color.RGB{{R: 255}, {G: 255}, {B: 255}}
	crossfading(bm, b, broadcast, func(in Input) {
		for i, r := range rs {
			if _, err := r.Render(bufs[i], in); err != nil {
				bm.Fatal(err)
			}
		}
	})
}

// crossfading runs the benchmark loop of a crossfade that never ends: the
// band moves on each tick, 1 ms of clock passes, and the look switches
// between local and broadcast every 100 ticks. It reports CPU per op.
func crossfading(bm *testing.B, b *band, broadcast []color.RGB, render func(Input)) {
	now := t0
	in := Input{Playing: true, Tempo: 120, Sources: b.sources[:], Broadcast: broadcast}
	bm.ReportAllocs()
	cpu0 := processCPU()
	k := 0
	for bm.Loop() {
		k++
		b.next()
		now = now.Add(time.Millisecond) // slow enough that the fade never ends
		in.Now = now
		in.Look = []Look{LookLocal, LookBroadcast}[(k/100)%2]
		render(in)
	}
	reportCPU(bm, cpu0)
}

// BenchmarkRenderLongestStrip is one tick of the longest strip a WLED output drives: 16,384 RGBW
// LEDs, notes from four sources, crossfading to the host's 4,096-colour frame (linear
// resampling), mirrored, with a 20 A current limit (16.4 A of it the LEDs' idle draw).
func BenchmarkRenderLongestStrip(bm *testing.B) {
	strip := Strip{LEDs: MaxLEDs, RGBW: true, MaxMilliamps: 20000, Mirror: true}
	r := newRenderer(bm, Config{Resample: ResampleLinear}, strip)
	dst := make([]byte, strip.FrameSize())
	b := newBand()
	broadcast := make([]color.RGB, color.MaxColors)
	for i := range broadcast {
		broadcast[i] = color.RGB{R: uint8(i), G: 255, B: uint8(i >> 4)}
	}
	crossfading(bm, b, broadcast, func(in Input) {
		if _, err := r.Render(dst, in); err != nil {
			bm.Fatal(err)
		}
	})
}

// reportCPU adds the process CPU time per op since cpu0 as "cpu-ns/op".
func reportCPU(bm *testing.B, cpu0 time.Duration) {
	if used := processCPU() - cpu0; used > 0 && bm.N > 0 {
		bm.ReportMetric(float64(used.Nanoseconds())/float64(bm.N), "cpu-ns/op")
	}
}

// TestEveryStripShapeRendersWithoutAllocating: strips of 1, 2, 3, 17 and MaxLEDs LEDs, RGB and
// RGBW, mirrored and reversed, with every effect, both resamplings of a host frame of 1 or 4,096
// colours, and every look in turn (so crossfades too): each renders a whole frame, within its
// current limit (set 200 mA above the dark strip's draw), without allocating.
func TestEveryStripShapeRendersWithoutAllocating(t *testing.T) {
	b := newBand()
	broadcasts := [][]color.RGB{make([]color.RGB, 1), make([]color.RGB, color.MaxColors)}
	for i := range broadcasts[1] {
		broadcasts[1][i] = color.RGB{R: uint8(i), G: uint8(i >> 4), B: 200}
	}
	for _, leds := range []int{1, 2, 3, 17, MaxLEDs} {
		for shape := range 8 {
			if leds == MaxLEDs && shape != 0 && shape != 7 {
				continue // the longest strip plain and with every option: enough, and quick
			}
			for eff := EffectNotes; eff <= EffectSpectrum; eff++ {
				for _, resample := range []Resample{ResampleNearest, ResampleLinear} {
					// 200 mA for colour above what the dark strip draws.
					limit := color.CurrentModel{}.DarkMilliamps(leds) + 200
					strip := Strip{LEDs: leds, RGBW: shape&1 != 0, Mirror: shape&2 != 0, Reverse: shape&4 != 0,
						Effect: eff, MaxMilliamps: limit}
					r := newRenderer(t, Config{Resample: resample}, strip)
					dst := make([]byte, strip.FrameSize())
					now, k := t0, 0
					in := Input{Playing: true, Tempo: 128, Sources: b.sources[:]}
					allocs := testing.AllocsPerRun(12, func() {
						b.next()
						now = now.Add(tick)
						in.Now, in.Look, in.Broadcast = now, Look(1+(k/4)%3), broadcasts[k%2]
						k++
						if n, err := r.Render(dst, in); err != nil || n != len(dst) {
							t.Fatalf("%+v: Render = %d, %v", strip, n, err)
						}
						if mA := r.Milliamps(); !(mA <= limit) {
							t.Fatalf("%+v: %v mA over the %v mA limit", strip, mA, limit)
						}
					})
					if allocs != 0 {
						t.Fatalf("%+v: %v allocations per frame", strip, allocs)
					}
				}
			}
		}
	}
}
