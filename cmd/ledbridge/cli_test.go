package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionAndInvalidConfigExitStatus(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ledbridge ") || !strings.Contains(string(out), "go1.") {
		t.Fatalf("version: %v %q", err, out)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("effects:\n  brightness_cap: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "config", "check", "--config", bad)
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != exitConfig {
		t.Fatalf("exit status %d (%v), want %d", cmd.ProcessState.ExitCode(), err, exitConfig)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "effects.brightness_cap") {
		t.Fatalf("want one line naming effects.brightness_cap, got %q", out)
	}

	// An environment variable overrides the file; secrets never show.
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, []byte("supabase:\n  url: https://x.supabase.co\n  key: sekrit-anon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(bin, "config", "show", "--config", good)
	cmd.Env = append(os.Environ(), "LEDBRIDGE_WEBRTC_MAX_PEERS=3")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("config show: %v %s", err, out)
	}
	if !strings.Contains(string(out), "max_peers: 3") || strings.Contains(string(out), "sekrit") {
		t.Fatalf("config show output wrong or leaks a secret:\n%s", out)
	}
}

// TestUsageErrorsExitWithOneLine: every mistake on the command line exits with status exitUsage
// (which systemd does not restart) and one line that says what is wrong, before anything starts.
func TestUsageErrorsExitWithOneLine(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"joni"}, `did you mean "join"`},
		{[]string{"config", "bogus"}, `config: unknown command "bogus"`},
		{[]string{"join", "JAM234", "EXTRA2"}, "join: accepts at most 1 arg(s), received 2"},
		{[]string{"analyze"}, "analyze: accepts 1 arg(s), received 0"},
		{[]string{"config", "check", "extra"}, `config check: takes no arguments, got ["extra"]`},
		{[]string{"version", "x"}, "version: takes no arguments"},
		{[]string{"join", "--bogus"}, "join: unknown flag: --bogus"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"hub", "--addr"}, "hub: flag needs an argument: --addr"},
		{[]string{"help", "bogus"}, `help: unknown help topic "bogus"`},
		{[]string{"help", "config", "bogus"}, `help: unknown help topic "config bogus"`},
		{[]string{"completion", "bogus"}, `completion: unknown command "bogus"`},
		{[]string{"completion", "bash", "extra"}, `completion bash: unknown command "extra"`},
		// No code and no config file read (none given, none found): the command line lacks it. A
		// file that lacks room.code is the file's problem (TestMissingRoomCodeIsTheConfigsProblem).
		{[]string{"join", "--no-discovery", "--listen", "127.0.0.1:0", "--status-addr", ""}, "give a room code (ledbridge join JAM234)"},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append(os.Environ(), "LEDBRIDGE_ROOM_CODE=", "XDG_CONFIG_HOME="+t.TempDir()) // no user config file
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run()
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code := cmd.ProcessState.ExitCode(); code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tc.want) || stdout.Len() != 0 {
			t.Errorf("ledbridge %q: exit %d, stderr %q, stdout %q; want exit %d and one line containing %q", tc.args, code, stderr.String(), stdout.String(), exitUsage, tc.want)
		}
	}
	// The help it points to exits 0.
	for _, args := range [][]string{{}, {"--help"}, {"config"}, {"join", "--help"}, {"help"}, {"help", "join"}, {"help", "config", "check"}, {"completion"}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil || !strings.Contains(string(out), "Usage:") {
			t.Errorf("ledbridge %q: %v\n%s", args, err, out)
		}
	}
	// The completion scripts still come out, on stdout.
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, err := exec.Command(bin, "completion", shell).Output()
		if err != nil || !strings.Contains(string(out), "ledbridge") {
			t.Errorf("ledbridge completion %s: %v, %d bytes", shell, err, len(out))
		}
	}
}

// TestConfigErrorsNameTheirSource: a mistyped environment variable names itself and its key, a
// YAML syntax error names the file, and an address that cannot be listened on fails `config check`;
// so do a second YAML document in the file (whose settings were dropped) and a whole number with
// a leading 0 (octal), in the file or the environment.
func TestConfigErrorsNameTheirSource(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	badAddr := filepath.Join(dir, "addr.yaml")
	twoDocs := filepath.Join(dir, "twodocs.yaml")
	octal := filepath.Join(dir, "octal.yaml")
	for path, body := range map[string]string{
		broken:  "room:\n  code: [JAM234\n",
		badAddr: "hub:\n  listen: \"1.2.3.4.5:80\"\n",
		twoDocs: "room:\n  code: JAM234\n---\neffects:\n  brightness_cap: 0.5\n",
		octal:   "output:\n  fps: 060\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		file, env string
		want      []string
	}{
		{"/dev/null", "LEDBRIDGE_WEBRTC_MAX_PEERS=abc", []string{"LEDBRIDGE_WEBRTC_MAX_PEERS", "webrtc.max_peers", "whole number", `"abc"`}},
		{"/dev/null", "LEDBRIDGE_OUTPUT_REALTIME_TIMEOUT=5", []string{"LEDBRIDGE_OUTPUT_REALTIME_TIMEOUT", "output.realtime_timeout", "duration"}},
		{broken, "", []string{broken, "not valid YAML"}},
		{badAddr, "", []string{"hub.listen", "1.2.3.4.5:80"}},
		{"/dev/null", "LEDBRIDGE_STATUS_ADDR=:99999", []string{"status.addr", "65535"}},
		{twoDocs, "", []string{twoDocs, "a second YAML document begins at line 3"}},
		{octal, "", []string{"output.fps", "write 60, not 060"}},
		{"/dev/null", "LEDBRIDGE_WEBRTC_MAX_PEERS=010", []string{"LEDBRIDGE_WEBRTC_MAX_PEERS", "webrtc.max_peers", "write 10, not 010"}},
	} {
		cmd := exec.Command(bin, "config", "check", "--config", tc.file)
		cmd.Env = append(os.Environ(), tc.env)
		out, _ := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if cmd.ProcessState.ExitCode() != exitConfig || len(lines) != 1 {
			t.Errorf("%s %s: exit %d, output %q; want exit %d and one line", tc.env, tc.file, cmd.ProcessState.ExitCode(), out, exitConfig)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(lines[0], w) {
				t.Errorf("%s %s: %q does not mention %q", tc.env, tc.file, lines[0], w)
			}
		}
	}
}
