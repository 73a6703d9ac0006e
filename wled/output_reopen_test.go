package wled_test

import (
	"context"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/bridge/testlog"
	"github.com/ledbridge/ledbridge/wled"
)

// An output whose socket cannot be re-opened (its link-local zone's interface is gone, a USB
// adapter unplugged) says so in a line of its own, with the error and the device's address,
// once and then at most once a minute as "wled send failed" does, and counts the failures in
// its Stats.
func TestOutputLogsAndCountsFailedReopens(t *testing.T) {
	if !testenv.InNetworkNamespace(t, linkLocalPair) {
		return
	}
	device, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		t.Fatal(err)
	}
	defer device.Close()
	port := device.LocalAddr().(*net.UDPAddr).Port
	var logs testlog.Buffer
	o, err := wled.NewOutput(wled.OutputConfig{
		Target: wled.Target{Protocol: wled.ProtocolDDP, Host: "fe80::2%va", Port: port, LEDs: 30},
		Logger: testlog.NewLogger(&logs, slog.LevelInfo),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = o.Run(ctx) }()
	defer func() { cancel(); <-done }()
	frame := make([]byte, o.FrameBytes())
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			o.Submit(frame)
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v\n%s", what, o.Stats(), logs.String())
			}
		}
	}
	waitFor("the first frame", func() bool { return o.Stats().FramesSent > 0 })
	if out, err := exec.Command("ip", "link", "del", "va").CombinedOutput(); err != nil {
		t.Fatalf("ip link del va: %v\n%s", err, out)
	}
	waitFor("three failed re-opens", func() bool { return o.Stats().ReopenFailures >= 3 })
	lines := logs.Lines("wled socket could not be re-opened")
	if len(lines) != 1 {
		t.Fatalf("%d re-open failure lines for %d failures within a minute, want 1:\n%s", len(lines), o.Stats().ReopenFailures, logs.String())
	}
	for _, want := range []string{"level=WARN", "addr=", "fe80::2%va", "err=", "zone va"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("re-open failure line %q does not mention %q", lines[0], want)
		}
	}
}
