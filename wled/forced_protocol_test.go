package wled_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A forced protocol (the config's output.protocol) applies to wled:// devices after the JSON API
// is asked: the device then receives that protocol on its UDP realtime port (or DDP on its DDP
// port), whatever its firmware would have chosen. The fakes decode what arrives over real UDP.
func TestCompleteAsSendsTheForcedProtocol(t *testing.T) {
	cases := []struct {
		name     string
		cfg      wledtest.Config
		forced   wled.Protocol
		wire     string // Frame.Protocol the fake decodes
		leds     int
		rgbw     bool
		realtime bool // frames go to the UDP realtime port, not DDP's
	}{
		{"dnrgb on DDP firmware", wledtest.Config{LEDs: 600}, wled.ProtocolDNRGB, "DNRGB", 600, false, true},
		{"drgb on DDP firmware", wledtest.Config{LEDs: 100}, wled.ProtocolDRGB, "DRGB", 100, false, true},
		{"drgbw on an RGB strip", wledtest.Config{LEDs: 50}, wled.ProtocolDRGBW, "DRGBW", 50, true, true},
		{"warls clamps to 255 LEDs", wledtest.Config{LEDs: 300}, wled.ProtocolWARLS, "WARLS", 255, false, true},
		// Builds are literals, not wled.MinDDPVID: WLED takes DDP from vid 2110060 on (LedFx's
		// wled_support_DDP), and a wrong constant must fail here.
		{"ddp on the first DDP build", wledtest.Config{LEDs: 40, VID: 2110060}, wled.ProtocolDDP, "DDP", 40, false, false},
		{"auto picks DDP", wledtest.Config{LEDs: 40}, wled.ProtocolAuto, "DDP", 40, false, false},
		{"auto picks DDP on the first DDP build", wledtest.Config{LEDs: 40, VID: 2110060}, wled.ProtocolAuto, "DDP", 40, false, false},
		{"auto picks DDP on 0.13.x", wledtest.Config{LEDs: 40, VID: 2208222}, wled.ProtocolAuto, "DDP", 40, false, false},
		{"auto picks DNRGB before DDP", wledtest.Config{LEDs: 40, VID: 2110059}, wled.ProtocolAuto, "DNRGB", 40, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := wledtest.New(t, tc.cfg)
			tg, err := wled.ParseTarget(fake.URL())
			if err != nil {
				t.Fatal(err)
			}
			var c wled.Client
			got, info, err := c.CompleteAs(context.Background(), tg, tc.forced)
			if err != nil {
				t.Fatal(err)
			}
			wantAddr := fake.DDPAddr()
			if tc.realtime {
				wantAddr = fake.RealtimeAddr()
			}
			if got.Protocol.String() != strings.ToLower(tc.wire) || got.UDPAddr() != wantAddr || got.LEDs != tc.leds ||
				got.RGBW != tc.rgbw || got.HTTPAddr() != fake.HTTPAddr() || info.LEDs.Count != tc.cfg.LEDs {
				t.Fatalf("CompleteAs(%v) = %+v (to %s), want %s to %s, %d LEDs, rgbw %v", tc.forced, got, got.UDPAddr(), tc.wire, wantAddr, tc.leds, tc.rgbw)
			}
			o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: got})
			sent := submitUntil(t, o, fake, 3)
			stop()
			frames := fake.Frames()
			if len(frames) == 0 || fake.Malformed() != 0 {
				t.Fatalf("%d frames, malformed %v", len(frames), fake.MalformedReasons())
			}
			for _, f := range frames {
				if f.Protocol != tc.wire {
					t.Fatalf("the device received %s, want %s", f.Protocol, tc.wire)
				}
			}
			// The strip shows submitted frames, LED for LED (beyond a clamp it stays dark). A
			// frame whose format the fake does not share (DRGBW to an RGB strip) is not compared.
			if tc.rgbw != tc.cfg.RGBW {
				return
			}
			shown := 0
			for _, f := range frames {
				for _, s := range sent {
					if bytes.Equal(f.Pixels[:len(s)], s) {
						shown++
						break
					}
				}
			}
			if shown == 0 {
				t.Errorf("the device showed none of the %d submitted frames", len(sent))
			}
		})
	}
}

// An explicit ddp://, dnrgb://, … URL describes its stream itself: a forced protocol leaves it
// alone, and no JSON API is asked.
func TestCompleteAsKeepsExplicitURLs(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{LEDs: 30, HTTPListen: "-"})
	for _, raw := range []string{fake.DDPURL(), fake.RealtimeURL("drgb")} {
		tg, err := wled.ParseTarget(raw)
		if err != nil {
			t.Fatal(err)
		}
		var c wled.Client
		got, _, err := c.CompleteAs(context.Background(), tg, wled.ProtocolDNRGB)
		if err != nil || got != tg {
			t.Errorf("CompleteAs(%s, dnrgb) = %+v, %v; want it unchanged", raw, got, err)
		}
	}
}

func TestCompleteAsRefusesANonProtocol(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{})
	tg, _ := wled.ParseTarget(fake.URL())
	var c wled.Client
	for _, p := range []wled.Protocol{wled.ProtocolUnknown, wled.Protocol(99)} {
		if got, _, err := c.CompleteAs(context.Background(), tg, p); err == nil {
			t.Errorf("CompleteAs(%v) = %+v, want an error", p, got)
		}
	}
}

func TestParseProtocol(t *testing.T) {
	for in, want := range map[string]wled.Protocol{
		"": wled.ProtocolAuto, "auto": wled.ProtocolAuto, "AUTO": wled.ProtocolAuto, "ddp": wled.ProtocolDDP,
		"dnrgb": wled.ProtocolDNRGB, "DNRGB": wled.ProtocolDNRGB, "drgb": wled.ProtocolDRGB,
		"drgbw": wled.ProtocolDRGBW, "warls": wled.ProtocolWARLS,
	} {
		if got, err := wled.ParseProtocol(in); err != nil || got != want {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"wled", "e131", "ddp ", "dnrgb://", "\x00"} {
		if got, err := wled.ParseProtocol(in); err == nil || !strings.Contains(err.Error(), "unknown protocol") {
			t.Errorf("ParseProtocol(%q) = %v, %v; want an unknown-protocol error", in, got, err)
		}
	}
}
