package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallScriptRefusesAConfigTheServiceCannotRead: ledbridge.service runs as a dynamic user,
// never the config's owner, so a config.yaml (or /etc/ledbridge) that only root can read passes a
// check run as root yet makes the restarted service exit with status 78 and stay down. install.sh
// checks the config with an unprivileged user's rights too, and installs nothing when that fails.
func TestInstallScriptRefusesAConfigTheServiceCannotRead(t *testing.T) {
	if os.Geteuid() != 0 {
		requireOrSkip(t, "needs root: install.sh switches to an unprivileged user to check the config")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		requireOrSkip(t, "setpriv is not installed (apt-get install util-linux)")
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		name              string
		fileMode, dirMode os.FileMode
		refused           bool
	}{
		{"readable by others", 0o644, 0o755, false},
		{"file readable only by root", 0o600, 0o755, true},
		{"folder closed to others", 0o644, 0o700, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "etc/ledbridge")
			cfg := filepath.Join(dir, "config.yaml")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			const config = "room:\n  name: Main stage\n"
			if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
			// Whatever the umask.
			if err := os.Chmod(cfg, tc.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "../../systemd/install.sh", bin)
			cmd.Env = append(os.Environ(), "DESTDIR="+root)
			out, err := cmd.CombinedOutput()
			_, statErr := os.Stat(filepath.Join(root, "usr/local/bin/ledbridge"))
			if !tc.refused {
				if err != nil || statErr != nil {
					t.Fatalf("upgrade with a config the service can read failed: %v %v\n%s", err, statErr, out)
				}
				return
			}
			if err == nil || statErr == nil {
				t.Fatalf("install.sh installed over a config the service cannot read (err %v):\n%s", err, out)
			}
			for _, w := range []string{cfg, "permission denied", "dynamic user", "chmod", "Nothing was installed"} {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
			if kept, _ := os.ReadFile(cfg); string(kept) != config {
				t.Errorf("the existing config was changed:\n%s", kept)
			}
		})
	}
}

// TestInstallScriptSkipsTheServiceUserCheckWithoutATempFolder: the check as the service's user
// runs a copy of the binary from a temporary folder (mktemp, which honours TMPDIR). When no such
// folder can be made, the check is skipped with a line saying so: the copy must not land at
// "/ledbridge" (an empty folder name) and the failure must not be blamed on the config.
func TestInstallScriptSkipsTheServiceUserCheckWithoutATempFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		requireOrSkip(t, "needs root: install.sh switches to an unprivileged user to check the config")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		requireOrSkip(t, "setpriv is not installed (apt-get install util-linux)")
	}
	if _, err := os.Lstat("/ledbridge"); err == nil {
		t.Fatal("/ledbridge exists before the test: cannot tell whether install.sh wrote it")
	}
	bin := buildBinary(t)
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tmpdir string
		fileMode     os.FileMode
	}{
		{"missing TMPDIR, config readable by others", filepath.Join(t.TempDir(), "missing"), 0o644},
		{"missing TMPDIR, config readable only by root", filepath.Join(t.TempDir(), "missing"), 0o600},
		{"TMPDIR is a file", notADir, 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "etc/ledbridge")
			cfg := filepath.Join(dir, "config.yaml")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, []byte("room:\n  name: Main stage\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(cfg, tc.fileMode); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "../../systemd/install.sh", bin)
			cmd.Env = append(os.Environ(), "DESTDIR="+root, "TMPDIR="+tc.tmpdir)
			out, err := cmd.CombinedOutput()
			if _, statErr := os.Lstat("/ledbridge"); statErr == nil {
				_ = os.Remove("/ledbridge")
				t.Errorf("install.sh wrote /ledbridge, outside DESTDIR and the temporary folder:\n%s", out)
			}
			if err != nil {
				t.Fatalf("install.sh failed (%v) instead of skipping the check:\n%s", err, out)
			}
			if _, err := os.Stat(filepath.Join(root, "usr/local/bin/ledbridge")); err != nil {
				t.Errorf("binary not installed: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "whether ledbridge.service can read the config was not checked") {
				t.Errorf("output does not say the check was skipped:\n%s", out)
			}
			if strings.Contains(string(out), "could not read the existing") {
				t.Errorf("the failure to make a temporary folder was blamed on the config:\n%s", out)
			}
			if st, err := os.Stat(tc.tmpdir); err == nil && st.IsDir() {
				t.Errorf("TMPDIR %s was created", tc.tmpdir)
			}
		})
	}
}
