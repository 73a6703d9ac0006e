package effect

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
)

// pulseTrace feeds pcm (48 kHz mono) through the real analyser, one 60 fps tick at a time, into
// a pulse strip, and returns the frames at which LED 0 lights up: its brightest channel rises by
// more than a quarter of full scale from the frame before (a decaying flash only falls).
func pulseTrace(t *testing.T, pcm []float32) (flashes []int) {
	t.Helper()
	an, err := analysis.New(analysis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := linear()
	cfg.Effect = EffectPulse
	r := newRenderer(t, cfg, Strip{LEDs: 10})
	const block = analysis.SampleRate / analysis.FrameRate
	var f analysis.Features
	frame := make([]byte, 30)
	prev := 0
	for k := 0; (k+1)*block <= len(pcm); k++ {
		an.Write(pcm[k*block : (k+1)*block])
		an.Frame(&f)
		if _, err := r.Render(frame, Input{Now: t0.Add(time.Duration(k) * tick), Look: LookLocal, Playing: true, Sources: []Source{{Features: &f}}}); err != nil {
			t.Fatal(err)
		}
		lit := int(max(frame[0], frame[1], frame[2]))
		if lit-prev > 64 {
			flashes = append(flashes, k)
		}
		prev = lit
	}
	return flashes
}

// synth renders seconds of audio at 48 kHz: the sum of voice(t) for each sample time t.
func synth(seconds float64, voice func(t float64) float64) []float32 {
	pcm := make([]float32, int(seconds*analysis.SampleRate))
	for i := range pcm {
		pcm[i] = float32(voice(float64(i) / analysis.SampleRate))
	}
	return pcm
}

// tone is a note with harmonics falling 1/k, amplitude amp, from start on.
func tone(midi int, amp, start, t float64) float64 {
	if t < start {
		return 0
	}
	hz := 440 * math.Exp2(float64(midi-69)/12)
	v := 0.0
	for k := 1; k <= 6; k++ {
		v += math.Sin(2*math.Pi*hz*float64(k)*(t-start)) / float64(k)
	}
	return amp * min((t-start)/0.005, 1) * v // a 5 ms attack, then held
}

// A held note of constant level is one attack: the pulse flashes once, not on every beat flag
// the analyser raises as its threshold adapts to the steady tone (a held E1 raised one every 16
// frames; a strings pad 33 flashes for 4 chords).
func TestPulseFlashesOnceOnAHeldNote(t *testing.T) {
	for _, midi := range []int{28, 45, 57} { // E1, A2, A3
		flashes := pulseTrace(t, synth(4, func(t float64) float64 { return tone(midi, 0.3, 0.5, t) }))
		if len(flashes) != 1 || flashes[0] > 30+3 {
			t.Errorf("MIDI %d held from frame 30 for 3.5 s: the pulse lit up at frames %v, want once, on its attack", midi, flashes)
		}
	}
}

// Drums have no pitch: every hit still flashes (no note sounds, a bare beat flag is a hit).
func TestPulseStillFlashesEveryDrumHit(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const beat = 0.75 // well within the flash limit's three a second
	pcm := synth(6, func(t float64) float64 {
		since := math.Mod(t, beat)
		return 0.5 * math.Exp(-since*25) * (2*rng.Float64() - 1)
	})
	flashes := pulseTrace(t, pcm)
	if len(flashes) != 8 {
		t.Fatalf("8 drum hits, the pulse lit up at frames %v", flashes)
	}
	for i, k := range flashes {
		if hit := i * 45; k < hit || k > hit+1 {
			t.Errorf("hit %d at frame %d lit up at frame %d", i, hit, k)
		}
	}
}

// A piano arpeggio: each note rings on under the next, so a note sounds at every new attack; the
// attack's beat flag arrives a tick or two before its pitch and must still light it at once.
func TestPulseLightsEachArpeggioNoteOnItsAttack(t *testing.T) {
	arp := []int{48, 51, 55, 58, 60, 63, 67, 70}
	const step = 0.4 // within the flash limit
	pcm := synth(3.6, func(t float64) float64 {
		v := 0.0
		for i, m := range arp {
			start := 0.25 + float64(i)*step
			if t >= start {
				v += tone(m, 0.12, start, t) * math.Exp(-(t-start)*2) // rings on, fading
			}
		}
		return v
	})
	flashes := pulseTrace(t, pcm)
	for i := range arp {
		hit := 15 + i*24
		ok := false
		for _, k := range flashes {
			ok = ok || k == hit
		}
		if !ok {
			t.Errorf("arpeggio note %d (frame %d): no flash on its attack; the pulse lit up at frames %v", i, hit, flashes)
		}
	}
}

// snareHits is n snare hits, period seconds apart from half a second on: bursts of white noise
// decaying with an 80 ms time constant.
func snareHits(n int, period float64) []float32 {
	rng := rand.New(rand.NewSource(1))
	seconds := 0.5 + float64(n)*period + 0.5
	noise := make([]float64, int(seconds*analysis.SampleRate)+1)
	for i := range noise {
		noise[i] = 2*rng.Float64() - 1
	}
	return synth(seconds, func(t float64) float64 {
		v := 0.0
		for k := range n {
			if start := 0.5 + float64(k)*period; t >= start {
				v += 0.5 * math.Exp(-(t-start)/0.08) * noise[int(t*analysis.SampleRate)]
			}
		}
		return v
	})
}

// A snare's hit rings on for a few frames, and the analyser raises bare beat flags (no note
// sounds) during its decay. They must not re-flash the decaying hit: each re-flash was a swing
// the flash guard counted, and at 2 Hz the guard then held down the fifth of 8 hits (flashes at
// frames 30 60 90 150 …, not at 120). Every hit flashes, on its frame, and nothing else does.
func TestPulseFlashesEverySnareHitAndNotItsDecay(t *testing.T) {
	for _, c := range []struct {
		hz   float64
		hits int
	}{{2, 8}, {4, 8}} {
		period := 1 / c.hz
		flashes := pulseTrace(t, snareHits(c.hits, period))
		var want []int
		for k := range c.hits {
			want = append(want, int(math.Round((0.5+float64(k)*period)*analysis.FrameRate)))
		}
		if fmt.Sprint(flashes) != fmt.Sprint(want) {
			t.Errorf("%d snare hits at %v Hz (frames %v): the pulse lit up at frames %v", c.hits, c.hz, want, flashes)
		}
	}
}
