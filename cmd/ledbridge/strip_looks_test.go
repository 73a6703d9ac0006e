package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// Every strips: entry reaches the session, in order, with its look and whether its current limit
// is its own.
func TestStripLooksCarryEveryEntry(t *testing.T) {
	half, limit := 0.5, 900
	c := config.Default()
	c.Strips = []config.Strip{
		{Device: "Drums", Effect: "pulse", ColorMode: "musician", Brightness: &half, MaxMilliamps: &limit},
		{Device: "10.0.0.7", Reverse: true, Mirror: true},
	}
	got, err := stripLooks(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []session.StripLook{
		{Device: "Drums", Look: effect.Strip{Effect: effect.EffectPulse, ColorMode: color.ModeMusician, Brightness: 0.5, MaxMilliamps: 900}, OwnMaxMilliamps: true},
		{Device: "10.0.0.7", Look: effect.Strip{Reverse: true, Mirror: true}},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("looks %+v, want %+v", got, want)
	}
}

// The daemon gives a strip its entry's look at start, takes it back on a reload that removes the
// entry (no restart asked for), and rejects a reload with a bad entry naming it.
func TestJoinAppliesAndReloadsStripLooks(t *testing.T) {
	bin := buildBinary(t)
	bar := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "bar"})
	drums := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "drums"})
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	write := func(strips string) {
		t.Helper()
		body := fmt.Sprintf("devices: [%q, %q]\ndiscovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n%s", bar.URL(), drums.URL(), strips)
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("strips:\n  - device: bar\n    effect: spectrum\n    reverse: true\n")
	cmd, _, stderr := startJoinBinary(t, bin, "STR274", cfgPath)
	waitJoin(t, 10*time.Second, "the bar's own look", func() bool {
		return strings.Contains(stderr.String(), `msg="strip takes its own look" device=bar strips_entry=0 effect=spectrum`)
	})
	if _, err := drums.WaitFrames(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "device=drums strips_entry") || strings.Contains(stderr.String(), "matches no device") {
		t.Fatalf("the drums took a look, or the entry was reported unmatched:\n%s", stderr)
	}

	write("strips: []\n")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitJoin(t, 10*time.Second, "the bar's global look", func() bool {
		return strings.Contains(stderr.String(), `msg="strip takes the global look" device=bar`)
	})
	waitJoin(t, 10*time.Second, "the reload logged", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	if strings.Contains(stderr.String(), "only after a restart") {
		t.Errorf("a reload of strips: asks for a restart:\n%s", stderr)
	}

	write("strips:\n  - device: bar\n    effect: sparkle\n")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitJoin(t, 10*time.Second, "the rejection", func() bool { return strings.Contains(stderr.String(), "reload rejected") })
	if !strings.Contains(stderr.String(), "strips[0].effect") {
		t.Errorf("the rejection does not name strips[0].effect:\n%s", stderr)
	}
}

// discover shows, once the configuration has strips: entries, the look join would give each
// device (a LOOK column, a "look" JSON member), and warns about an entry that names no device.
func TestDiscoverShowsEachDevicesLook(t *testing.T) {
	bin := buildBinary(t)
	bar := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "Bar"})
	drums := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "drums"})
	cfg := writeConfig(t, fmt.Sprintf("discovery:\n  enabled: false\ndevices: [%q, %q]\nstrips:\n  - device: stage-left\n    mirror: true\n  - device: bar\n    effect: pulse\n    brightness: 0.5\n    reverse: true\n",
		bar.URL(), drums.URL()))
	cmd := exec.Command(bin, "discover", "--config", cfg, "--timeout", "100ms")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("discover: %v\n%s%s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "ONLINE  LOOK  ") {
		t.Fatalf("want a header with LOOK and two rows:\n%s", out)
	}
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "Bar "):
			if !strings.Contains(l, "strips[1]: pulse, brightness 0.5, reverse") {
				t.Errorf("the bar's row: %q", l)
			}
		case strings.HasPrefix(l, "drums "):
			if !strings.Contains(l, " global ") {
				t.Errorf("the drums' row: %q", l)
			}
		default:
			t.Errorf("row %q", l)
		}
	}
	if !strings.Contains(stderr.String(), "matches no device") || !strings.Contains(stderr.String(), "device=stage-left") {
		t.Errorf("no warning about the stage-left entry:\n%s", stderr.String())
	}
}
