package session_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// output.protocol forces the protocol of configured wled:// devices, as it does for discovered
// ones: a strip whose firmware speaks DDP receives DNRGB on its UDP realtime port when the
// config says dnrgb, while an explicit ddp:// URL keeps DDP. The session runs for real (a LAN
// room, its frame loop); the fakes decode what reaches their UDP sockets.
func TestForcedProtocolDrivesConfiguredWLEDDevices(t *testing.T) {
	auto := wledtest.New(t, wledtest.Config{LEDs: 60, Name: "auto-60"}) // vid 2412100: DDP capable
	r := newRigWith(t, effect.ModeAuto, hub.Config{}, func(sc *session.Config) {
		sc.Protocol = "dnrgb"
		sc.Devices = append(sc.Devices, auto.URL())
	})

	frames, err := auto.WaitFrames(5, 10*time.Second)
	if err != nil {
		t.Fatalf("wled:// strip: %v (malformed %v)", err, auto.MalformedReasons())
	}
	for _, f := range frames {
		if f.Protocol != "DNRGB" {
			t.Fatalf("the wled:// strip received %s with output.protocol dnrgb, want DNRGB on its realtime port %s", f.Protocol, auto.RealtimeAddr())
		}
	}
	if !frames[len(frames)-1].Complete || auto.Malformed() != 0 {
		t.Errorf("frames incomplete or malformed: %v", auto.MalformedReasons())
	}
	ddpFrames, err := r.ddp.WaitFrames(5, 10*time.Second)
	if err != nil {
		t.Fatalf("ddp:// strip: %v", err)
	}
	for _, f := range ddpFrames {
		if f.Protocol != "DDP" {
			t.Fatalf("the explicit ddp:// strip received %s, want DDP (a URL's own protocol wins)", f.Protocol)
		}
	}

	// The status page says what is sent.
	var dev status.Device
	waitFor(t, 10*time.Second, "the wled:// strip on the status page", func() bool {
		for _, d := range r.sess.Snapshot().Devices {
			if d.ID == auto.URL() {
				dev = d
				return true
			}
		}
		return false
	})
	if dev.Protocol != "dnrgb" || dev.LEDs != 60 || dev.Name != "auto-60" {
		t.Errorf("status device = %+v, want protocol dnrgb, 60 LEDs, name auto-60", dev)
	}
}

// A protocol the session cannot stream with is refused at start, with or without discovery
// (which used to be the only part that read it).
func TestUnknownOutputProtocolIsRefused(t *testing.T) {
	code, _ := room.ParseCode(testCode)
	_, err := session.New(session.Config{Code: code, Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "k"},
		Protocol: "e131", Logger: testLog(t)})
	if err == nil || !strings.Contains(err.Error(), "e131") {
		t.Fatalf("session.New with output protocol e131: %v, want an error naming it", err)
	}
}
