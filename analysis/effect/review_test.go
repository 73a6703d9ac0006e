package effect

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
)

// The breathing idle look promises "never quite dark": with the shipped defaults (gamma 2.2,
// brightness cap 0.8, idle brightness 0.4, amber) no frame of a breath may be fully black, at the
// default tempo or the slowest one, and the breath must still swell to the full idle brightness.
// The floor used to be applied before gamma and the cap, where its 0.2 became 0.03 of the peak
// duty and rounded to 0.
func TestIdleBreathNeverGoesDarkWithDefaults(t *testing.T) {
	for _, bpm := range []float32{DefaultTempo, 20} {
		r := newRenderer(t, Config{}, Strip{LEDs: 10})
		peak := newRenderer(t, Config{Idle: IdleSolid}, Strip{LEDs: 10})
		full := render(t, peak, Input{Now: t0, Look: LookIdle, Playing: true})
		breath := time.Duration(float64(DefaultBeatsPerBreath) * 60 / float64(bpm) * float64(time.Second))
		var brightest byte
		dark := 0
		for k := 0; time.Duration(k)*tick <= breath; k++ {
			fr := render(t, r, Input{Now: t0.Add(time.Duration(k) * tick), Look: LookIdle, Playing: true, Tempo: bpm})
			if fr[0] == 0 && fr[1] == 0 && fr[2] == 0 {
				dark++
			}
			brightest = max(brightest, fr[0])
		}
		if dark > 0 {
			t.Errorf("%v BPM: %d frames of one breath are fully black, want none", bpm, dark)
		}
		if brightest != full[0] {
			t.Errorf("%v BPM: the breath peaks at red %d, want the idle brightness's %d", bpm, brightest, full[0])
		}
	}
}

// An attack no note confirms (a drum hit) lights the spectral peak's place for a time, not a
// number of frames: lit on every frame before provisionalHold and dark on the first frame at or
// after it, whatever output.fps is. Counted in frames it lasted 33 ms at 60 fps but 200 ms at 10.
func TestNotesUnconfirmedAttackLightLastsATimeAtAnyFrameRate(t *testing.T) {
	for _, fps := range []int{10, 30, 60, 120} {
		r := newRenderer(t, linear(), Strip{LEDs: 73})
		a4 := int(math.Round(notePosition(69, 73)))
		period := time.Second / time.Duration(fps)
		for k := 0; ; k++ {
			elapsed := time.Duration(k) * period
			f := &analysis.Features{Level: 0.3}
			if k == 0 {
				f.Attack, f.PeakHz, f.AttackLevel = true, 440, 0.5
			}
			lit := brightness(render(t, r, local(t0.Add(elapsed), Source{Features: f})), a4) > 0
			if elapsed < provisionalHold && !lit {
				t.Errorf("%d fps: the attack's light is dark %v after the hit, want lit for %v", fps, elapsed, provisionalHold)
			}
			if elapsed >= provisionalHold {
				if lit {
					t.Errorf("%d fps: the unconfirmed attack's light still lit %v after the hit, want dark from %v", fps, elapsed, provisionalHold)
				}
				break
			}
		}
	}
}

// A pulse flashed by a hit whose pitch is not known yet takes the spectral peak's colour; the
// note that arrives within provisionalHold is that hit's pitch, so its colour replaces the
// peak's even when it is quieter than the flash (bass notes: the peak is a harmonic, so A2
// flashed orange and stayed orange). A note arriving after the window is a new event and
// must be louder than what is left of the pulse to recolour it, as before.
func TestPulseTakesTheColourOfTheNoteThatArrivesWithinTheProvisionalWindow(t *testing.T) {
	const bass = 45 // A2
	want, _ := color.HueOf(color.Palette{}.Note(0, bass))
	for _, tc := range []struct {
		arrives    time.Duration
		recoloured bool
	}{{2 * tick, true}, {provisionalHold - time.Millisecond, true}, {provisionalHold + 2*tick, false}} {
		cfg := linear()
		cfg.Effect = EffectPulse
		r := newRenderer(t, cfg, Strip{LEDs: 10})
		hit := &analysis.Features{Onset: true, Attack: true, Level: 0.5, PeakHz: 141} // no pitch yet
		first := render(t, r, local(t0, Source{Features: hit}))
		peak, _ := color.HueOf(pixel(first, 0))
		if hueDistance(peak, want) < 30 {
			t.Fatalf("the hit's peak colour (hue %v) is already the note's (%v): the test proves nothing", peak, want)
		}
		var frame []byte
		for now := t0.Add(tick); now.Sub(t0) < tc.arrives; now = now.Add(tick) {
			render(t, r, local(now, Source{Features: &analysis.Features{Level: 0.4}}))
		}
		frame = render(t, r, local(t0.Add(tc.arrives), Source{Features: notes(note(bass, 0.6, true))}))
		got, _ := color.HueOf(pixel(frame, 0))
		if recoloured := hueDistance(got, want) < 5; recoloured != tc.recoloured {
			t.Errorf("A2 arriving %v after the hit: pulse hue %v (LED 0 %v), note hue %v, peak hue %v; want recoloured %v",
				tc.arrives, got, frame[:3], want, peak, tc.recoloured)
		}
	}
}

// The status page's brightness control and a config reload that changes nothing reach a running
// renderer through Reconfigure, which must keep its state (a pulse mid-decay here) and only
// rescale the output; settings that need a new renderer leave it untouched.
func TestReconfigureChangesTheBrightnessCapInPlace(t *testing.T) {
	cfg := linear()
	cfg.Effect = EffectPulse
	r := newRenderer(t, cfg, Strip{LEDs: 10})
	render(t, r, local(t0, Source{Features: notes(note(69, 1, true))}))
	quiet := Source{Features: &analysis.Features{}}
	before := render(t, r, local(t0.Add(10*tick), quiet))
	if brightness(before, 0) == 0 {
		t.Fatal("the pulse is already dark")
	}

	if ok, err := r.Reconfigure(cfg); !ok || err != nil {
		t.Fatalf("Reconfigure with the same settings: %v, %v; want true, nil", ok, err)
	}
	ref := newRenderer(t, cfg, Strip{LEDs: 10}) // the same history without a reconfigure
	render(t, ref, local(t0, Source{Features: notes(note(69, 1, true))}))
	render(t, ref, local(t0.Add(10*tick), quiet))
	same, want := render(t, r, local(t0.Add(11*tick), quiet)), render(t, ref, local(t0.Add(11*tick), quiet))
	if string(same) != string(want) {
		t.Errorf("after Reconfigure with the same settings LED 0 is %v, want %v (the pulse kept)", same[:3], want[:3])
	}

	half := cfg
	half.BrightnessCap = 0.5
	if ok, err := r.Reconfigure(half); !ok || err != nil {
		t.Fatalf("Reconfigure with a new brightness cap: %v, %v; want true, nil", ok, err)
	}
	full := render(t, ref, local(t0.Add(12*tick), quiet))
	got := render(t, r, local(t0.Add(12*tick), quiet))
	for i := 0; i < 3; i++ {
		if d := int(got[i]) - int(math.Round(float64(full[i])/2)); d < -1 || d > 1 {
			t.Errorf("cap 0.5 after cap 1: LED 0 %v, want half of %v (the pulse kept, rescaled)", got[:3], full[:3])
			break
		}
	}

	other := half
	other.Effect = EffectSpectrum
	if ok, err := r.Reconfigure(other); ok || err != nil {
		t.Errorf("Reconfigure to another effect: %v, %v; want false, nil (it needs a new renderer)", ok, err)
	}
	bad := half
	bad.BrightnessCap = 2
	if ok, err := r.Reconfigure(bad); ok || !errors.Is(err, ErrBadConfig) {
		t.Errorf("Reconfigure with brightness cap 2: %v, %v; want false, ErrBadConfig", ok, err)
	}
	if after := render(t, r, local(t0.Add(13*tick), quiet)); brightness(after, 0) == 0 || brightness(after, 0) > brightness(got, 0) {
		t.Errorf("after refused Reconfigures LED 0 is %v, want the half-bright pulse still decaying from %v", after[:3], got[:3])
	}
}
