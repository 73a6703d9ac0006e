package main

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A WLED with more LEDs than the forced output.protocol carries is driven on the start of its
// strip only: test-pattern says so, as join warns, naming the protocol, the LEDs driven, the
// device's own count and what to set instead. That holds for a configured wled:// line and for a
// device found by mDNS; a strip that fits, or a count the line itself gives, gets no note.
func TestTestPatternNotesAStripTheForcedProtocolCutsShort(t *testing.T) {
	long := wledtest.New(t, wledtest.Config{LEDs: 600, Name: "Long"})
	short := wledtest.New(t, wledtest.Config{LEDs: 60, Name: "Short"})
	wants := func(out, device string) {
		t.Helper()
		var note string
		for line := range strings.Lines(out) {
			if strings.Contains(line, "note") && strings.Contains(line, device) {
				note = line
			}
		}
		for _, want := range []string{"drgb", "490", "600", "dnrgb or ddp"} {
			if !strings.Contains(note, want) {
				t.Errorf("the note on %s %q does not say %q; output:\n%s", device, note, want, out)
			}
		}
	}

	var out bytes.Buffer
	_, err := runTestPattern(context.Background(), testPatternOptions{Devices: []string{long.URL(), short.URL(), long.URL() + "&leds=300"},
		Protocol: wled.ProtocolDRGB, FPS: 30, Seconds: 0.2}, &out)
	if err != nil {
		t.Fatalf("test-pattern: %v\n%s", err, out.String())
	}
	wants(out.String(), long.URL())
	if strings.Count(out.String(), "note") != 1 {
		t.Errorf("want one note (the strip that fits and the line giving ?leds=300 have none); output:\n%s", out.String())
	}

	api := netip.MustParseAddrPort(long.HTTPAddr())
	opts := testPatternOptions{Protocol: wled.ProtocolDRGB, FPS: 30, Seconds: 0.2, DiscoverWindow: 50 * time.Millisecond}
	opts.Discovery.Protocol = "drgb"
	opts.Discovery.Browser = answersBrowser{{Instance: "wled-long", Host: "wled-long.local.", Addr: api.Addr(), Port: int(api.Port())}}
	out.Reset()
	if _, err := runTestPattern(context.Background(), opts, &out); err != nil {
		t.Fatalf("test-pattern on the discovered device: %v\n%s", err, out.String())
	}
	wants(out.String(), "Long")
}
