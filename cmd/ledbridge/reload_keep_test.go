package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// reloadRig is a running `ledbridge join` whose room code and settings come from a config file
// the test rewrites and reloads with SIGHUP.
type reloadRig struct {
	t         *testing.T
	cmd       interface{ Signal(os.Signal) error }
	cfgPath   string
	statusURL string
	stderr    *testlog.Buffer
	reloads   int // "configuration reloaded" lines seen so far
}

func startReloadRig(t *testing.T, body string) *reloadRig {
	t.Helper()
	bin := buildBinary(t)
	r := &reloadRig{t: t, cfgPath: filepath.Join(t.TempDir(), "config.yaml")}
	r.write(body)
	cmd, statusURL, stderr := startJoinBinaryArgs(t, bin, []string{"join", "--config", r.cfgPath})
	r.cmd, r.statusURL, r.stderr = cmd.Process, statusURL, stderr
	return r
}

func (r *reloadRig) write(body string) {
	r.t.Helper()
	if err := os.WriteFile(r.cfgPath, []byte(body), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// reload sends SIGHUP and returns the log line the reload ended with.
func (r *reloadRig) reload() string {
	r.t.Helper()
	if err := r.cmd.Signal(syscall.SIGHUP); err != nil {
		r.t.Fatal(err)
	}
	waitJoin(r.t, 10*time.Second, "the reload logged", func() bool {
		return strings.Count(r.stderr.String(), "configuration reloaded") > r.reloads
	})
	r.reloads++
	lines := strings.Split(r.stderr.String(), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "configuration reloaded") {
			return lines[i]
		}
	}
	return ""
}

func (r *reloadRig) room() (room struct {
	Mode       string
	Brightness float64
	Blackout   bool
	Connection struct{ State string }
}) {
	r.t.Helper()
	res, err := http.Get(r.statusURL + "/api/status")
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct{ Room any }
	s.Room = &room
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		r.t.Fatal(err)
	}
	return room
}

// control presses one of the status page's controls.
func (r *reloadRig) control(action, body string) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.statusURL+"/api/control/"+action, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set(status.TokenHeader, "tok")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		r.t.Fatalf("control %s %s: %s", action, body, res.Status)
	}
}

// near compares a brightness the session keeps as a float32 with the value set.
func near(got, want float64) bool { return math.Abs(got-want) < 1e-6 }

// TestJoinReloadKeepsThePagesControls: the status page's mode and brightness survive a reload of
// a file that does not change them (as blackout does); a key the file does change still wins,
// and a change to another effects key leaves the page's brightness alone. Each reload's line
// names the keys the file changed since the last one applied.
func TestJoinReloadKeepsThePagesControls(t *testing.T) {
	dev := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "dev"})
	config := func(mode string, extraEffects string) string {
		return fmt.Sprintf("room:\n  code: KEP234\n  mode: %s\ndevices: [%q]\ndiscovery:\n  enabled: false\neffects:\n  brightness_cap: 0.8\n%shub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n  token: tok\n",
			mode, dev.DDPURL(), extraEffects)
	}
	r := startReloadRig(t, config("auto", ""))
	waitJoin(t, 10*time.Second, "joined", func() bool { return r.room().Connection.State == "joined" })

	r.control("mode", `{"mode":"broadcast"}`)
	r.control("brightness", `{"value":0.3}`)
	r.control("blackout", `{"on":true}`)
	if line := r.reload(); !strings.Contains(line, " changed=none") { // the file as it was
		t.Errorf("a reload of an unchanged file does not say nothing changed: %s", line)
	}
	if got := r.room(); got.Mode != "broadcast" || !near(got.Brightness, 0.3) || !got.Blackout {
		t.Fatalf("a reload of an unchanged file undid the page's controls: %+v, want broadcast at 0.3, blackout", got)
	}

	// Another effects key changed: the page's brightness stays, the new key applies.
	r.write(config("auto", "  attack_ms: 5\n"))
	if line := r.reload(); !strings.Contains(line, " changed=effects.attack_ms") {
		t.Errorf("a reload changing effects.attack_ms does not say so: %s", line)
	}
	if got := r.room(); got.Mode != "broadcast" || !near(got.Brightness, 0.3) {
		t.Fatalf("a reload changing effects.attack_ms undid the page's mode or brightness: %+v", got)
	}

	// The keys themselves changed in the file: the file wins.
	r.write(strings.Replace(config("local", "  attack_ms: 5\n"), "brightness_cap: 0.8", "brightness_cap: 0.6", 1))
	if line := r.reload(); !strings.Contains(line, " changed=\"effects.brightness_cap, room.mode\"") {
		t.Errorf("a reload changing room.mode and effects.brightness_cap does not name both, sorted: %s", line)
	}
	if got := r.room(); got.Mode != "local" || !near(got.Brightness, 0.6) {
		t.Fatalf("a reload changing room.mode and effects.brightness_cap: %+v, want local at 0.6", got)
	}

	// The page again, then the file once more unchanged (compared with the last reload's file,
	// not the one the daemon started with).
	r.control("mode", `{"mode":"auto"}`)
	r.control("brightness", `{"value":0.2}`)
	r.reload()
	if got := r.room(); got.Mode != "auto" || !near(got.Brightness, 0.2) {
		t.Fatalf("a second reload of an unchanged file undid the page's controls: %+v, want auto at 0.2", got)
	}

	// The page's dark brightness (0, reported as 0) stays dark through a change to another
	// effects key, not the default cap a zero would mean.
	r.control("brightness", `{"value":0}`)
	r.write(strings.Replace(config("local", "  attack_ms: 7\n"), "brightness_cap: 0.8", "brightness_cap: 0.6", 1))
	r.reload()
	if got := r.room(); got.Brightness != 0 {
		t.Fatalf("a reload changing effects.attack_ms after the page set brightness 0: brightness %v, want 0", got.Brightness)
	}
}

// TestJoinReloadTakesTheRoomCodeInAnyCase: room.code jam234 is the room the daemon joined as
// JAM234 (codes are case-insensitive), so a reload does not ask for a restart over it; a file
// naming another room is refused, the bridge staying in its room on its running configuration.
func TestJoinReloadTakesTheRoomCodeInAnyCase(t *testing.T) {
	config := func(code string) string {
		return fmt.Sprintf("room:\n  code: %s\ndevices: []\ndiscovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n", code)
	}
	r := startReloadRig(t, config("JAM234"))
	waitJoin(t, 10*time.Second, "joined", func() bool { return r.room().Connection.State == "joined" })

	r.write(config("jam234"))
	if line := r.reload(); strings.Contains(line, "room.code") || strings.Contains(line, "restart") {
		t.Errorf("room.code JAM234 → jam234 (the same room) asks for a restart: %s", line)
	}
	r.write(config("JAM235"))
	if err := r.cmd.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitJoin(t, 10*time.Second, "the reload refused", func() bool {
		return strings.Contains(r.stderr.String(), "reload rejected") && strings.Contains(r.stderr.String(), "JAM235 is another room")
	})
	if strings.Count(r.stderr.String(), "configuration reloaded") != r.reloads {
		t.Errorf("room.code JAM234 → JAM235 (another room) was also reloaded:\n%s", r.stderr.String())
	}
}
