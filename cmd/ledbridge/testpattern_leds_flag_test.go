package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// test-pattern's --leds stands in for a ddp://, dnrgb://, … line's ?leds=N, as README says: the
// configuration check that refuses such a line without a count (join has no other source) lets
// it through, and the fake shows the frames at the flag's count. Without either, the refusal
// names both.
func TestTestPatternLEDsFlagStandsInForTheURLsCount(t *testing.T) {
	bin := buildBinary(t)
	fake := wledtest.New(t, wledtest.Config{LEDs: 40, RealtimeListen: "-", HTTPListen: "-"})
	line := "ddp://" + fake.DDPAddr()
	cmd := exec.Command(bin, "test-pattern", "--config", "/dev/null", "--device", line, "--leds", "40", "--seconds", "0.3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("test-pattern --device %s --leds 40: %v\n%s", line, err, out)
	}
	if fake.FrameCount() == 0 || fake.Malformed() != 0 {
		t.Errorf("fake: %d frames, malformed %v", fake.FrameCount(), fake.MalformedReasons())
	}

	cmd = exec.Command(bin, "test-pattern", "--config", "/dev/null", "--device", line, "--seconds", "0.3")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "?leds=N") || !strings.Contains(string(out), "--leds") {
		t.Errorf("test-pattern --device %s without a count: %v, output %q; want a refusal naming ?leds=N and --leds", line, err, out)
	}
}
