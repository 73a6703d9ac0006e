package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The error that stops the daemon is its most important line: on journald's stream (the
// unit's stderr, named by $JOURNAL_STREAM) it carries the error level's "<3>" prefix, as the
// logger's lines carry theirs; without the prefix journald filed it at the unit's default,
// info, and `journalctl -p err` did not show why ledbridge stopped. Anywhere else (a terminal, a
// file) the line has no prefix.
func TestExitErrorIsAnErrorOnTheJournalStream(t *testing.T) {
	bin := buildBinary(t)
	bad := writeConfig(t, "effects:\n  brightness_cap: 3\n")
	dir := t.TempDir()
	other, err := os.Create(filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, tc := range []struct {
		name          string
		journalStream func(stderr *os.File) string
		wantPrefix    bool
	}{
		{"journal stream", func(stderr *os.File) string { return journalStreamOf(t, stderr) }, true},
		{"no JOURNAL_STREAM", func(*os.File) string { return "" }, false},
		{"JOURNAL_STREAM of another file", func(*os.File) string { return journalStreamOf(t, other) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			cmd := exec.Command(bin, "join", "JRN234", "--no-discovery", "--config", bad)
			cmd.Env = append(os.Environ(), "JOURNAL_STREAM="+tc.journalStream(stderr))
			cmd.Stderr = stderr
			if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitConfig {
				t.Fatalf("join with an invalid config: %v, want exit status %d", err, exitConfig)
			}
			out, err := os.ReadFile(stderr.Name())
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, "ledbridge:") || !strings.Contains(last, "effects.brightness_cap") {
				t.Fatalf("stderr = %q, want its last line to be the error naming effects.brightness_cap", out)
			}
			if got := strings.HasPrefix(last, "<3>ledbridge: "); got != tc.wantPrefix {
				t.Errorf("error line %q: <3> prefix %v, want %v", last, got, tc.wantPrefix)
			}
			if !tc.wantPrefix && !strings.HasPrefix(last, "ledbridge: ") {
				t.Errorf("error line %q, want it to start with \"ledbridge: \"", last)
			}
		})
	}
}
