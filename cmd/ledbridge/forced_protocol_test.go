package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// wantOnlyProtocol waits for frames at fake and fails unless every one arrived as wire.
func wantOnlyProtocol(t *testing.T, what string, fake *wledtest.Fake, wire string) {
	t.Helper()
	frames, err := fake.WaitFrames(3, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v (malformed %v)", what, err, fake.MalformedReasons())
	}
	for _, f := range frames {
		if f.Protocol != wire {
			t.Fatalf("%s received %s, want %s", what, f.Protocol, wire)
		}
	}
	if fake.Malformed() != 0 {
		t.Errorf("%s: malformed %v", what, fake.MalformedReasons())
	}
}

// tableProtocol is the PROTOCOL column of test-pattern's row for device name.
func tableProtocol(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

// test-pattern drives a wled:// device with output.protocol, from the environment or the config
// file, as join does; an explicit ddp:// URL keeps DDP. The operator's report: with
// LEDBRIDGE_OUTPUT_PROTOCOL=dnrgb it printed PROTOCOL ddp and sent DDP.
func TestTestPatternForcesTheProtocolOnWLEDDevices(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name, env, config, wire string
	}{
		{"environment", "LEDBRIDGE_OUTPUT_PROTOCOL=dnrgb", "", "DNRGB"},
		{"config file", "", "output:\n  protocol: drgb\n", "DRGB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auto := wledtest.New(t, wledtest.Config{LEDs: 30}) // firmware with DDP
			explicit := wledtest.New(t, wledtest.Config{LEDs: 20})
			cfg := "/dev/null"
			if tc.config != "" {
				cfg = writeConfig(t, tc.config)
			}
			cmd := exec.Command(bin, "test-pattern", "--config", cfg, "--seconds", "0.5",
				"--device", auto.URL(), "--device", explicit.DDPURL())
			cmd.Env = os.Environ()
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("test-pattern: %v\n%s", err, out)
			}
			if got := tableProtocol(string(out), auto.URL()); got != strings.ToLower(tc.wire) {
				t.Errorf("PROTOCOL of the wled:// device = %q, want %q:\n%s", got, strings.ToLower(tc.wire), out)
			}
			if got := tableProtocol(string(out), explicit.DDPURL()); got != "ddp" {
				t.Errorf("PROTOCOL of the ddp:// device = %q, want ddp:\n%s", got, out)
			}
			wantOnlyProtocol(t, "the wled:// device", auto, tc.wire)
			wantOnlyProtocol(t, "the ddp:// device", explicit, "DDP")
		})
	}
}

// join drives a configured wled:// device with output.protocol (here from the environment) and
// the status page says so; it used to send DDP and show "protocol":"ddp".
func TestJoinForcesTheProtocolOnWLEDDevices(t *testing.T) {
	bin := buildBinary(t)
	auto := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "forced"})
	_, statusURL, stderr := startJoinBinaryArgs(t, bin, []string{"join", "FRC234", "--no-discovery", "--config", "/dev/null",
		"--device", auto.URL(), "--listen", "127.0.0.1:0", "--status-addr", "127.0.0.1:0"},
		"LEDBRIDGE_OUTPUT_PROTOCOL=dnrgb")
	wantOnlyProtocol(t, "the wled:// device", auto, "DNRGB")

	type device struct{ ID, Name, Protocol string }
	var devs []device
	waitJoin(t, 10*time.Second, "the device on the status page", func() bool {
		res, err := http.Get(statusURL + "/api/status")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var s struct{ Devices []device }
		if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		devs = s.Devices
		return len(devs) > 0
	})
	if len(devs) != 1 || devs[0].Protocol != "dnrgb" || devs[0].Name != "forced" {
		t.Errorf("status devices = %+v, want one, protocol dnrgb", devs)
	}
	if log := stderr.String(); !strings.Contains(log, fmt.Sprintf("target=\"dnrgb://%s", auto.RealtimeAddr())) {
		t.Errorf("the log does not say the device is driven with DNRGB at %s:\n%s", auto.RealtimeAddr(), log)
	}
}
