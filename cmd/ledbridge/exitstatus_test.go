package main

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A start that cannot succeed exits with its own status, which ledbridge.service does not restart:
// 78 (EX_CONFIG) for an invalid configuration, 64 (EX_USAGE) for a bad command line. Neither is 2,
// the Go runtime's status for a crash, which must be restarted.
func TestRefusedStartsExitWithTheirOwnStatus(t *testing.T) {
	bin := buildBinary(t)
	bad := writeConfig(t, "effects:\n  brightness_cap: 3\n")
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want int
	}{
		{"invalid config file", []string{"config", "check", "--config", bad}, "", exitConfig},
		{"join with an invalid config file", []string{"join", "JAM234", "--no-discovery", "--config", bad}, "", exitConfig},
		{"invalid environment variable", []string{"config", "check", "--config", "/dev/null"}, "LEDBRIDGE_STATUS_ADDR=:99999", exitConfig},
		{"unknown key", []string{"config", "check", "--config", writeConfig(t, "room:\n  bogus: 1\n")}, "", exitConfig},
		{"unknown flag", []string{"join", "--bogus"}, "", exitUsage},
		{"unknown command", []string{"bogus"}, "", exitUsage},
		{"bad flag value", []string{"join", "JAM234", "--config", "/dev/null", "--listen", ":99999"}, "", exitUsage},
		{"bad room code argument", []string{"join", "ABC123", "--config", "/dev/null", "--no-discovery"}, "", exitUsage},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append(os.Environ(), "LEDBRIDGE_DEVICES=", tc.env)
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != tc.want {
			t.Errorf("%s (ledbridge %q): exit status %d, want %d; output %q", tc.name, tc.args, got, tc.want, out)
		}
	}
}

// ledbridge.service must not restart a start that cannot succeed (the statuses main uses for a bad
// command line and an invalid configuration), and must restart everything else: systemd checks
// RestartPreventExitStatus= before Restart=, so a 2 there left a watchdog kill (SIGABRT, which the
// Go runtime turns into exit status 2) or a panic down for good.
func TestUnitRestartPreventsOnlyRefusedStarts(t *testing.T) {
	f, err := os.Open("../../systemd/ledbridge.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var prevented []int
	restart := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		switch {
		case !ok || strings.HasPrefix(key, "#"):
		case key == "Restart":
			restart = value
		case key == "RestartPreventExitStatus":
			if value == "" { // an empty assignment resets the list (systemd.service(5))
				prevented = nil
			}
			for _, field := range strings.Fields(value) {
				n, err := strconv.Atoi(field)
				if err != nil {
					t.Fatalf("RestartPreventExitStatus=%s: %q is not an exit status this test reads", value, field)
				}
				prevented = append(prevented, n)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(prevented)
	if want := []int{exitUsage, exitConfig}; !slices.Equal(prevented, want) {
		t.Errorf("RestartPreventExitStatus lists %v, want exactly %v (main's bad command line and invalid configuration)", prevented, want)
	}
	if slices.Contains(prevented, goCrashStatus(t)) {
		t.Errorf("RestartPreventExitStatus lists %d, the Go runtime's status for a crash and for the watchdog's SIGABRT", goCrashStatus(t))
	}
	if restart != "on-failure" && restart != "always" && restart != "on-abnormal" {
		t.Errorf("Restart=%s: a crash or a watchdog kill would not be restarted", restart)
	}
}

// goCrashStatus runs this test binary to an unrecovered panic and returns the status it exits
// with: the one a crashed (or watchdog-aborted) ledbridge exits with.
func goCrashStatus(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPanics$")
	cmd.Env = append(os.Environ(), "LEDBRIDGE_TEST_PANIC=1")
	_ = cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.Success() {
		t.Fatalf("the panicking helper did not fail: %v", cmd.ProcessState)
	}
	return cmd.ProcessState.ExitCode()
}

// TestHelperPanics is goCrashStatus's crash; run normally it does nothing.
func TestHelperPanics(t *testing.T) {
	if os.Getenv("LEDBRIDGE_TEST_PANIC") != "1" {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		panic("a crash, as the Go runtime ends it")
	}()
	<-done
}
