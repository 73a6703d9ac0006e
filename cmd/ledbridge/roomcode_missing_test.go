package main

import (
	"os/exec"
	"strings"
	"testing"
)

// A config file without room.code, run as the unit runs join (no CODE argument), is the file's
// problem: exit 78 naming room.code, not 64 ("a bad command line"), which systemctl status would
// show as USAGE. `config check` on that file passes (hub and discover need no code) but warns that
// join needs it.
func TestMissingRoomCodeIsTheConfigsProblem(t *testing.T) {
	bin := buildBinary(t)
	cfg := writeConfig(t, "status:\n  addr: \"\"\ndiscovery:\n  enabled: false\n")

	join := exec.Command(bin, "join", "--config", cfg)
	out, _ := join.CombinedOutput()
	if code := join.ProcessState.ExitCode(); code != exitConfig || !strings.Contains(string(out), "room.code") {
		t.Errorf("join --config without room.code: exit %d, output %q; want %d naming room.code", code, out, exitConfig)
	}

	check := exec.Command(bin, "config", "check", "--config", cfg)
	out, _ = check.CombinedOutput()
	if code := check.ProcessState.ExitCode(); code != 0 || !strings.Contains(string(out), "warning: room.code is not set") {
		t.Errorf("config check without room.code: exit %d, output %q; want 0 and a warning that join needs room.code", code, out)
	}
}
