package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// Ctrl-C during discover's mDNS browse exits 130 with one line saying what was left undone,
// not "context canceled" with status 1.
func TestDiscoverInterruptedExits130(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "discover", "--timeout", "30s", "--config", writeConfig(t, "discovery:\n  enabled: true\n"))
	var stdout, stderr testlog.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	startCommand(t, cmd)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
		// The browse could not even start (no multicast-capable interface): nothing to interrupt.
		requireOrSkip(t, "mDNS browsing failed at once here: "+stderr.String())
		return
	case <-time.After(500 * time.Millisecond):
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("discover did not stop within 10 s of SIGINT")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if code := cmd.ProcessState.ExitCode(); code != 130 || len(lines) != 1 || !strings.Contains(lines[0], "discover: stopped before") || strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("after SIGINT: exit %d, stderr %q; want 130 and one line saying what was left undone", code, stderr.String())
	}
}

// TestDiscoverListsForcedProtocolDevicesUnprobed: a ddp:// or dnrgb:// device has no JSON API
// ledbridge asks for (README's device table), so discover lists what its URL says (protocol,
// host, port, LED count) and says it was not probed, instead of asking port 80 and calling the
// strip offline.
func TestDiscoverListsForcedProtocolDevicesUnprobed(t *testing.T) {
	bin := buildBinary(t)
	cfg := writeConfig(t, "discovery:\n  enabled: false\n")
	args := []string{"discover", "--config", cfg, "--timeout", "100ms",
		"--device", "ddp://127.0.0.1:4049?leds=60", "--device", "dnrgb://127.0.0.2?leds=150"}

	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("discover: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "ONLINE") {
		t.Fatalf("want a header and two rows:\n%s", out)
	}
	for _, want := range [][]string{
		{"127.0.0.1", "60", "ddp:4049", "not probed"},
		{"127.0.0.2", "150", "dnrgb:21324", "not probed"},
	} {
		row := ""
		for _, l := range lines[1:] {
			if strings.Contains(l, want[0]+" ") {
				row = l
			}
		}
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("the %s row %q does not show %q:\n%s", want[0], row, w, out)
			}
		}
		if strings.Contains(row, "refused") || strings.Contains(row, ":80") {
			t.Errorf("the %s row reports an HTTP probe: %q", want[0], row)
		}
	}

	out, err = exec.Command(bin, append(args, "--json")...).CombinedOutput()
	if err != nil {
		t.Fatalf("discover --json: %v\n%s", err, out)
	}
	var rows []struct {
		Host, IP, Protocol, Error string
		LEDs                      int
		StreamPort                int  `json:"stream_port"`
		Online                    bool `json:"online"`
		Probed                    *bool
	}
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rows) != 2 {
		t.Fatalf("want two rows:\n%s", out)
	}
	for _, r := range rows {
		if r.Probed == nil || *r.Probed || r.Online || r.Error != "" || r.LEDs == 0 || r.StreamPort == 0 || r.Protocol == "" || r.IP != r.Host {
			t.Errorf("JSON row %+v: want probed false, no error, and the URL's protocol, port, LEDs and address", r)
		}
	}
}
