package wled_test

import (
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// TestOutputRefusingLANHostStaysFailing: a machine on the LAN took the WLED's address and
// refuses its frames. Its kernel, not loopback's, answers: ICMP port unreachable at most once per
// net.ipv4.icmp_ratelimit after a burst, so our connected socket sees a refusal only every so
// often and every send between two works. Here the host is a network namespace behind a veth
// pair, its ICMP budget at 2.5 s (a host answering several senders from one budget spaces them so;
// a review rig saw 1–3 s). The strip must show Failing the whole time and log one line, not
// "sending again" between two refusals.
func TestOutputRefusingLANHostStaysFailing(t *testing.T) {
	if !testenv.InNetworkNamespace(t, "ip link add v0 type veth peer name v1 && ip addr add 10.9.2.1/24 dev v0 && ip link set v0 up") {
		return
	}
	// The refusing host: a network namespace of its own, held by a process this test ends.
	host := exec.Command("unshare", "-n", "sleep", "600")
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = host.Process.Kill()
		_ = host.Wait()
	})
	ours, _ := os.Readlink("/proc/self/ns/net")
	pid := strconv.Itoa(host.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if theirs, err := os.Readlink("/proc/" + pid + "/ns/net"); err == nil && theirs != ours {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the host's process has no network namespace of its own")
		}
	}
	script := "ip link set v1 netns " + pid + " && nsenter -t " + pid + " -n sh -c " +
		"'ip link set lo up && ip addr add 10.9.2.2/24 dev v1 && ip link set v1 up && echo 2500 > /proc/sys/net/ipv4/icmp_ratelimit'"
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}

	tg, _ := wled.ParseTarget("ddp://10.9.2.2:4048?leds=50")
	logs := &lineRecorder{}
	o, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Name: "WLED", Logger: slog.New(logs)})
	submitUntilLogged(t, o, logs, "wled send failed", 1)
	frame := make([]byte, o.FrameBytes())
	var refusedAt []time.Duration // when the refusals came, for the failure message
	start, errs := time.Now(), o.Stats().SendErrors
	notFailing := 0
	for time.Since(start) < 12*time.Second { // four refusals or more
		o.Submit(frame)
		time.Sleep(5 * time.Millisecond)
		st := o.Stats()
		if !st.Failing {
			notFailing++
		}
		if st.SendErrors != errs {
			errs = st.SendErrors
			refusedAt = append(refusedAt, time.Since(start).Round(10*time.Millisecond))
		}
	}
	if len(refusedAt) < 3 {
		t.Fatalf("refusals at %v: want one every 2.5 s", refusedAt)
	}
	if notFailing > 0 {
		t.Errorf("Failing was false at %d samples; refusals at %v", notFailing, refusedAt)
	}
	if n, m := len(logs.with("wled send failed")), len(logs.with("wled sending again")); n != 1 || m != 0 {
		t.Errorf("%d \"send failed\" and %d \"sending again\" lines, want 1 and 0; refusals at %v", n, m, refusedAt)
	}
}
