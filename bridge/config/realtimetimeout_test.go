package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// A UDP realtime timeout that one late frame outlasts drops WLED out of realtime between frames:
// it shows its own effect, then the next packet blanks the strip again. output.fps 1 with
// output.realtime_timeout 1s (WLED waits 1001 ms, a frame comes every 1000 ms) is refused, from
// the file, the environment and a flag alike, with the smallest timeout that works.
func TestRealtimeTimeoutShorterThanTwoFramesRefused(t *testing.T) {
	_, err := loadFile(t, "output:\n  fps: 1\n  realtime_timeout: 1s\n")
	wantKeyError(t, err, "output.realtime_timeout", "output.fps", "1s", "at least 2s")

	env := map[string]string{"LEDBRIDGE_OUTPUT_FPS": "1", "LEDBRIDGE_OUTPUT_REALTIME_TIMEOUT": "1s"}
	_, err = Load(Options{
		LookupEnv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Getenv:     noHome,
		SystemFile: filepath.Join(t.TempDir(), "absent.yaml"),
	})
	wantKeyError(t, err, "output.realtime_timeout", "LEDBRIDGE_OUTPUT_REALTIME_TIMEOUT", "output.fps", "at least 2s")

	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.Int("fps", 60, "")
	if err := fs.Parse([]string{"--fps", "1"}); err != nil {
		t.Fatal(err)
	}
	_, err = Load(Options{
		File:       write(t, "output:\n  realtime_timeout: 1s\n", 0o600),
		LookupEnv:  noEnv,
		Getenv:     noHome,
		SystemFile: filepath.Join(t.TempDir(), "absent.yaml"),
		Flags:      map[string]*pflag.Flag{"output.fps": fs.Lookup("fps")},
	})
	wantKeyError(t, err, "output.realtime_timeout", "output.fps", "at least 2s")
}

// The default timeout works at every fps the config takes, and so does the shortest one at 2 fps
// and above (a timeout is whole seconds on the wire: 1.5s is sent as 2).
func TestRealtimeTimeoutsThatOutlastTwoFramesAccepted(t *testing.T) {
	for fps := 1; fps <= 60; fps++ {
		c := Default()
		c.Output.FPS = fps
		if err := c.Validate(); err != nil {
			t.Errorf("fps %d with the default timeout %v: %v", fps, c.Output.RealtimeTimeout, err)
		}
		if fps >= 2 {
			c.Output.RealtimeTimeout = time.Second
			if err := c.Validate(); err != nil {
				t.Errorf("fps %d with 1s: %v", fps, err)
			}
		}
	}
	c := Default()
	c.Output.FPS, c.Output.RealtimeTimeout = 1, 1500*time.Millisecond
	if err := c.Validate(); err != nil {
		t.Errorf("fps 1 with 1.5s (sent as 2 s): %v", err)
	}
}
