package wled_test

import (
	"testing"

	"github.com/ledbridge/ledbridge/bridge/testenv"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A configured dnrgb://IP line takes over a WLED from discovery's DDP stream (or the reverse):
// the two targets share neither the frame port nor a JSON API (a configured realtime line knows
// none), only the device's IP. The output that stops first must leave the release to the other,
// or the strip flashes its own effect until the next frame. Run in a network namespace where the
// device has a LAN-like address (10.9.0.2), as on a venue's network: on loopback, test doubles
// share 127.0.0.1 and stay apart.
func TestOutputLeavesTheReleaseToAnotherProtocolAtTheSameIP(t *testing.T) {
	if !testenv.InNetworkNamespace(t, "ip addr add 10.9.0.2/32 dev lo") {
		return
	}
	newLANFake := func(t *testing.T) (*wledtest.Fake, wled.Target, wled.Target) {
		fake := wledtest.New(t, wledtest.Config{LEDs: 300,
			DDPListen: "10.9.0.2:0", RealtimeListen: "10.9.0.2:0", HTTPListen: "10.9.0.2:0"})
		ddp := resolvedTarget(t, fake) // as discovery drives it: DDP, JSON API known
		dnrgb, err := wled.ParseTarget(fake.RealtimeURL("dnrgb"))
		if err != nil {
			t.Fatal(err)
		}
		if dnrgb.Host != "10.9.0.2" || dnrgb.HTTPAddr() != "" || ddp.UDPAddr() == dnrgb.UDPAddr() {
			t.Fatalf("targets %+v and %+v: want one IP, other ports, no JSON API for the configured line", ddp, dnrgb)
		}
		return fake, ddp, dnrgb
	}

	t.Run("configured dnrgb takes over from discovery's DDP", func(t *testing.T) {
		fake, ddp, dnrgb := newLANFake(t)
		old, stopOld := wledtest.StartOutput(t, wled.OutputConfig{Target: ddp, Name: "discovered"})
		submitUntil(t, old, fake, 3)
		successor, stopSuccessor := wledtest.StartOutput(t, wled.OutputConfig{Target: dnrgb, Name: "configured"})
		submitUntil(t, successor, fake, fake.FrameCount()+3)
		stopOld() // returns after its release, if any, was answered
		if reqs := fake.StateRequests(); len(reqs) != 0 {
			t.Fatalf("the DDP output released the device the dnrgb one drives: %+v", reqs)
		}
		stopSuccessor()
		waitFor(t, func() bool { return fake.Releases() > 0 })
		if reqs := fake.StateRequests(); len(reqs) != 0 || fake.Releases() != 1 {
			t.Errorf("state requests %+v and %d timeout-0 packets, want none and one (the successor's)", reqs, fake.Releases())
		}
	})

	t.Run("discovery's DDP takes over from configured dnrgb", func(t *testing.T) {
		fake, ddp, dnrgb := newLANFake(t)
		old, stopOld := wledtest.StartOutput(t, wled.OutputConfig{Target: dnrgb, Name: "configured"})
		submitUntil(t, old, fake, 3)
		successor, stopSuccessor := wledtest.StartOutput(t, wled.OutputConfig{Target: ddp, Name: "discovered"})
		submitUntil(t, successor, fake, fake.FrameCount()+3)
		stopOld()
		// A timeout-0 packet is sent before Run returns, so it has arrived or is on its way
		// on loopback; the successor's frames after it show whether the device was released.
		submitUntil(t, successor, fake, fake.FrameCount()+3)
		if n := fake.Releases(); n != 0 {
			t.Fatalf("the dnrgb output released the device the DDP one drives (%d timeout-0 packets)", n)
		}
		stopSuccessor()
		if reqs := fake.StateRequests(); len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live || fake.Releases() != 0 {
			t.Errorf("state requests %+v and %d timeout-0 packets, want one {\"live\":false} and none", reqs, fake.Releases())
		}
	})
}

// On loopback, two fake devices share 127.0.0.1 and differ only by port: an output to one must
// still release it while an output of another protocol drives the other.
func TestOutputReleasesItsLoopbackDeviceWhileAnotherAtTheSameIPIsDriven(t *testing.T) {
	a, b := newFake(t, 300, false), newFake(t, 300, false)
	onA, stopA := wledtest.StartOutput(t, wled.OutputConfig{Target: resolvedTarget(t, a), Name: "a"})
	submitUntil(t, onA, a, 3)
	bTarget, err := wled.ParseTarget(b.RealtimeURL("dnrgb"))
	if err != nil {
		t.Fatal(err)
	}
	onB, _ := wledtest.StartOutput(t, wled.OutputConfig{Target: bTarget, Name: "b"})
	submitUntil(t, onB, b, 3)
	stopA()
	if reqs := a.StateRequests(); len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live {
		t.Errorf("device a: state requests %+v, want one {\"live\":false}", reqs)
	}
}
