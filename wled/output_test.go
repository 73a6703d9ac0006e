package wled_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// submitUntil submits distinct frames until the fake has shown n of them.
func submitUntil(t *testing.T, o *wled.Output, fake *wledtest.Fake, n int) [][]byte {
	t.Helper()
	var sent [][]byte
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; fake.FrameCount() < n; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("fake showed %d of %d frames; malformed %v", fake.FrameCount(), n, fake.MalformedReasons())
		}
		f := ramp(o.FrameBytes())
		f[0] = byte(i)
		sent = append(sent, f)
		o.Submit(f)
		time.Sleep(5 * time.Millisecond)
	}
	return sent
}

func TestOutputDDPReleasesOverJSONAPI(t *testing.T) {
	fake := newFake(t, 300, false)
	var c wled.Client
	tg, _ := wled.ParseTarget(fake.URL())
	tg, _, err := c.Complete(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Name: "bar"})
	if o.Name() != "bar" || o.LEDs() != 300 || o.RGBW() || o.FrameBytes() != 900 {
		t.Fatalf("name %q leds %d rgbw %v bytes %d", o.Name(), o.LEDs(), o.RGBW(), o.FrameBytes())
	}
	preview := make([]byte, 900)
	if o.CopyLastSent(preview) != 0 {
		t.Error("CopyLastSent before any frame returned data")
	}
	submitUntil(t, o, fake, 5)
	stop()
	frames := fake.Frames()
	last := frames[len(frames)-1]
	if n := o.CopyLastSent(preview); n != 900 || !bytes.Equal(preview, last.Pixels) {
		t.Errorf("CopyLastSent (%d bytes) differs from the last frame the device showed", n)
	}
	if fake.Malformed() != 0 {
		t.Errorf("malformed: %v", fake.MalformedReasons())
	}
	reqs := fake.StateRequests()
	if len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live {
		t.Errorf("release: state requests %+v, want one {\"live\":false}", reqs)
	}
	st := o.Stats()
	if st.FramesSent < 5 || st.Packets != st.FramesSent || st.SendErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestOutputRealtimeReleasesWithTimeoutZero(t *testing.T) {
	fake := newFake(t, 1000, false)
	tg, _ := wled.ParseTarget(fake.RealtimeURL("dnrgb"))
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Timeout: 3 * time.Second})
	sent := submitUntil(t, o, fake, 3)
	stop()
	waitFor(t, func() bool { return fake.Releases() > 0 })
	if fake.Releases() != 1 {
		t.Errorf("releases = %d, want 1", fake.Releases())
	}
	for _, f := range fake.Frames() {
		if f.Timeout != 3 || !f.Complete || f.Packets != 3 {
			t.Errorf("frame: timeout %d complete %v packets %d", f.Timeout, f.Complete, f.Packets)
		}
		found := false
		for _, s := range sent {
			found = found || bytes.Equal(s, f.Pixels)
		}
		if !found {
			t.Error("device showed a frame that was never submitted")
		}
	}
}

func TestOutputSubmitDropsInsteadOfQueueing(t *testing.T) {
	tg, _ := wled.ParseTarget("ddp://127.0.0.1:9?leds=10")
	o, err := wled.NewOutput(wled.OutputConfig{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	f := make([]byte, 30)
	for i := 0; i < 1000; i++ {
		o.Submit(f) // no Run: must still never block
	}
	o.Submit(make([]byte, 7))
	if st := o.Stats(); st.Dropped != 1000 || st.BadFrames != 1 || st.FramesSent != 0 {
		t.Errorf("stats %+v, want 1000 dropped, 1 bad", st)
	}
}

func TestOutputPacesToMinInterval(t *testing.T) {
	fake := newFake(t, 50, false)
	tg, _ := wled.ParseTarget(fake.DDPURL())
	const interval = 50 * time.Millisecond
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, MinInterval: interval})
	start := time.Now()
	f := make([]byte, 150)
	for time.Since(start) < 300*time.Millisecond {
		o.Submit(f)
		time.Sleep(time.Millisecond)
	}
	stop()
	elapsed := time.Since(start)
	st := o.Stats()
	// An upper bound only: a loaded machine may send fewer, never more.
	if max := uint64(elapsed/interval) + 2; st.FramesSent > max {
		t.Errorf("%d frames in %v with a %v minimum interval (max %d)", st.FramesSent, elapsed, interval, max)
	}
	if st.FramesSent == 0 || st.Dropped == 0 {
		t.Errorf("stats %+v: want frames sent and frames dropped", st)
	}
}

// TestOutputDeadDeviceDoesNotStopOthers runs one output at a port nobody listens on (loopback
// answers with ICMP port unreachable → ECONNREFUSED) next to a healthy one.
func TestOutputDeadDeviceDoesNotStopOthers(t *testing.T) {
	dead, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	deadTarget, _ := wled.ParseTarget("ddp://" + deadAddr + "?leds=100")
	d, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: deadTarget, MinInterval: time.Millisecond})

	fake := newFake(t, 100, false)
	tg, _ := wled.ParseTarget(fake.DDPURL())
	o, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, MinInterval: time.Millisecond})
	f := make([]byte, 300)
	deadline := time.Now().Add(10 * time.Second)
	for d.Stats().SendErrors < 3 || fake.FrameCount() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("dead %+v, healthy fake frames %d", d.Stats(), fake.FrameCount())
		}
		d.Submit(f)
		o.Submit(f)
		time.Sleep(2 * time.Millisecond)
	}
	if st := d.Stats(); st.LastError == "" {
		t.Errorf("dead device stats %+v: no last error", st)
	}
	if st := o.Stats(); st.SendErrors != 0 {
		t.Errorf("healthy device stats %+v", st)
	}
}

func TestOutputRejects(t *testing.T) {
	noLEDs, _ := wled.ParseTarget("ddp://127.0.0.1:9")
	if _, err := wled.NewOutput(wled.OutputConfig{Target: noLEDs}); err == nil {
		t.Error("output without an LED count accepted")
	}
	auto, _ := wled.ParseTarget("wled://127.0.0.1:9?leds=3")
	if _, err := wled.NewOutput(wled.OutputConfig{Target: auto}); err == nil {
		t.Error("unresolved wled:// target accepted")
	}
	tg, _ := wled.ParseTarget("ddp://127.0.0.1:9?leds=3")
	o, err := wled.NewOutput(wled.OutputConfig{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(ctx); !errors.Is(err, wled.ErrAlreadyRun) {
		t.Errorf("second Run: %v", err)
	}
}

// waitFor polls cond (UDP delivery to the fake is asynchronous) for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

// countingHandler counts log records by message.
type countingHandler struct {
	mu     sync.Mutex
	counts map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.counts[r.Message]++
	h.mu.Unlock()
	return nil
}

func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[msg]
}

// A strip whose port refuses datagrams fails every other send on the connected socket (the
// ICMP refusal comes back as the next send's error). That must log one line, not two per
// frame, and show as failing until frames have gone out cleanly for RecoveredAfter.
// TestOutputRefusingDeviceMultiPacketFrameCostsNoReopen: to a refusing port, a DDP frame of
// several packets fails on every send (packet 1's refusal comes back as packet 2's error), so
// failures never stop; a refusal is still the device's answer, and the socket is not re-opened.
func TestOutputRefusingDeviceMultiPacketFrameCostsNoReopen(t *testing.T) {
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().(*net.UDPAddr)
	probe.Close()
	tg, _ := wled.ParseTarget("ddp://" + addr.String() + "?leds=2000") // 5 packets a frame
	o, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: tg})
	frame := make([]byte, o.FrameBytes())
	for end := time.Now().Add(wled.ReopenAfter + time.Second); time.Now().Before(end); {
		o.Submit(frame)
		time.Sleep(5 * time.Millisecond)
	}
	st := o.Stats()
	if st.SendErrors < 5 || !st.Failing {
		t.Fatalf("expected the refusals to show, got %+v", st)
	}
	if st.Reopens != 0 {
		t.Errorf("the socket was re-opened %d times for a device that refuses datagrams: %+v", st.Reopens, st)
	}
}

func TestOutputRefusingDeviceLogsOnceAndShowsFailing(t *testing.T) {
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().(*net.UDPAddr)
	probe.Close()
	tg, _ := wled.ParseTarget("ddp://" + addr.String() + "?leds=50")
	logs := &countingHandler{counts: map[string]int{}}
	o, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Logger: slog.New(logs)})
	frame := make([]byte, o.FrameBytes())
	submitFor := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			o.Submit(frame)
			time.Sleep(5 * time.Millisecond)
		}
	}

	submitFor(time.Second) // about 60 frames at the default pacing
	st := o.Stats()
	if st.SendErrors < 5 || st.FramesSent == 0 {
		t.Fatalf("expected alternating refusals and sends, got %+v", st)
	}
	if !st.Failing {
		t.Errorf("a device refusing every datagram does not show as failing: %+v", st)
	}
	if st.Reopens != 0 { // every other send works: nothing to gain from a new socket
		t.Errorf("the socket was re-opened %d times for a device that refuses datagrams", st.Reopens)
	}
	if n, m := logs.count("wled send failed"), logs.count("wled sending again"); n != 1 || m != 0 {
		t.Errorf("logged %d \"send failed\" and %d \"sending again\" lines for %d errors, want 1 and 0", n, m, st.SendErrors)
	}

	// The strip comes back on the same port.
	back, err := net.ListenUDP("udp", addr)
	if err != nil {
		t.Fatalf("cannot bind the device's port %d again: %v", addr.Port, err)
	}
	defer back.Close()
	errorsThen := o.Stats().SendErrors
	submitFor(wled.RecoveredAfter + 500*time.Millisecond)
	st = o.Stats()
	if st.Failing || logs.count("wled sending again") != 1 {
		t.Errorf("after the device came back: %+v, %d \"sending again\" lines", st, logs.count("wled sending again"))
	}
	if st.SendErrors > errorsThen+1 { // the last datagram before the bind may still be refused
		t.Errorf("errors kept coming after the device came back: %d → %d", errorsThen, st.SendErrors)
	}
}

func TestOutputRealtimeReleasesAfterAnIdleSpell(t *testing.T) {
	// The loop may stop submitting for a while before shutdown (a jam paused, a mode switch).
	// The release must still go out: with the timeout byte at 255 WLED would otherwise stay in
	// realtime mode, frozen, until someone power-cycles it.
	fake := newFake(t, 100, false)
	tg, _ := wled.ParseTarget(fake.RealtimeURL("drgb"))
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Timeout: 255 * time.Second})
	submitUntil(t, o, fake, 1)
	time.Sleep(1500 * time.Millisecond) // longer than a send's write deadline (1 s)
	stop()
	waitFor(t, func() bool { return fake.Releases() > 0 })
	if fake.Releases() != 1 {
		t.Errorf("releases = %d after an idle spell, want 1", fake.Releases())
	}
}

// resolvedTarget asks the fake's JSON API, as a wled:// device is resolved: DDP, with the API known.
func resolvedTarget(t *testing.T, fake *wledtest.Fake) wled.Target {
	t.Helper()
	var c wled.Client
	tg, err := wled.ParseTarget(fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	tg, _, err = c.Complete(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// An output replaced by another for the same device (its target changed: here the LED count) must
// not release the device while the other drives it: WLED would leave realtime mode between two of
// the successor's frames. Whichever stops last releases it, once, even if it never sent a frame.
func TestOutputLeavesTheReleaseToItsSuccessor(t *testing.T) {
	for _, tc := range []struct {
		name                                string
		successorSends, successorStopsFirst bool
	}{
		{"successor streaming", true, false},
		{"successor not sent yet", false, false},
		{"successor stops first", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t, 300, false)
			tg := resolvedTarget(t, fake)
			old, stopOld := wledtest.StartOutput(t, wled.OutputConfig{Target: tg, Name: "old"})
			submitUntil(t, old, fake, 3)
			changed := tg
			changed.LEDs = 200
			successor, stopSuccessor := wledtest.StartOutput(t, wled.OutputConfig{Target: changed, Name: "successor"})
			if tc.successorSends {
				submitUntil(t, successor, fake, fake.FrameCount()+3)
			}
			first, last := stopOld, stopSuccessor
			if tc.successorStopsFirst {
				first, last = stopSuccessor, stopOld
			}
			first() // returns after the release, if any, was answered
			if reqs := fake.StateRequests(); len(reqs) != 0 {
				t.Fatalf("released while another output drives the device: %+v", reqs)
			}
			last()
			if reqs := fake.StateRequests(); len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live {
				t.Errorf("after both stopped: state requests %+v, want one {\"live\":false}", reqs)
			}
		})
	}
}

// A device this output never sent a frame to may be someone else's to drive (another sender,
// another ledbridge): stopping must leave it alone.
func TestOutputDoesNotReleaseADeviceItNeverDrove(t *testing.T) {
	fake := newFake(t, 100, false)
	_, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: resolvedTarget(t, fake)})
	stop()
	if reqs := fake.StateRequests(); len(reqs) != 0 {
		t.Errorf("state requests %+v from an output that sent no frame", reqs)
	}

	tg, _ := wled.ParseTarget(fake.RealtimeURL("drgb"))
	_, stop = wledtest.StartOutput(t, wled.OutputConfig{Target: tg})
	stop()
	// A second output that drives the device: its release is the only one. (The first one's
	// would have been sent before it, from the same host.)
	o, stop := wledtest.StartOutput(t, wled.OutputConfig{Target: tg})
	submitUntil(t, o, fake, 1)
	stop()
	waitFor(t, func() bool { return fake.Releases() > 0 })
	if fake.Releases() != 1 {
		t.Errorf("releases = %d, want 1: from the output that drove the device only", fake.Releases())
	}
}

// The successor may speak another protocol to the same device (its JSON API names it): the
// DDP output leaves the release to it, and it releases in its own protocol.
func TestOutputLeavesTheReleaseToASuccessorOfAnotherProtocol(t *testing.T) {
	fake := newFake(t, 300, false)
	tg := resolvedTarget(t, fake)
	old, stopOld := wledtest.StartOutput(t, wled.OutputConfig{Target: tg})
	submitUntil(t, old, fake, 3)
	dnrgb := tg
	dnrgb.Protocol, dnrgb.Port = wled.ProtocolDNRGB, portOf(t, fake.RealtimeAddr())
	successor, stopSuccessor := wledtest.StartOutput(t, wled.OutputConfig{Target: dnrgb})
	submitUntil(t, successor, fake, fake.FrameCount()+3)
	stopOld()
	stopSuccessor()
	waitFor(t, func() bool { return fake.Releases() > 0 })
	if reqs := fake.StateRequests(); len(reqs) != 0 || fake.Releases() != 1 {
		t.Errorf("state requests %+v and %d timeout-0 packets, want none and one (the successor's)", reqs, fake.Releases())
	}
}
