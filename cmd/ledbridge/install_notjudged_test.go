package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// install.sh blames the existing config only when `config check` says it is invalid (exit status
// 78). A binary whose check ends otherwise (a crash's 2, a command line it does not take) did not
// judge the config: install.sh says so, with the status, and still installs nothing.
func TestInstallScriptBlamesTheConfigOnlyForItsStatus(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	// A stand-in for ledbridge: `version` works, `config check` crashes as the Go runtime does.
	prog := "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n" +
		"\tif len(os.Args) > 1 && os.Args[1] == \"version\" {\n\t\tfmt.Println(\"ledbridge v0.0.0-crash\")\n\t\treturn\n\t}\n" +
		"\tpanic(\"config check crashed\")\n}\n"
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ledbridge")
	build := exec.Command("go", "build", "-o", bin, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := t.TempDir()
	cfg := filepath.Join(root, "etc/ledbridge/config.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("room:\n  name: Main stage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "../../systemd/install.sh", bin)
	cmd.Env = append(os.Environ(), "DESTDIR="+root)
	out, err := cmd.CombinedOutput()
	if _, statErr := os.Stat(filepath.Join(root, "usr/local/bin/ledbridge")); err == nil || statErr == nil {
		t.Fatalf("install.sh installed a binary whose config check crashed (err %v):\n%s", err, out)
	}
	for _, w := range []string{"exit status 2", "without judging the config", "Nothing was installed"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output does not say %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "does not pass this ledbridge's check") {
		t.Errorf("a crash was blamed on the config:\n%s", out)
	}
}
