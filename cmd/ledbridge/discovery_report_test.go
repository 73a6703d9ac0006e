package main

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/discovery"
)

// startJoinInEmptyLAN runs `ledbridge join` with discovery on in a network namespace of its own
// whose only interface, loopback, carries multicast: a LAN where mDNS works and no WLED answers.
// Its queries go nowhere else.
func startJoinInEmptyLAN(t *testing.T, extra ...string) *testlog.Buffer {
	t.Helper()
	bin := buildBinary(t)
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			requireOrSkip(t, "needs "+tool+" (util-linux, iproute2) to make a network namespace")
		}
	}
	cfg := writeConfig(t, "discovery:\n  enabled: true\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: \"\"\n")
	args := append([]string{"join", "DSC234", "--config", cfg}, extra...)
	cmd := exec.Command("unshare", append([]string{"-rn", "sh", "-c", `ip link set lo up && ip link set lo multicast on && exec "$0" "$@"`, bin}, args...)...)
	var stderr testlog.Buffer
	cmd.Stderr = &stderr
	startCommand(t, cmd)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	waitJoin(t, 10*time.Second, "the room joined", func() bool {
		select {
		case <-exited:
			if strings.Contains(stderr.String(), "unshare:") {
				requireOrSkip(t, "cannot make a network namespace here: "+stderr.String())
			}
			t.Fatalf("join exited:\n%s", stderr.String())
		default:
		}
		return strings.Contains(stderr.String(), "joined room")
	})
	return &stderr
}

// TestJoinSaysWhatDiscoveryFound: with discovery on, no WLED answering mDNS and no device
// configured, start-up warns once its first browse has ended that no strip will light, as it
// does at once when discovery is off; with a device configured it says, once, that mDNS found
// none, without the warning.
func TestJoinSaysWhatDiscoveryFound(t *testing.T) {
	stderr := startJoinInEmptyLAN(t)
	waitJoin(t, 15*time.Second, "the discovery line", func() bool { return strings.Contains(stderr.String(), "discovery found") })
	var lines []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "discovery found") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "no WLED") || !strings.Contains(lines[0], "no strip will light") {
		t.Errorf("want one warning that discovery found no WLED and no strip will light:\n%s", stderr.String())
	}

	stderr = startJoinInEmptyLAN(t, "--device", "ddp://127.0.0.1:4048?leds=30")
	waitJoin(t, 15*time.Second, "the discovery line", func() bool { return strings.Contains(stderr.String(), "discovery found") })
	if s := stderr.String(); strings.Contains(s, "no strip will light") || !strings.Contains(s, "level=INFO") || !strings.Contains(s, "discovery found no WLED") {
		t.Errorf("with a device configured, want one info line that discovery found no WLED:\n%s", s)
	}
}

// answersBrowser is a discovery.Browser that answers every browse with the same instances.
type answersBrowser []discovery.Answer

func (a answersBrowser) Browse(context.Context, time.Duration) ([]discovery.Answer, error) {
	return a, nil
}

// TestFirstBrowseReportCountsOnce: the line counts the first browse's WLEDs, and only the first
// browse is reported.
func TestFirstBrowseReportCountsOnce(t *testing.T) {
	var logs bytes.Buffer
	b := &firstBrowseReport{
		Browser: answersBrowser{{Instance: "wled-a"}, {Instance: "wled-b"}},
		log:     slog.New(slog.NewTextHandler(&logs, nil)),
	}
	for range 3 {
		if got, err := b.Browse(context.Background(), time.Second); err != nil || len(got) != 2 {
			t.Fatalf("Browse = %v, %v; want the inner browser's two answers", got, err)
		}
	}
	if n := strings.Count(logs.String(), "discovery found"); n != 1 || !strings.Contains(logs.String(), "discovery found 2 WLEDs announced on mDNS; each is driven once its JSON API confirms it") {
		t.Errorf("want one line counting 2 WLEDs:\n%s", logs.String())
	}
}
