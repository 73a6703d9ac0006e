package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/testenv"
)

// requireOrSkip skips a test that needs something this machine lacks, unless CI demands everything.
var requireOrSkip = testenv.RequireOrSkip

var (
	buildOnce sync.Once
	binDir    string // removed by TestMain
	binPath   string
	buildErr  error
)

// buildBinary compiles ledbridge once per test binary run (a build takes seconds on the shared
// machine); tests must not modify the file.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "ledbridge-test-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ledbridge")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestInstallScriptAndUnitVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		requireOrSkip(t, "systemd-analyze is not installed (apt-get install systemd)")
	}
	bin := buildBinary(t)
	root := t.TempDir()
	cmd := exec.Command("bash", "../../systemd/install.sh", bin)
	cmd.Env = append(os.Environ(), "DESTDIR="+root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "systemctl enable --now ledbridge") {
		t.Errorf("install.sh did not print the next steps:\n%s", out)
	}
	for path, mode := range map[string]os.FileMode{
		"usr/local/bin/ledbridge":              0o755,
		"etc/systemd/system/ledbridge.service": 0o644,
		"etc/ledbridge/config.yaml":            0o644,
		"etc/ledbridge/env":                    0o600,
	} {
		st, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("not installed: %s", path)
			continue
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", path, st.Mode().Perm(), mode)
		}
	}

	// The installed config is valid for the installed binary.
	check := exec.Command(filepath.Join(root, "usr/local/bin/ledbridge"), "config", "check", "--config", filepath.Join(root, "etc/ledbridge/config.yaml"))
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("config check of the installed config: %v\n%s", err, out)
	}

	// systemd-analyze verify needs ExecStart to exist at its absolute path; point it at the
	// installed copy and verify the unit otherwise unchanged.
	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/ledbridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/ledbridge", filepath.Join(root, "usr/local/bin/ledbridge"))
	text = strings.ReplaceAll(text, "/etc/ledbridge/", filepath.Join(root, "etc/ledbridge")+"/")
	unitPath := filepath.Join(t.TempDir(), "ledbridge.service")
	if err := os.WriteFile(unitPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	v := exec.Command(analyze, "verify", unitPath)
	if out, err := v.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "DynamicUser=yes", "ProtectSystem=strict", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK", "SystemCallFilter=@system-service", "ExecReload=/bin/kill -HUP $MAINPID"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %s", want)
		}
	}
}

// TestInstallScriptRefusesAnUpgradeTheConfigFails: on an upgrade install.sh checks the existing
// config, with the service's EnvironmentFile, against the new binary, and installs nothing (so
// restarts nothing) when it fails; a config that passes is upgraded in place and kept.
func TestInstallScriptRefusesAnUpgradeTheConfigFails(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name, config, env string
		wantErr           []string // empty: the upgrade must succeed
		wantOut           []string // shown on a successful upgrade too
	}{
		{"bad address", "hub:\n  listen: \":99999\"\n", "", []string{"hub.listen", "Nothing was installed"}, nil},
		{"bad env value", "room:\n  name: Main stage\n", "# secrets\nLEDBRIDGE_WEBRTC_MAX_PEERS=\"abc\"\n", []string{"LEDBRIDGE_WEBRTC_MAX_PEERS", "not restarted"}, nil},
		{"valid", "room:\n  name: Main stage\n", "# secrets\n\nLEDBRIDGE_STATUS_TOKEN='s3cret'\nLEDBRIDGE_WEBRTC_MAX_PEERS=4\n", nil, nil},
		// The env file is read as systemd reads it: a file saved with CRLF line ends, double-quoted
		// values with the shell's escapes, whitespace around a value, a line without "=".
		{"CRLF line ends", "room:\n  name: Main stage\n", "# secrets\r\n\r\nLEDBRIDGE_WEBRTC_MAX_PEERS=4\r\nLEDBRIDGE_DISCOVERY_ENABLED = false \r\n", nil, nil},
		{"escaped double quotes", "room:\n  name: Main stage\n", `LEDBRIDGE_WEBRTC_ICE_SERVERS="[{\"urls\":[\"stun:stun.example.org\"]}]"` + "\nnot a variable\n", nil, nil},
		{"escaped double quotes, bad value", "room:\n  name: Main stage\n", `LEDBRIDGE_ROOM_MODE="lo\"cal"` + "\n", []string{"LEDBRIDGE_ROOM_MODE", `lo\"cal`, "Nothing was installed"}, nil},
		// A warning does not stop the upgrade, and is shown.
		{"warning", "effects:\n  brightness_cap: 0\n", "", nil, []string{"effects.brightness_cap is 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			cfg := filepath.Join(root, "etc/ledbridge/config.yaml")
			if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.env != "" {
				if err := os.WriteFile(filepath.Join(root, "etc/ledbridge/env"), []byte(tc.env), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("bash", "../../systemd/install.sh", bin)
			// The caller's own variables must not leak into the check.
			cmd.Env = append(os.Environ(), "DESTDIR="+root, "LEDBRIDGE_WEBRTC_MAX_PEERS=0")
			out, err := cmd.CombinedOutput()
			_, statErr := os.Stat(filepath.Join(root, "usr/local/bin/ledbridge"))
			if tc.wantErr == nil {
				if err != nil || statErr != nil {
					t.Fatalf("upgrade with a valid config failed: %v %v\n%s", err, statErr, out)
				}
				if kept, _ := os.ReadFile(cfg); string(kept) != tc.config {
					t.Errorf("the existing config was replaced:\n%s", kept)
				}
				for _, w := range tc.wantOut {
					if !strings.Contains(string(out), w) {
						t.Errorf("output does not mention %q:\n%s", w, out)
					}
				}
				return
			}
			if err == nil || statErr == nil {
				t.Fatalf("install.sh installed over a config the new binary refuses (err %v):\n%s", err, out)
			}
			for _, w := range append(tc.wantErr, cfg) {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestInstallScriptRefusesABinaryOfAnotherUserland: the unit's SystemCallArchitectures=native
// kills a binary built for another architecture than systemd's at its first system call, even
// where the kernel runs it by hand (an arm64 build on 32-bit Raspberry Pi OS with a 64-bit
// kernel), so install.sh refuses it and names the build to install. The binary here is an ELF
// header for another machine than dpkg's architecture.
func TestInstallScriptRefusesABinaryOfAnotherUserland(t *testing.T) {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		requireOrSkip(t, "dpkg is not installed: install.sh cannot tell the userland's architecture")
	}
	machine := byte(183) // aarch64
	if strings.TrimSpace(string(out)) == "arm64" {
		machine = 62 // x86-64
	}
	header := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00")
	header[18] = machine
	bin := filepath.Join(t.TempDir(), "ledbridge")
	if err := os.WriteFile(bin, header, 0o755); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	cmd := exec.Command("bash", "../../systemd/install.sh", bin)
	cmd.Env = append(os.Environ(), "DESTDIR="+root)
	msg, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("install.sh installed a binary of another architecture:\n%s", msg)
	}
	if !strings.Contains(string(msg), "not built for this system") || !strings.Contains(string(msg), "install dist/ledbridge-linux-") {
		t.Errorf("install.sh's refusal does not say why or what to install:\n%s", msg)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("install.sh refused but wrote %d entries under DESTDIR", len(entries))
	}
}
