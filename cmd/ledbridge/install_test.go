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
