package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/wled"
)

// A reload's check refuses every device line SetDevices would, before anything is applied: a line
// that forces a protocol without its LED count (ddp://host, no ?leds=) is refused by the
// session's rule, and the refusal says so; were it let through, the access, effects and mode
// would be applied before SetDevices refused it.
func TestReloadCheckRefusesForcedLineWithoutLEDCount(t *testing.T) {
	var running config.Config
	running.Output.Protocol = "auto"
	r := &reloader{running: running}
	file := running
	file.Devices = []string{"wled://127.0.0.1:18081", "ddp://127.0.0.1:4048"}
	err := r.checkDevices(file)
	if err == nil || !strings.Contains(err.Error(), "?leds=") || !strings.Contains(err.Error(), "ddp://127.0.0.1:4048") {
		t.Fatalf("checkDevices = %v, want the ddp:// line refused for its missing ?leds=", err)
	}
}

// When the file sets another output.protocol than the daemon runs, a wled:// line that the
// running protocol cannot carry is refused with the restart the file's protocol needs, not the
// advice to set output.protocol (the file already does), and the refusal is still
// ErrTooManyLEDs.
func TestReloadCheckSaysFileProtocolNeedsRestart(t *testing.T) {
	var running config.Config
	running.Output.Protocol = "drgb"
	r := &reloader{running: running}
	file := running
	file.Output.Protocol = "ddp"
	file.Devices = []string{"wled://127.0.0.1:18081?leds=600"}
	err := r.checkDevices(file)
	if !errors.Is(err, wled.ErrTooManyLEDs) {
		t.Fatalf("checkDevices = %v, want ErrTooManyLEDs", err)
	}
	for _, want := range []string{"wled://127.0.0.1:18081?leds=600", "restart", "drgb", "490", "ddp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "set output.protocol") {
		t.Errorf("the refusal %q tells the operator to set output.protocol, which the file already does", err)
	}
}

// The restart hint names the file's output.protocol as the file spells it: "auto", which the key
// takes, not wled.ProtocolAuto's name ("wled"), which it does not (review 206 saw "the file's
// output.protocol wled").
func TestReloadCheckNamesTheFilesProtocolAsWritten(t *testing.T) {
	var running config.Config
	running.Output.Protocol = "drgb"
	r := &reloader{running: running}
	file := running
	file.Output.Protocol = "auto"
	file.Devices = []string{"wled://127.0.0.1:18081?leds=600"}
	err := r.checkDevices(file)
	if err == nil || !strings.Contains(err.Error(), "the file's output.protocol auto applies") {
		t.Errorf("checkDevices = %v, want the file's protocol named as written (auto)", err)
	}
}
