package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/config"
)

// journalStreamOf is the $JOURNAL_STREAM systemd would set if f were its journald stream.
func journalStreamOf(t *testing.T, f *os.File) string {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%d:%d", uint64(st.Dev), uint64(st.Ino))
}

func logEveryLevel(t *testing.T, f *os.File, format string) []string {
	t.Helper()
	log := newLogger(f, config.Log{Level: "debug", Format: format})
	log.Debug("tick detail")
	log.With("strip", "WLED").Info("strip online")
	log.WithGroup("peer").Warn("musician slow", "id", "ana")
	log.Error("cannot send")
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestLoggerPrefixesSyslogLevelOnJournalStream(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			t.Setenv("JOURNAL_STREAM", journalStreamOf(t, f))
			lines := logEveryLevel(t, f, format)
			want := []struct{ prefix, msg string }{
				{"<7>", "tick detail"}, {"<6>", "strip online"}, {"<4>", "musician slow"}, {"<3>", "cannot send"},
			}
			if len(lines) != len(want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
			}
			for i, w := range want {
				rest, ok := strings.CutPrefix(lines[i], w.prefix)
				if !ok || !strings.Contains(rest, w.msg) {
					t.Errorf("line %d = %q, want prefix %s and message %q", i, lines[i], w.prefix, w.msg)
				}
				// Past the prefix the line is the format's usual one.
				if format == "text" && !strings.HasPrefix(rest, "time=") {
					t.Errorf("line %d after the prefix = %q, want the text format", i, rest)
				}
				if format == "json" && !strings.HasPrefix(rest, "{") {
					t.Errorf("line %d after the prefix = %q, want a JSON object", i, rest)
				}
			}
			if !strings.Contains(lines[1], "strip=WLED") && !strings.Contains(lines[1], `"strip":"WLED"`) {
				t.Errorf("attrs from With are lost: %q", lines[1])
			}
		})
	}
}

func TestLoggerNoPrefixWhenStderrIsNotTheJournalStream(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "redirected"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	other, err := os.Create(filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, env := range []string{"", "garbage", journalStreamOf(t, other)} {
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
		t.Setenv("JOURNAL_STREAM", env)
		for _, line := range logEveryLevel(t, f, "text") {
			if !strings.HasPrefix(line, "time=") {
				t.Errorf("JOURNAL_STREAM=%q (not this stream): line %q, want no level prefix", env, line)
			}
		}
	}
}

func TestIsJournalStream(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := journalStreamOf(t, f)
	if !isJournalStream(env, f) {
		t.Errorf("isJournalStream(%q) = false for the file it names", env)
	}
	dev, _, _ := strings.Cut(env, ":")
	for _, bad := range []string{"", "12", dev + ":1", "0:0", "x:y", dev + ":"} {
		if isJournalStream(bad, f) {
			t.Errorf("isJournalStream(%q) = true, want false", bad)
		}
	}
}

// The unit must leave journald's level-prefix parsing on (SyslogLevelPrefix= defaults to yes),
// or the prefixes above end up in the message text.
func TestUnitKeepsSyslogLevelPrefix(t *testing.T) {
	b, err := os.ReadFile("../../systemd/ledbridge.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && key == "SyslogLevelPrefix" && !strings.EqualFold(strings.TrimSpace(value), "yes") {
			t.Errorf("systemd/ledbridge.service: %q turns journald's level prefixes off", line)
		}
	}
}
