package wled_test

import (
	"bytes"
	"log/slog"
	"os/exec"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// These tests change this machine's own address under a running output, as a new DHCP lease or
// Ethernet unplugged with Wi-Fi taking over does. Each runs in a network namespace of its own. The
// fake WLED sits at 10.9.0.2 on the namespace's loopback, and the route to it names the machine's
// address as the source: 10.9.0.1 at first, then 10.9.0.7, while 10.9.0.1 goes away. A socket
// opened before the change stays bound to 10.9.0.1, and the kernel refuses its every write
// ("network is unreachable"); one opened after it works.
const ownAddressSetup = "ip addr add 10.9.0.1/32 dev lo && ip addr add 10.9.0.2/32 dev lo && " +
	"ip route replace local 10.9.0.2 dev lo table local scope host src 10.9.0.1"

func changeOwnAddress(t *testing.T) {
	t.Helper()
	const script = "ip addr del 10.9.0.1/32 dev lo && ip addr add 10.9.0.7/32 dev lo && " +
		"ip route replace local 10.9.0.2 dev lo table local scope host src 10.9.0.7"
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

func TestOutputRecoversAfterOwnAddressChange(t *testing.T) {
	if !testenv.InNetworkNamespace(t, ownAddressSetup) {
		return
	}
	// 1000 LEDs: three DDP packets a frame, so a frame half-written when the change comes shows up
	// as an incomplete frame at the fake.
	fake := wledtest.New(t, wledtest.Config{LEDs: 1000, DDPListen: "10.9.0.2:0", RealtimeListen: "-", HTTPListen: "-"})
	tg, err := wled.ParseTarget(fake.DDPURL())
	if err != nil {
		t.Fatal(err)
	}
	logs := &countingHandler{counts: map[string]int{}}
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Logger: slog.New(logs)})
	submitUntil(t, o, fake, 3)

	changeOwnAddress(t)
	shownBefore := fake.FrameCount()
	sent := submitUntil(t, o, fake, shownBefore+5) // fails after 10 s without them
	stop()

	for i, f := range fake.Frames()[shownBefore:] {
		submitted := false
		for _, s := range sent {
			submitted = submitted || bytes.Equal(s, f.Pixels)
		}
		if !f.Complete || !submitted {
			t.Errorf("frame %d after the change: complete %v, one of the frames submitted since %v", i, f.Complete, submitted)
		}
	}
	if fake.Malformed() != 0 || fake.SequenceGaps() > 1 { // one gap: the frames lost to the change
		t.Errorf("%d malformed %v, %d sequence gaps", fake.Malformed(), fake.MalformedReasons(), fake.SequenceGaps())
	}
	st := o.Stats()
	if st.SendErrors == 0 || st.Reopens != 1 {
		t.Errorf("stats %+v: want the sends between the change and the reopen failed, and one reopen", st)
	}
	if n, m := logs.count("wled send failed"), logs.count("wled socket re-opened after sends kept failing"); n != 1 || m != 1 {
		t.Errorf("logged %d \"send failed\" and %d \"re-opened\" lines, want one of each", n, m)
	}
}

// A UDP realtime device must be released even when the change comes just before shutdown, before
// any reopen: with timeout 255 it would stay frozen in realtime mode.
func TestOutputReleasesAfterOwnAddressChange(t *testing.T) {
	if !testenv.InNetworkNamespace(t, ownAddressSetup) {
		return
	}
	fake := wledtest.New(t, wledtest.Config{LEDs: 100, DDPListen: "-", RealtimeListen: "10.9.0.2:0", HTTPListen: "-"})
	tg, err := wled.ParseTarget(fake.RealtimeURL("drgb"))
	if err != nil {
		t.Fatal(err)
	}
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Timeout: 255 * time.Second})
	submitUntil(t, o, fake, 1)
	changeOwnAddress(t)
	stop()
	waitFor(t, func() bool { return fake.Releases() > 0 })
	if fake.Releases() != 1 {
		t.Errorf("releases = %d after the machine's address changed, want 1", fake.Releases())
	}
}
