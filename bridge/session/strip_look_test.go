package session

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// These tests drive two fake WLEDs (real JSON API over HTTP, real DDP over UDP) from a session's
// device set, tick its frame loop by hand with one musician holding a note, and read the frames
// the fakes decoded: a strip with a strips: entry (StripLook) shows its own look, the other the
// global one.

const lookLEDs = 60

// lookRig is the two strips: "bar" at 127.0.174.1 and "Drums" at 127.0.174.2, both notes-effect
// strips of lookLEDs LEDs, driven as configured wled:// devices.
type lookRig struct {
	*deviceRig
	bar, drums *wledtest.Fake
	now        time.Time
}

func startLookRig(t *testing.T, looks []StripLook, reportDelay time.Duration) *lookRig {
	t.Helper()
	bar := wledtest.New(t, wledtest.Config{Name: "bar", LEDs: lookLEDs, HTTPListen: "127.0.174.1:0", DDPListen: "127.0.174.1:0", RealtimeListen: "-"})
	drums := wledtest.New(t, wledtest.Config{Name: "Drums", LEDs: lookLEDs, HTTPListen: "127.0.174.2:0", DDPListen: "127.0.174.2:0", RealtimeListen: "-"})
	r := &lookRig{bar: bar, drums: drums, now: time.Now()}
	r.deviceRig = startDeviceRig(t, []string{bar.URL(), drums.URL()}, nil, func(d *deviceSet) {
		d.lookReportDelay = reportDelay
	})
	if err := r.s.SetStripLooks(looks); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both strips", func() bool { return len(r.s.devices.current()) == 2 })
	if err := r.s.SetMode("local"); err != nil {
		t.Fatal(err)
	}
	// One musician holding A4 (MIDI 69): without an audio track her features are what the test
	// gives her, and the loop renders them as it would a detected note.
	m, err := newMusician("m", room.Meta{Name: "m"}, 0, analysis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m.features.NumNotes, m.features.Level = 1, 0.7
	m.features.Notes[0] = analysis.Note{MIDI: 69, Hz: 440, Velocity: 1}
	r.s.mu.Lock()
	r.s.musicians[m.id] = m
	r.s.mu.Unlock()
	r.s.loop.musiciansChanged()
	return r
}

// stripNamed is the strip WLED calls name.
func (r *lookRig) stripNamed(t *testing.T, name string) *strip {
	t.Helper()
	for _, st := range r.s.devices.current() {
		if st.name == name {
			return st
		}
	}
	t.Fatalf("no strip named %q", name)
	return nil
}

// ticks runs n frame-loop ticks, 1/60 s apart, each with audio just arrived, and waits until each fake has decoded the last
// frame its strip rendered; it returns what the fakes show, bar's then Drums's.
func (r *lookRig) ticks(t *testing.T, n int) (bar, drums []byte) {
	t.Helper()
	for range n {
		r.now = r.now.Add(time.Second / 60)
		r.s.loop.lastAudio = r.now // her audio arrives, so local mode shows the local look
		r.s.loop.tick(r.now)
	}
	return r.shown(t, r.bar, "bar"), r.shown(t, r.drums, "Drums")
}

func (r *lookRig) shown(t *testing.T, fake *wledtest.Fake, name string) []byte {
	t.Helper()
	want := slices.Clone(r.stripNamed(t, name).frame)
	var got []byte
	waitFor(t, name+"'s last frame at its fake", func() bool {
		frames := fake.Frames()
		if len(frames) == 0 {
			return false
		}
		got = frames[len(frames)-1].Pixels
		return slices.Equal(got, want)
	})
	return got
}

// lit lists the LEDs of an RGB frame that are visibly on.
func lit(frame []byte) []int {
	var out []int
	for i := 0; i+2 < len(frame); i += 3 {
		if max(frame[i], frame[i+1], frame[i+2]) > 4 {
			out = append(out, i/3)
		}
	}
	return out
}

// reversed maps LED indices to the other end of the strip, sorted.
func reversed(leds []int) []int {
	out := make([]int, len(leds))
	for i, l := range leds {
		out[i] = lookLEDs - 1 - l
	}
	slices.Sort(out)
	return out
}

// The bar's strip is mounted right to left (reverse: true); the drums' keeps the global look.
// For the same note the bar lights the mirror image of the drums' region; a reload that drops
// the entry gives the bar the global look back (after the crossfade), and one that names the bar
// by its IP address gives it the spectrum effect while the drums keep notes.
func TestStripLookReverseShowsInTheFramesAndFollowsReloads(t *testing.T) {
	r := startLookRig(t, []StripLook{{Device: "BAR", Look: effect.Strip{Reverse: true}}}, time.Hour)
	bar, drums := r.ticks(t, 30)
	barLit, drumsLit := lit(bar), lit(drums)
	t.Logf("A4 lights %v on the drums' strip, %v on the bar's", drumsLit, barLit)
	if len(drumsLit) == 0 || len(drumsLit) == lookLEDs {
		t.Fatalf("the drums' strip lights %v: the note should light a region", drumsLit)
	}
	if slices.Equal(drumsLit, reversed(drumsLit)) {
		t.Fatalf("the note's region %v is symmetric: reversing it proves nothing", drumsLit)
	}
	if !slices.Equal(barLit, reversed(drumsLit)) {
		t.Fatalf("the bar's strip lights %v, want the drums' region reversed %v", barLit, reversed(drumsLit))
	}
	if !strings.Contains(r.logs.String(), `msg="strip takes its own look" device=bar strips_entry=0`) {
		t.Errorf("no log line says the bar took its entry's look:\n%s", r.logs)
	}

	// A reload without the entry: the bar fades back to the global look.
	if err := r.s.SetStripLooks(nil); err != nil {
		t.Fatal(err)
	}
	bar, drums = r.ticks(t, 40) // past the 300 ms crossfade
	if !slices.Equal(lit(bar), lit(drums)) {
		t.Fatalf("after the reload the bar lights %v, want the drums' %v", lit(bar), lit(drums))
	}
	if !strings.Contains(r.logs.String(), `msg="strip takes the global look" device=bar`) {
		t.Errorf("no log line says the bar took the global look back:\n%s", r.logs)
	}

	// A reload naming the bar by its address, with the spectrum effect.
	if err := r.s.SetStripLooks([]StripLook{{Device: "127.0.174.1", Look: effect.Strip{Effect: effect.EffectSpectrum}}}); err != nil {
		t.Fatal(err)
	}
	r.ticks(t, 1)
	if got := r.stripNamed(t, "bar").renderer.Strip().Effect; got != effect.EffectSpectrum {
		t.Errorf("the bar renders %v, want spectrum", got)
	}
	if got := r.stripNamed(t, "Drums").renderer.Strip().Effect; got != effect.EffectNotes {
		t.Errorf("the drums render %v, want the global notes", got)
	}
}

// A strip's brightness and current limit come from its entry, the rest from the global look; an
// unchanged look keeps the renderer (a brightness change from the status page does not restart
// what the strip shows).
func TestStripLookBrightnessAndCurrentLimit(t *testing.T) {
	r := startLookRig(t, []StripLook{{Device: "drums", Look: effect.Strip{Brightness: 0.25, MaxMilliamps: 700}, OwnMaxMilliamps: true}}, time.Hour)
	bar, drums := r.ticks(t, 30)
	if slices.Equal(lit(bar), nil) || !slices.Equal(lit(bar), lit(drums)) {
		t.Fatalf("bar lights %v, drums %v: the same region wanted", lit(bar), lit(drums))
	}
	var sumBar, sumDrums int
	for i := range bar {
		sumBar += int(bar[i])
		sumDrums += int(drums[i])
	}
	if !(sumDrums*2 < sumBar) {
		t.Errorf("the drums' strip at brightness 0.25 sums %d, the bar's %d: want it much dimmer", sumDrums, sumBar)
	}
	st := r.stripNamed(t, "Drums")
	if got := st.renderer.Strip(); got.MaxMilliamps != 700 || got.Brightness != 0.25 {
		t.Errorf("the drums' renderer strip %+v, want 700 mA at 0.25", got)
	}
	if got := r.stripNamed(t, "bar").renderer.Strip().MaxMilliamps; got != 0 {
		t.Errorf("the bar's current limit %v, want the global 0 (off)", got)
	}
	old := st.renderer
	if err := r.s.SetBrightness(0.5); err != nil {
		t.Fatal(err)
	}
	r.ticks(t, 1)
	if st.renderer != old {
		t.Error("a brightness change replaced the renderer of a strip with its own look")
	}
}

// The matching rule: the name WLED reports, the IP address, the host name and the configured
// line, whatever the case; a MAC (a discovered strip's key) or a part of a name does not match.
func TestStripLookMatchingRule(t *testing.T) {
	configured := &strip{key: "wled://Bar.local:8080", configured: true, name: "Bar Counter", host: "bar.local"}
	configured.target.Host = "10.0.0.7"
	discovered := &strip{key: "02fc00001740", name: "Drums", host: "wled-drums.local"}
	discovered.target.Host = "10.0.0.8"
	for _, tc := range []struct {
		st   *strip
		sel  string
		want bool
	}{
		{configured, "bar counter", true},
		{configured, " 10.0.0.7 ", true},
		{configured, "BAR.local", true},
		{configured, "wled://bar.local:8080", true},
		{configured, "Bar", false},
		{discovered, "drums", true},
		{discovered, "wled-drums.local", true},
		{discovered, "10.0.0.8", true},
		{discovered, "02fc00001740", false},
		{discovered, "10.0.0.7", false},
		// A device URL: a configured strip's line as written, and any device's host.
		{configured, "wled://10.0.0.7", true}, // its address, whatever its line says
		{discovered, "wled://10.0.0.8?leds=30", true},
		{discovered, "ddp://10.0.0.7?leds=30", false},
	} {
		if got := tc.st.names().NamedBy(tc.sel); got != tc.want {
			t.Errorf("strip %q answers to %q: %v, want %v", tc.st.name, tc.sel, got, tc.want)
		}
	}
}

// An entry that matches nothing is no error: it is logged (once, after the report delay) with
// the devices there are; two entries for one strip apply the first, with a warning.
func TestStripLookUnmatchedAndDoubleEntriesAreLogged(t *testing.T) {
	r := startLookRig(t, []StripLook{
		{Device: "stage-left", Look: effect.Strip{Mirror: true}},
		{Device: "bar", Look: effect.Strip{Reverse: true}},
		{Device: "127.0.174.1", Look: effect.Strip{Mirror: true}},
	}, 50*time.Millisecond)
	waitFor(t, "the report of the unmatched entry", func() bool { return strings.Contains(r.logs.String(), "matches no device") })
	logs := r.logs.String()
	for _, want := range []string{"entry=0", "device=stage-left", "bar (127.0.174.1)", "Drums (127.0.174.2)"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the unmatched entry's log line lacks %q:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, "matches no device"); n != 1 {
		t.Errorf("%d lines about unmatched entries, want 1 (bar's entries match):\n%s", n, logs)
	}
	r.ticks(t, 2)
	if got := r.stripNamed(t, "bar").renderer.Strip(); !got.Reverse || got.Mirror {
		t.Errorf("the bar renders %+v, want the first matching entry's look (reverse only)", got)
	}
	if !strings.Contains(r.logs.String(), "more than one strips: entry matches this device") {
		t.Errorf("no warning about two entries for the bar:\n%s", r.logs)
	}
}

// The session refuses looks the configuration would refuse, naming the entry.
func TestSetStripLooksRefusesBadEntries(t *testing.T) {
	r := startDeviceRig(t, nil, nil, nil)
	for _, looks := range [][]StripLook{
		{{Device: " "}},
		{{Device: "bar", Look: effect.Strip{Brightness: 2}}},
		{{Device: "bar", Look: effect.Strip{Brightness: float32(math.NaN())}}},
		{{Device: "bar"}, {Device: "BAR"}},
	} {
		if err := r.s.SetStripLooks(looks); err == nil {
			t.Errorf("%+v accepted", looks)
		}
	}
}
