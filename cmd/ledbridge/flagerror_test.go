package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestFlagErrorsNameTheFlag: a bad value given on the command line is reported under the flag
// the operator typed, not the config key the flag overrides, which appears nowhere on their
// command line (and may not be in their config file either).
func TestFlagErrorsNameTheFlag(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		args    []string
		want    []string
		notWant string
	}{
		{[]string{"hub", "--addr", ":99999"}, []string{"hub: --addr", "65535", `":99999"`}, "hub.listen"},
		{[]string{"join", "JAM234", "--listen", ":99999"}, []string{"join: --listen", "65535"}, "hub.listen"},
		{[]string{"join", "JAM234", "--status-addr", "1.2.3.4.5:80"}, []string{"join: --status-addr", "1.2.3.4.5:80"}, "status.addr"},
		{[]string{"join", "JAM234", "--mode", "disco"}, []string{"join: --mode", "disco"}, "room.mode"},
		{[]string{"hub", "--log-format", "xml"}, []string{"hub: --log-format", "xml"}, "log.format"},
	} {
		cmd := exec.Command(bin, append(tc.args, "--config", "/dev/null")...)
		cmd.Env = append(os.Environ(), "LEDBRIDGE_DEVICES=")
		out, _ := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if cmd.ProcessState.ExitCode() != exitUsage || len(lines) != 1 {
			t.Errorf("%q: exit %d, output %q; want exit %d and one line", tc.args, cmd.ProcessState.ExitCode(), out, exitUsage)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(lines[0], w) {
				t.Errorf("%q: %q does not mention %q", tc.args, lines[0], w)
			}
		}
		if strings.Contains(lines[0], tc.notWant) {
			t.Errorf("%q: %q names the config key %s, which the command line does not", tc.args, lines[0], tc.notWant)
		}
	}

	// The same value from the environment still names the variable and its key.
	cmd := exec.Command(bin, "hub", "--config", "/dev/null")
	cmd.Env = append(os.Environ(), "LEDBRIDGE_HUB_LISTEN=:99999")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "LEDBRIDGE_HUB_LISTEN") || !strings.Contains(string(out), "hub.listen") {
		t.Errorf("hub with LEDBRIDGE_HUB_LISTEN=:99999: %q", out)
	}
}
