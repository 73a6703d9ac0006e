package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A reload that start-up would refuse, or that reads a file caught mid-write, changes nothing.
func TestReloadRefusesWhatStartUpWould(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	other := filepath.Join(dir, "other.yaml")
	withCode := &config.Loaded{File: file}
	withCode.Room.Code = "RLD234"
	otherRoom := &config.Loaded{File: file}
	otherRoom.Room.Code = "RLD235"
	sameRoomLower := &config.Loaded{File: file}
	sameRoomLower.Room.Code = "rld234"
	for _, tc := range []struct {
		name   string
		r      reloader
		loaded *config.Loaded
		want   string // in the error; "" for a reload that goes ahead
	}{
		{"same file", reloader{file: file, running: withCode.Config}, withCode, ""},
		{"file gone", reloader{file: file}, &config.Loaded{}, "is gone"},
		{"another file found", reloader{file: file, running: withCode.Config}, &config.Loaded{File: other, Config: withCode.Config}, other},
		{"file emptied", reloader{file: file, codeFromArgs: true}, &config.Loaded{File: file, FileEmpty: true}, "is empty"},
		{"empty from the start", reloader{file: file, fileEmpty: true, codeFromArgs: true}, &config.Loaded{File: file, FileEmpty: true}, ""},
		{"code removed", reloader{file: file}, &config.Loaded{File: file}, "room.code"},
		{"code from the command line", reloader{file: file, codeFromArgs: true}, &config.Loaded{File: file}, ""},
		{"another room", reloader{file: file, running: withCode.Config}, otherRoom, "RLD235"},
		{"the same room in lower case", reloader{file: file, running: withCode.Config}, sameRoomLower, ""},
		{"another room in the file, the room from the command line", reloader{file: file, running: withCode.Config, codeFromArgs: true}, otherRoom, ""},
		{"no file at all", reloader{codeFromArgs: true}, &config.Loaded{}, ""},
	} {
		err := tc.r.refuse(tc.loaded)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// A reload of a config file that was emptied (a non-atomic write, `> config.yaml`) is rejected
// with a log line: applied, its defaults removed every configured strip and turned the status
// page's controls off, while start-up with the same file exits 64 (no room code).
func TestJoinReloadOfEmptiedFileKeepsTheSetup(t *testing.T) {
	bin := buildBinary(t)
	dev := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "dev"})
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("room:\n  code: RLD234\ndevices: [%q]\ndiscovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n  token: tok\n", dev.DDPURL())
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// The room code comes from the file, so that removing it is a reload start-up would refuse.
	cmd, statusURL, stderr := startJoinBinaryArgs(t, bin, []string{"join", "--config", cfgPath})
	snapshot := func() (s struct {
		Controls bool
		Devices  []struct{ ID string }
	}) {
		res, err := http.Get(statusURL + "/api/status")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitJoin(t, 10*time.Second, "the device", func() bool { return len(snapshot().Devices) == 1 })
	if !snapshot().Controls {
		t.Fatal("controls off with a token configured")
	}

	for i, emptied := range []string{"", "# all settings removed\n\n"} {
		if err := os.WriteFile(cfgPath, []byte(emptied), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Process.Signal(syscall.SIGHUP)
		waitJoin(t, 10*time.Second, "the rejection logged", func() bool { return strings.Count(stderr.String(), "reload rejected") > i })
		if s := snapshot(); len(s.Devices) != 1 || !s.Controls {
			t.Fatalf("a reload of an emptied file changed the running bridge: devices %v, controls %v", s.Devices, s.Controls)
		}
	}
	if !strings.Contains(stderr.String(), "is empty") {
		t.Errorf("the rejection does not say the file is empty:\n%s", stderr.String())
	}

	// A file without the room code the bridge started from is refused as start-up would refuse it.
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(body, "  code: RLD234\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitJoin(t, 10*time.Second, "the rejection logged", func() bool { return strings.Contains(stderr.String(), "room.code is not set") })
	if s := snapshot(); len(s.Devices) != 1 || !s.Controls {
		t.Fatalf("a reload without the room code changed the running bridge: devices %v, controls %v", s.Devices, s.Controls)
	}

	// A file naming another room is refused too: its devices are not this room's.
	if err := os.WriteFile(cfgPath, []byte("room:\n  code: RLD235\ndiscovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n  token: tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitJoin(t, 10*time.Second, "the rejection logged", func() bool { return strings.Contains(stderr.String(), "another room") })
	if s := snapshot(); len(s.Devices) != 1 {
		t.Fatalf("a reload naming another room changed the running bridge's devices: %v", s.Devices)
	}
}
