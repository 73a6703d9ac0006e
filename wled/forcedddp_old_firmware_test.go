package wled_test

import (
	"context"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A venue's output.protocol: ddp must not leave a controller whose firmware predates DDP dark:
// such a wled:// device gets DNRGB on its UDP realtime port, as the automatic choice gives it,
// and the resolved target says so (callers log it). The fake decodes what arrives over real UDP.
func TestCompleteAsFallsBackFromDDPOnOldFirmware(t *testing.T) {
	cases := []struct {
		name  string
		vid   int
		wire  string // Frame.Protocol the fake decodes
		toDDP bool   // frames go to the DDP port, not the realtime one
	}{
		{"0.11 build", 2008000, "DNRGB", false},
		// The builds are literals, not wled.MinDDPVID: the threshold is WLED's (DDP from vid
		// 2110060 on, as LedFx's wled_support_DDP has it), and a wrong constant must fail here.
		{"last build before DDP", 2110059, "DNRGB", false},
		{"first DDP build", 2110060, "DDP", true},
		{"0.13.x build", 2208222, "DDP", true},
		{"no vid reported", 0, "DDP", true}, // nothing says DDP cannot work: the venue's choice stands
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := wledtest.New(t, wledtest.Config{LEDs: 60})
			fake.SetInfo(func(i *wled.Info) { i.VID = tc.vid })
			tg, err := wled.ParseTarget(fake.URL())
			if err != nil {
				t.Fatal(err)
			}
			var c wled.Client
			got, info, err := c.CompleteAs(context.Background(), tg, wled.ProtocolDDP)
			if err != nil {
				t.Fatal(err)
			}
			wantAddr := fake.RealtimeAddr()
			if tc.toDDP {
				wantAddr = fake.DDPAddr()
			}
			if got.Protocol.String() != map[string]string{"DNRGB": "dnrgb", "DDP": "ddp"}[tc.wire] ||
				got.UDPAddr() != wantAddr || got.LEDs != 60 || info.VID != tc.vid {
				t.Fatalf("CompleteAs(ddp) on vid %d = %+v (to %s), want %s to %s with 60 LEDs", tc.vid, got, got.UDPAddr(), tc.wire, wantAddr)
			}
			if auto := wled.ChooseProtocol(info); tc.wire == "DNRGB" && got.Protocol != auto {
				t.Errorf("fallback %v differs from the automatic choice %v for the same firmware", got.Protocol, auto)
			}
			o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: got})
			submitUntil(t, o, fake, 3)
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
		})
	}
}
