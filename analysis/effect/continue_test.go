package effect

import (
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// A Renderer made for new settings carries on from the one it replaces: its first frame is the
// old picture (a lit note does not vanish for a frame), which then fades to the new look over the
// crossfade; its idle breath goes on where the old one was.
func TestContinueFadesFromTheOldRenderersPicture(t *testing.T) {
	old := newRenderer(t, linear(), Strip{LEDs: 60})
	held := Source{Features: notes(note(64, 0.9, true))}
	var before []byte
	for k := range 30 {
		before = render(t, old, local(t0.Add(time.Duration(k)*tick), held))
		held.Features.Notes[0].Onset = false
	}
	pos := int(notePosition(64, 60) + 0.5)
	lit := brightness(before, pos)
	if lit == 0 {
		t.Fatal("the held note is not lit: the test proves nothing")
	}
	cfg := linear()
	cfg.Effect = EffectSpectrum // a reload to another effect
	r := newRenderer(t, cfg, Strip{LEDs: 60})
	r.Continue(old)
	first := render(t, r, local(t0.Add(30*tick), held))
	if got := brightness(first, pos); got < lit*8/10 {
		t.Errorf("the first frame after the reload shows the note at %d, it was %d: a cut", got, lit)
	}
	var frame []byte
	for k := 31; k < 31+30; k++ { // 500 ms, past the crossfade
		frame = render(t, r, local(t0.Add(time.Duration(k)*tick), held))
	}
	if got := brightness(frame, pos); got != 0 {
		t.Errorf("after the crossfade the old note still shows at %d", got)
	}

	// The idle breath carries on: at its swell, the next frame is as bright, not at the floor.
	idleOld := newRenderer(t, Config{}, Strip{LEDs: 10})
	in := Input{Look: LookIdle, Playing: true}
	var swell []byte
	for k := 0; k <= 60; k++ {
		in.Now = t0.Add(time.Duration(k) * tick)
		swell = render(t, idleOld, in)
	}
	idleNew := newRenderer(t, Config{IdleColor: color.RGB{R: 255, G: 140, B: 50}}, Strip{LEDs: 10})
	idleNew.Continue(idleOld)
	in.Now = in.Now.Add(tick)
	if next := render(t, idleNew, in); int(swell[0])-int(next[0]) > 2 {
		t.Errorf("idle at its swell %v, the new renderer's first frame %v", swell[:3], next[:3])
	}
}

func TestRenderWhileHandingOverAllocatesNothing(t *testing.T) {
	old := newRenderer(t, Config{}, Strip{LEDs: 300})
	frame := make([]byte, 900)
	if _, err := old.Render(frame, local(t0, Source{Features: notes(note(60, 0.8, true))})); err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, Config{Effect: EffectPulse}, Strip{LEDs: 300})
	r.Continue(old)
	in := local(t0, Source{Features: notes(note(60, 0.8, false))})
	k := 1
	allocs := testing.AllocsPerRun(10, func() {
		in.Now = t0.Add(time.Duration(k) * tick)
		if _, err := r.Render(frame, in); err != nil {
			t.Fatal(err)
		}
		k++
	})
	if allocs != 0 {
		t.Fatalf("rendering while handing over allocates %v times per frame", allocs)
	}
}

// A reload while music plays: the note struck on the first frames after Continue lights as it
// would have without the reload. The old picture fades out beneath the local look, not over it
// (the handover's lerp, at a weight near 1 on those frames, hid the new note).
func TestContinueShowsANewNoteAtOnce(t *testing.T) {
	steady := newRenderer(t, linear(), Strip{LEDs: 60})
	old := newRenderer(t, linear(), Strip{LEDs: 60})
	held := notes(note(64, 0.9, true))
	for k := range 30 {
		in := local(t0.Add(time.Duration(k)*tick), Source{Features: held})
		render(t, steady, in)
		render(t, old, in)
		held.Notes[0].Onset = false
	}
	r := newRenderer(t, linear(), Strip{LEDs: 60})
	r.Continue(old)
	pos := int(notePosition(72, 60) + 0.5)
	struck := notes(note(64, 0.9, false), note(72, 0.9, true))
	for k := 30; k < 36; k++ {
		in := local(t0.Add(time.Duration(k)*tick), Source{Features: struck})
		want, got := brightness(render(t, steady, in), pos), brightness(render(t, r, in), pos)
		if got+1 < want {
			t.Errorf("frame %d after the reload: the new note at %d, without the reload %d", k-30, got, want)
		}
		struck.Notes[1].Onset = false
	}
}

// A reload keeps each source's automatic gain: its loudness over the last ten seconds is the
// musician's, not the settings'. A loud passage, a reload at 10 s (to the same strip, and to one
// of another length), then a quiet passage, 24 dB down: the quiet notes are lit as bright as on
// a Renderer never reloaded. A new Renderer's gain, judging the quiet passage on its own, lit
// them twice as bright (111 → 233 of 255).
func TestContinueKeepsEachSourcesAutomaticGain(t *testing.T) {
	for _, leds := range []int{300, 120} {
		an, err := analysis.New(analysis.Config{})
		if err != nil {
			t.Fatal(err)
		}
		steady := newRenderer(t, linear(), Strip{LEDs: leds})
		reloaded := newRenderer(t, linear(), Strip{LEDs: 300})
		led := int(notePosition(69, leds) + 0.5)
		const block = analysis.SampleRate / analysis.FrameRate
		pcm := make([]float32, block)
		var f analysis.Features
		fs, fr := make([]byte, leds*3), make([]byte, 300*3)
		for i := 0; i < 15*analysis.FrameRate; i++ {
			for k := range pcm {
				s := float64(i*block+k) / analysis.SampleRate
				amp := 0.5
				if s >= 8 {
					amp = 0.03
				}
				ts := math.Mod(s, 0.5) // an A4 struck twice a second
				pcm[k] = float32(amp * math.Exp(-ts*3) * math.Min(1, ts*500) * math.Sin(2*math.Pi*440*ts))
			}
			an.Write(pcm)
			an.Frame(&f)
			if i == 10*analysis.FrameRate {
				next := newRenderer(t, linear(), Strip{LEDs: leds})
				next.Continue(reloaded)
				reloaded = next
			}
			in := local(t0.Add(time.Duration(i)*tick), Source{Features: &f})
			if _, err := steady.Render(fs, in); err != nil {
				t.Fatal(err)
			}
			out := fr[:reloaded.Strip().FrameSize()]
			if _, err := reloaded.Render(out, in); err != nil {
				t.Fatal(err)
			}
			if i < 12*analysis.FrameRate { // past the reload's crossfade
				continue
			}
			want, got := brightness(fs, led), brightness(out, led)
			if want == 0 {
				continue
			}
			if d := got - want; d > want/10+2 || -d > want/10+2 {
				t.Fatalf("%d LEDs, %.2f s: the note lit at %d after the reload, %d without", leds, float64(i)/analysis.FrameRate, got, want)
			}
		}
	}
}
