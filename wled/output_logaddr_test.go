package wled_test

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// TestOutputLogLinesNameTheStripsAddress: every fresh WLED is called "WLED", so a log line that
// names only the strip does not say which one went away; each line also gives its address.
func TestOutputLogLinesNameTheStripsAddress(t *testing.T) {
	logs := &testlog.Buffer{}
	log := testlog.NewLogger(logs, slog.LevelInfo)
	var addrs []*net.UDPAddr
	var outputs []*wled.Output
	for range 2 {
		probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		addr := probe.LocalAddr().(*net.UDPAddr)
		probe.Close() // the strip is away: its port refuses datagrams
		tg, _ := wled.ParseTarget("ddp://" + addr.String() + "?leds=50")
		o, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Name: "WLED", Logger: log})
		addrs, outputs = append(addrs, addr), append(outputs, o)
	}
	submitFor := func(d time.Duration) {
		frame := make([]byte, outputs[0].FrameBytes())
		for end := time.Now().Add(d); time.Now().Before(end); {
			for _, o := range outputs {
				o.Submit(frame)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	submitFor(500 * time.Millisecond)
	checkLines := func(msg string) {
		t.Helper()
		lines := logs.Lines(msg)
		for _, addr := range addrs {
			n := 0
			for _, l := range lines {
				if strings.Contains(l, "addr="+addr.String()) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d %q lines with addr=%s, want 1; lines:\n%s", n, msg, addr, strings.Join(lines, "\n"))
			}
		}
	}
	checkLines("wled send failed")

	// Both strips come back.
	for _, addr := range addrs {
		back, err := net.ListenUDP("udp", addr)
		if err != nil {
			t.Fatalf("cannot bind the strip's port %d again: %v", addr.Port, err)
		}
		defer back.Close()
	}
	submitFor(wled.RecoveredAfter + 500*time.Millisecond)
	checkLines("wled sending again")
}
