package wled_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/testlog"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// dnrgbTornMsg is the line that says a DNRGB strip's frames tear.
const dnrgbTornMsg = "DNRGB frames of this strip take several packets, and WLED draws each packet as it arrives: the strip shows parts of two frames at once; drive it over DDP (WLED 0.13 or later)"

// A DNRGB strip of more than 489 LEDs gets several packets a frame, and WLED redraws on each UDP
// realtime packet (udp.cpp): the operator is told once, when its output starts, with the advice
// to use DDP. A successor output for the same device (a target change) does not say it again,
// and a strip that fits one packet is not warned about.
func TestOutputWarnsOnceThatDNRGBFramesAboveOnePacketTear(t *testing.T) {
	logs := &testlog.Buffer{}
	log := testlog.NewLogger(logs, slog.LevelInfo)
	fake := wledtest.New(t, wledtest.Config{LEDs: 1000, DDPListen: "-", HTTPListen: "-"})
	tg, err := wled.ParseTarget(fake.RealtimeURL("dnrgb"))
	if err != nil {
		t.Fatal(err)
	}
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Logger: log})
	submitUntil(t, o, fake, 1)
	if f := fake.Frames()[0]; f.Packets != 3 {
		t.Fatalf("a 1000-LED DNRGB frame came in %d packets, want 3", f.Packets)
	}
	_, stopSuccessor := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Logger: log})
	stop()
	stopSuccessor()
	lines := logs.Lines(dnrgbTornMsg)
	if len(lines) != 1 || !strings.Contains(lines[0], "leds=1000") || !strings.Contains(lines[0], "packets=3") || !strings.Contains(lines[0], "level=WARN") {
		t.Errorf("warnings %q, want one WARN with leds=1000 packets=3; log:\n%s", lines, logs.String())
	}

	fits := &testlog.Buffer{}
	small := wledtest.New(t, wledtest.Config{LEDs: 489, DDPListen: "-", HTTPListen: "-"})
	tg, _ = wled.ParseTarget(small.RealtimeURL("dnrgb"))
	o, stop = wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Logger: testlog.NewLogger(fits, slog.LevelInfo)})
	submitUntil(t, o, small, 1)
	stop()
	if lines := fits.Lines(dnrgbTornMsg); len(lines) != 0 {
		t.Errorf("a 489-LED DNRGB strip was warned about: %q", lines)
	}
}
