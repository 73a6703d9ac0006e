package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A reload is all or nothing: a file whose devices the running daemon must refuse changes
// nothing, not the brightness or the mode either. Here the refusal comes from output.protocol,
// which the file changes but which applies only at a restart: the daemon still streams DRGB,
// which carries 490 LEDs, and the new wled:// line asks for 600. `config check` passes the file
// (DDP carries them), so the log line must say that output.protocol needs a restart.
func TestRefusedReloadAppliesNothing(t *testing.T) {
	config := func(protocol, mode string, brightness float64, devices ...string) string {
		return fmt.Sprintf("room:\n  code: ALLXYZ\n  mode: %s\noutput:\n  protocol: %s\ndevices: [%s]\ndiscovery:\n  enabled: false\neffects:\n  brightness_cap: %v\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n  token: tok\n",
			mode, protocol, `"`+strings.Join(devices, `", "`)+`"`, brightness)
	}
	running := "drgb://127.0.0.1:21399?leds=10"
	r := startReloadRig(t, config("drgb", "auto", 0.5, running))
	waitJoin(t, 10*time.Second, "joined", func() bool { return r.room().Connection.State == "joined" })

	r.write(config("ddp", "broadcast", 0.2, running, "wled://127.0.0.1:18081?leds=600"))
	if err := r.cmd.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitJoin(t, 10*time.Second, "the reload rejected", func() bool { return strings.Contains(r.stderr.String(), "reload rejected") })
	if got := r.room(); got.Mode != "auto" || !near(got.Brightness, 0.5) {
		t.Errorf("a refused reload applied part of the file: mode %s, brightness %v; want auto at 0.5 (the running configuration)", got.Mode, got.Brightness)
	}
	var line string
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.Contains(l, "reload rejected") {
			line = l
		}
	}
	for _, want := range []string{"wled://127.0.0.1:18081?leds=600", "output.protocol", "restart", "drgb", "490"} {
		if !strings.Contains(line, want) {
			t.Errorf("the refusal %q does not say %q", line, want)
		}
	}
	if strings.Contains(line, "set output.protocol to dnrgb or ddp") {
		t.Errorf("the refusal %q tells the operator to set output.protocol, which the file already does", line)
	}

	// The same file, once the daemon runs DDP, is taken whole; here: the file as it ran, with the
	// brightness and mode changed, still reloads (nothing was left half applied).
	r.write(config("drgb", "broadcast", 0.2, running))
	r.reload()
	if got := r.room(); got.Mode != "broadcast" || !near(got.Brightness, 0.2) {
		t.Errorf("after a reload that fits: mode %s, brightness %v; want broadcast at 0.2", got.Mode, got.Brightness)
	}
}
