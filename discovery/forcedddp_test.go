package discovery

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// oldVID is a WLED 0.11 build: UDP realtime only, DDP packets are dropped.
const oldVID = 2008000

// A venue's output.protocol: ddp must not leave a discovered controller whose firmware predates
// DDP dark: it is listed with DNRGB to its UDP realtime port, exactly what wled.Client.CompleteAs
// gives the same device configured as wled://, and the fake decodes DNRGB over real UDP.
func TestRegistryForcedDDPFallsBackOnOldFirmware(t *testing.T) {
	const mac = "02fc0000dd01"
	f := wledtest.New(t, wledtest.Config{MAC: mac, LEDs: 50, VID: oldVID, Name: "old-strip"})
	h := startRegistry(t, Config{Protocol: "ddp"}, answerFor(t, f, true))
	h.waitRound()
	ds := h.reg.Devices()
	if len(ds) != 1 || !ds[0].Online {
		t.Fatalf("Devices() = %+v, want the old controller online", ds)
	}
	got, ok := ds[0].Target()
	if !ok || got.Protocol != wled.ProtocolDNRGB || got.UDPAddr() != f.RealtimeAddr() || got.LEDs != 50 {
		t.Fatalf("forced ddp on vid %d: Target() = %v, %v; want dnrgb to %s with 50 LEDs", oldVID, got, ok, f.RealtimeAddr())
	}

	// The session's path for a configured wled:// device agrees.
	tg, err := wled.ParseTarget(f.URL())
	if err != nil {
		t.Fatal(err)
	}
	var c wled.Client
	resolved, _, err := c.CompleteAs(context.Background(), tg, wled.ProtocolDDP)
	if err != nil {
		t.Fatal(err)
	}
	if resolved.Protocol != got.Protocol || resolved.UDPAddr() != got.UDPAddr() || resolved.LEDs != got.LEDs || resolved.RGBW != got.RGBW {
		t.Errorf("discovery gives %v, wled.Client.CompleteAs gives %v for the same device", got, resolved)
	}

	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: got})
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; f.FrameCount() < 3 && time.Now().Before(deadline); i++ {
		frame := make([]byte, o.FrameBytes())
		frame[0] = byte(i + 1)
		o.Submit(frame)
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	frames := f.Frames()
	if len(frames) < 3 || f.Malformed() != 0 {
		t.Fatalf("the device showed %d frames, malformed %v", len(frames), f.MalformedReasons())
	}
	for _, fr := range frames {
		if fr.Protocol != "DNRGB" {
			t.Fatalf("the device received %s, want DNRGB", fr.Protocol)
		}
	}
}

// The fallback is logged, naming the device and both protocols; a device whose firmware takes
// DDP gets it, without a word.
func TestRegistryLogsTheForcedDDPFallback(t *testing.T) {
	old := startFake(t, "127.0.0.1:0", "02fc0000dd02", 40)
	old.SetInfo(func(i *wled.Info) { i.VID = oldVID; i.UDPPort = 21325 })
	current := startFake(t, "127.0.0.1:0", "02fc0000dd03", 40)
	var logs bytes.Buffer
	ds, err := Browse(context.Background(), Config{DisableMDNS: true, Protocol: "ddp",
		Static: []string{"wled://" + old.HTTPAddr(), "wled://" + current.HTTPAddr()},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	byMAC := map[string]Device{}
	for _, d := range ds {
		byMAC[d.MAC] = d
	}
	if d := byMAC["02fc0000dd02"]; d.Protocol != wled.ProtocolDNRGB || d.StreamPort != 21325 {
		t.Errorf("old firmware: %+v, want dnrgb on its udpport 21325", d)
	}
	if d := byMAC["02fc0000dd03"]; d.Protocol != wled.ProtocolDDP || d.StreamPort != wled.DDPPort {
		t.Errorf("current firmware: %+v, want the forced ddp on %d", d, wled.DDPPort)
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "predates the forced protocol") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "forced=ddp") || !strings.Contains(lines[0], "protocol=dnrgb") ||
		!strings.Contains(lines[0], "mac=02fc0000dd02") || !strings.Contains(lines[0], "level=WARN") {
		t.Errorf("fallback log lines = %q, want one warning for 02fc0000dd02 naming ddp and dnrgb", lines)
	}
}
