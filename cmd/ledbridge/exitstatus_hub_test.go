package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/config"
)

// A room server setting the server cannot use (an hub.allowed_origins pattern that is no pattern)
// is an invalid configuration: 78, which ledbridge.service does not restart, under `hub` and
// `join` alike, not 64, which blames the command line; the line names the key as the file spells
// it. The configuration refuses it first (hub.CheckOriginPattern, so `config check` does too);
// a refusal from hub.New itself exits 78 as well.
func TestRoomServerConfigRefusalExitsAsAConfigError(t *testing.T) {
	bin := buildBinary(t)
	body := "room:\n  code: JAM234\nhub:\n  listen: 127.0.0.1:0\n  allowed_origins: [\"[\"]\nstatus:\n  addr: 127.0.0.1:0\ndiscovery:\n  enabled: false\n"
	cfg := writeConfig(t, body)
	for _, args := range [][]string{
		{"hub", "--config", cfg},
		{"join", "--config", cfg, "--no-discovery"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "LEDBRIDGE_DEVICES=")
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != exitConfig {
			t.Errorf("ledbridge %q: exit status %d, want %d (an invalid configuration); output %q", args, got, exitConfig, out)
		}
		if strings.Count(string(out), "hub.allowed_origins[0]") != 1 || strings.Contains(string(out), "hub: hub:") {
			t.Errorf("ledbridge %q: the line does not name the refused setting once: %q", args, out)
		}
	}
}

// test-pattern's reading of effects, output.protocol and strips judges the configuration, not the
// command line: what it refuses exits 78. config.Load refuses these values first today, so the
// binary never reaches these checks; a value the two ever disagree on must still be blamed on
// the file.
func TestTestPatternConfigRefusalsAreConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*config.Config)
	}{
		{"effects", func(c *config.Config) { c.Effects.BrightnessCap = 3 }},
		{"output.protocol", func(c *config.Config) { c.Output.Protocol = "bogus" }},
		{"strips", func(c *config.Config) { c.Strips = []config.Strip{{Device: "x", Effect: "bogus"}} }},
	} {
		c := config.Default()
		tc.set(&c)
		_, err := testPatternConfig(testPatternOptions{}, c)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if got := exitStatus(err); got != exitConfig {
			t.Errorf("%s: %v: exit status %d, want %d (an invalid configuration)", tc.name, err, got, exitConfig)
		}
	}
}
