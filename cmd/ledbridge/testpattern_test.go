package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// isRainbowPixel reports whether an RGB pixel is a fully saturated, full-value hue: one channel
// 255, one 0 (what renderRainbow draws and nothing else).
func isRainbowPixel(p []byte) bool {
	hi, lo := max(p[0], p[1], p[2]), min(p[0], p[1], p[2])
	return hi == 255 && lo == 0
}

// TestTestPatternDrivesFakes runs the command's logic against three fake WLEDs (DDP by URL, a
// wled:// device resolved over its JSON API, DNRGB) and checks every packet and frame.
func TestTestPatternDrivesFakes(t *testing.T) {
	ddp := wledtest.New(t, wledtest.Config{LEDs: 300})
	auto := wledtest.New(t, wledtest.Config{LEDs: 120, RGBW: true})
	dnrgb := wledtest.New(t, wledtest.Config{LEDs: 600})
	var out bytes.Buffer
	res, err := runTestPattern(context.Background(), testPatternOptions{
		Devices: []string{ddp.DDPURL(), auto.URL(), dnrgb.RealtimeURL("dnrgb")},
		FPS:     60,
		Seconds: 1.5,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	for i, fake := range []*wledtest.Fake{ddp, auto, dnrgb} {
		st := res[i].Stats
		if st.FramesSent < 2 || st.SendErrors != 0 || res[i].FPS <= 0 {
			t.Errorf("device %d stats %+v fps %v", i, st, res[i].FPS)
		}
		if !strings.Contains(out.String(), res[i].Name) {
			t.Errorf("device %s missing from the table", res[i].Name)
		}
		// Every datagram sent must have been decoded without complaint.
		if fake.Malformed() != 0 || fake.SequenceGaps() != 0 {
			t.Errorf("device %d: %d malformed %v, %d sequence gaps", i, fake.Malformed(), fake.MalformedReasons(), fake.SequenceGaps())
		}
		frames, err := fake.WaitFrames(int(st.FramesSent), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(frames) != int(st.FramesSent) {
			t.Errorf("device %d: fake decoded %d frames, output sent %d", i, len(frames), st.FramesSent)
		}
		bpp := 3
		if fake.Config().RGBW {
			bpp = 4
		}
		for j, f := range frames {
			if !f.Complete {
				t.Fatalf("device %d frame %d incomplete", i, j)
			}
			for k := 0; k < len(f.Pixels); k += bpp {
				if !isRainbowPixel(f.Pixels[k:]) || (bpp == 4 && f.Pixels[k+3] != 0) {
					t.Fatalf("device %d frame %d LED %d = % x is not a rainbow colour", i, j, k/bpp, f.Pixels[k:k+bpp])
				}
			}
			if j > 0 && bytes.Equal(f.Pixels, frames[j-1].Pixels) {
				t.Errorf("device %d frames %d and %d are identical: the rainbow does not move", i, j-1, j)
			}
		}
	}
	if reqs := auto.StateRequests(); len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live {
		t.Errorf("wled:// device not released with {\"live\":false}: %+v", reqs)
	}
	waitUntil(t, func() bool { return dnrgb.Releases() == 1 })
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTestPatternRejectsBadFlags(t *testing.T) {
	ok := "ddp://127.0.0.1:9?leds=3"
	cases := []testPatternOptions{
		{Devices: []string{ok}, FPS: 0, Seconds: 1},
		{Devices: []string{ok}, FPS: 61, Seconds: 1},
		{Devices: []string{ok}, FPS: 60, Seconds: 0},
		{Devices: []string{ok}, FPS: 60, Seconds: -1},
		{Devices: []string{ok}, FPS: 60, Seconds: 1, LEDs: -1},
		{Devices: []string{ok}, FPS: 60, Seconds: 1, LEDs: wled.MaxLEDs + 1},
		{Devices: []string{"http://x"}, FPS: 60, Seconds: 1},
		{Devices: []string{"ddp://x?leds=abc"}, FPS: 60, Seconds: 1},
	}
	for _, c := range cases {
		var ue usageError
		if _, err := runTestPattern(context.Background(), c, &bytes.Buffer{}); !errors.As(err, &ue) {
			t.Errorf("%+v: err = %v, want a usage error", c, err)
		}
	}
	// A device that is not a WLED is a runtime error naming it, not a usage error.
	fake := wledtest.New(t, wledtest.Config{})
	fake.SetRawInfo(200, []byte("<html>router</html>"))
	_, err := runTestPattern(context.Background(), testPatternOptions{Devices: []string{fake.URL()}, FPS: 60, Seconds: 1}, &bytes.Buffer{})
	var ue usageError
	if !errors.Is(err, wled.ErrNotWLED) || errors.As(err, &ue) {
		t.Errorf("non-WLED device: %v", err)
	}
	// ddp:// without ?leds and without --leds cannot work.
	_, err = runTestPattern(context.Background(), testPatternOptions{Devices: []string{"ddp://127.0.0.1:9"}, FPS: 60, Seconds: 1}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "LED count") {
		t.Errorf("ddp:// without LED count: %v", err)
	}
}

// TestTestPatternCommand runs the real binary: flags, exit status exitUsage for bad flags, and --leds
// overriding the URL's count.
func TestTestPatternCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ledbridge")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "test-pattern", "--fps", "500", "--device", "ddp://127.0.0.1:9?leds=3")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != exitUsage || !strings.Contains(string(out), "--fps") {
		t.Errorf("bad --fps: exit %d, output %q", cmd.ProcessState.ExitCode(), out)
	}
	cmd = exec.Command(bin, "test-pattern", "--device", "ddp://127.0.0.1:9?leds=3&colour=red")
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != exitUsage || !strings.Contains(string(out), "colour") {
		t.Errorf("bad device URL: exit %d, output %q", cmd.ProcessState.ExitCode(), out)
	}

	fake := wledtest.New(t, wledtest.Config{LEDs: 50})
	cmd = exec.Command(bin, "test-pattern", "--device", fake.DDPURL(), "--leds", "50", "--seconds", "0.5")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("test-pattern: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "FRAMES SENT") || !strings.Contains(string(out), fake.DDPURL()) {
		t.Errorf("output:\n%s", out)
	}
	if fake.FrameCount() == 0 || fake.Malformed() != 0 {
		t.Errorf("fake: %d frames, malformed %v", fake.FrameCount(), fake.MalformedReasons())
	}
}

// TestTestPatternUsesDiscovery runs without --device: the devices come from discovery (here its
// static list, since tests cannot rely on mDNS), resolved over the fake's JSON API.
func TestTestPatternUsesDiscovery(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{LEDs: 90, Name: "stage left"})
	var out bytes.Buffer
	res, err := runTestPattern(context.Background(), testPatternOptions{
		FPS:            60,
		Seconds:        0.5,
		LEDs:           40,
		DiscoverWindow: 100 * time.Millisecond,
		Discovery:      discovery.Config{DisableMDNS: true, Static: []string{fake.URL()}},
	}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(res) != 1 || !strings.Contains(res[0].Name, "stage left") || res[0].Stats.FramesSent == 0 {
		t.Fatalf("results %+v\n%s", res, out.String())
	}
	frames, err := fake.WaitFrames(int(res[0].Stats.FramesSent), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if fake.Malformed() != 0 || len(frames[0].Pixels) != 90*3 || frames[0].Complete {
		t.Errorf("malformed %v; --leds 40 on a 90-LED device should leave the frame partial", fake.MalformedReasons())
	}

	none := wledtest.New(t, wledtest.Config{})
	none.SetRawInfo(200, []byte("<html>"))
	_, err = runTestPattern(context.Background(), testPatternOptions{
		FPS: 60, Seconds: 0.5, DiscoverWindow: 100 * time.Millisecond,
		Discovery: discovery.Config{DisableMDNS: true, Static: []string{none.URL()}},
	}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no WLED devices found") {
		t.Errorf("nothing discovered: %v", err)
	}
}

// The brightness cap and the current limit apply to the rainbow as they do to the live effects:
// a venue's output.max_milliamps protects its supplies from the test pattern too.
func TestTestPatternObeysCapAndCurrentLimit(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{LEDs: 30})
	var model color.CurrentModel // the defaults: 20 mA a channel, 1 mA a dark LED
	res, err := runTestPattern(context.Background(), testPatternOptions{
		Devices: []string{fake.DDPURL()}, FPS: 60, Seconds: 0.5,
		BrightnessCap: 0.5, MaxMilliamps: 100, Current: model,
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	frames, err := fake.WaitFrames(int(res[0].Stats.FramesSent), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var lit bool
	for i, f := range frames {
		if mA := model.Estimate(f.Pixels, 3); mA > 100 {
			t.Fatalf("frame %d draws an estimated %.0f mA, over output.max_milliamps 100", i, mA)
		}
		for _, b := range f.Pixels {
			if b > 128 {
				t.Fatalf("frame %d has a channel at %d, over the brightness cap 0.5", i, b)
			}
			lit = lit || b > 0
		}
	}
	if !lit {
		t.Error("every frame was dark: 100 mA leaves room for colour on 30 LEDs")
	}
}

// The command reads the configuration like join: its devices, discovery.enabled, brightness
// cap and current limit, and --config; a --config that does not exist is an error.
func TestTestPatternCommandReadsTheConfig(t *testing.T) {
	bin := buildBinary(t)
	fake := wledtest.New(t, wledtest.Config{LEDs: 30})
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("devices: [%q]\noutput:\n  max_milliamps: 100\neffects:\n  brightness_cap: 0.5\n", fake.DDPURL())
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "test-pattern", "--config", cfgPath, "--seconds", "0.5", "--log-level", "debug").CombinedOutput()
	if err != nil {
		t.Fatalf("test-pattern: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fake.DDPURL()) {
		t.Errorf("the configured device is not in the table:\n%s", out)
	}
	frames, err := fake.WaitFrames(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if mA := (color.CurrentModel{}).Estimate(f.Pixels, 3); mA > 100 {
			t.Fatalf("frame %d draws an estimated %.0f mA, over the configured 100", i, mA)
		}
	}

	for _, tc := range []struct {
		name   string
		args   []string
		want   string
		status int
	}{
		{"missing --config", []string{"--config", filepath.Join(t.TempDir(), "absent.yaml")}, "absent.yaml", exitConfig},
		{"discovery off, no device", []string{"--config", writeConfig(t, "discovery:\n  enabled: false\n")}, "discovery is off", exitUsage},
		{"invalid config", []string{"--config", writeConfig(t, "output:\n  max_milliamps: -5\n")}, "output.max_milliamps", exitConfig},
	} {
		cmd := exec.Command(bin, append([]string{"test-pattern", "--seconds", "0.2"}, tc.args...)...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != tc.status || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: exit %d, output %q; want %d and %q", tc.name, cmd.ProcessState.ExitCode(), out, tc.status, tc.want)
		}
	}
}

// writeConfig writes body to a config file of its own and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
