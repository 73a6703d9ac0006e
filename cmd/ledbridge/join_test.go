package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/testlog"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

func TestJoinRefusesBadCodesBeforeAnyTraffic(t *testing.T) {
	bin := buildBinary(t)
	for _, code := range []string{"ABC123", "abc12", "ABCDEFG", "AB-234", "ÅBC234"} {
		cmd := exec.Command(bin, "join", code, "--listen", "127.0.0.1:0", "--status-addr", "", "--no-discovery")
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != exitUsage || !strings.Contains(string(out), "room code") || strings.Contains(string(out), "listening") {
			t.Errorf("join %s: exit %d, output %q", code, cmd.ProcessState.ExitCode(), out)
		}
	}
}

// TestJoinBinaryHostsRoomAndShutsDownCleanly runs the real binary on the embedded room server
// with two fake strips, watches it from a second Realtime client, then sends SIGTERM: the bridge
// must leave Presence, release both devices and exit 0.
func TestJoinBinaryHostsRoomAndShutsDownCleanly(t *testing.T) {
	bin := buildBinary(t)
	ddp := wledtest.New(t, wledtest.Config{LEDs: 120, Name: "ddp"})
	dn := wledtest.New(t, wledtest.Config{LEDs: 60, RGBW: true, Name: "dnrgb"})

	cmd := exec.Command(bin, "join", "jam234", "--name", "Main stage", "--no-discovery", "--log-level", "debug",
		"--device", ddp.URL(), "--device", dn.RealtimeURL("dnrgb"),
		"--listen", "127.0.0.1:0", "--status-addr", "127.0.0.1:0", "--config", "/dev/null")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	startCommand(t, cmd)
	hubURL, statusURL := "", ""
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	sc := bufio.NewScanner(stdout)
	for (hubURL == "" || statusURL == "") && sc.Scan() {
		line := sc.Text()
		if u := urlRE.FindString(line); u != "" {
			if strings.HasPrefix(line, "Status page") {
				statusURL = u
			} else if hubURL == "" {
				hubURL = u
			}
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if hubURL == "" || statusURL == "" {
		t.Fatalf("no room or status URL printed; stderr:\n%s", stderr.String())
	}

	watcher, err := realtime.New(realtime.Config{URL: hubURL, APIKey: "anon", Channel: "JAM234", PresenceKey: "watcher", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = watcher.Run(ctx) }()
	defer func() { cancel(); <-done }()
	leaves := make(chan string, 64)
	go func() {
		for ev := range watcher.Events() {
			if ev.Kind == realtime.EventPresenceLeave {
				leaves <- ev.Key
			}
		}
	}()
	bridgeKey := func() string {
		for key, metas := range watcher.Presence() {
			for _, m := range metas {
				var v struct{ Role, Name string }
				if json.Unmarshal(m.Data, &v) == nil && v.Role == "led-bridge" && v.Name == "Main stage" {
					return key
				}
			}
		}
		return ""
	}
	waitJoin(t, 15*time.Second, "the bridge in Presence", func() bool { return bridgeKey() != "" })
	if _, err := ddp.WaitFrames(30, 10*time.Second); err != nil {
		t.Fatalf("DDP strip: %v", err)
	}
	if _, err := dn.WaitFrames(30, 10*time.Second); err != nil {
		t.Fatalf("DNRGB strip: %v", err)
	}
	res, err := http.Get(statusURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/healthz = %d while joined and ticking", res.StatusCode)
	}
	checkDaemonProcessSettings(t, cmd.Process.Pid, statusURL)

	key := bridgeKey()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	// The bridge untracks and leaves before it closes the room server: the watcher hears it.
	sawLeave := false
	timeout := time.After(5 * time.Second)
	for !sawLeave {
		select {
		case k := <-leaves:
			sawLeave = k == key
			continue
		case <-timeout:
		}
		break
	}
	if !sawLeave {
		t.Errorf("the watcher never saw the bridge leave Presence; bridge log:\n%s", stderr.String())
	}
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(start))
	if dn.Releases() == 0 {
		t.Error("the DNRGB strip got no timeout-0 release packet")
	}
	released := false
	for _, r := range ddp.StateRequests() {
		if strings.Contains(string(r.Body), `"live":false`) {
			released = true
		}
	}
	if !released {
		t.Errorf("the DDP strip got no {\"live\":false}: %+v", ddp.StateRequests())
	}
	if strings.Contains(stderr.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "no strip will light") {
		t.Errorf("warned that no strip will light while driving two:\n%s", stderr.String())
	}
}

// TestJoinWarnsWhenNoStripWillLight: with discovery off and no device, join still joins (the
// status page and a reload can still help) but says at once that nothing will light.
func TestJoinWarnsWhenNoStripWillLight(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "join", "JAM234", "--no-discovery", "--listen", "127.0.0.1:0", "--status-addr", "", "--config", "/dev/null")
	cmd.Env = append(os.Environ(), "LEDBRIDGE_DEVICES=")
	var stderr testlog.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	startCommand(t, cmd)
	waitJoin(t, 10*time.Second, "the no-strip warning", func() bool {
		return strings.Contains(stderr.String(), "level=WARN") && strings.Contains(stderr.String(), "no strip will light")
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "--no-discovery") {
		t.Errorf("the warning does not say how discovery was turned off:\n%s", stderr.String())
	}
}

// startJoinBinary starts `ledbridge join CODE --config cfgPath` (a config that turns the status page on)
// with env added to the test's environment, reads the status page's URL from what it prints, and
// stops it with SIGTERM when the test ends.
func startJoinBinary(t *testing.T, bin, code, cfgPath string, env ...string) (cmd *exec.Cmd, statusURL string, stderr *testlog.Buffer) {
	t.Helper()
	return startJoinBinaryArgs(t, bin, []string{"join", code, "--config", cfgPath}, env...)
}

// startJoinBinaryArgs is startJoinBinary with the command line args (a config that turns the
// status page on among them).
func startJoinBinaryArgs(t *testing.T, bin string, args []string, env ...string) (cmd *exec.Cmd, statusURL string, stderr *testlog.Buffer) {
	t.Helper()
	cmd = exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &testlog.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for statusURL == "" && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Status page") {
			statusURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(sc.Text())
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if statusURL == "" {
		t.Fatalf("no status URL; stderr:\n%s", stderr.String())
	}
	return cmd, statusURL, stderr
}

// startCommand starts cmd and makes sure the test never leaves it running.
func startCommand(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
}

func waitJoin(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJoinReloadsOnSIGHUP changes the config file under a running bridge: SIGHUP applies the new
// mode, brightness and devices without leaving the room; an invalid file is rejected with a log
// line and the running configuration stays.
func TestJoinReloadsOnSIGHUP(t *testing.T) {
	bin := buildBinary(t)
	first := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "first"})
	second := wledtest.New(t, wledtest.Config{LEDs: 40, Name: "second"})
	dir := t.TempDir()
	cfgPath := dir + "/config.yaml"
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("room:\n  mode: auto\ndevices: [%q]\ndiscovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n", first.DDPURL()))

	cmd, statusURL, stderr := startJoinBinary(t, bin, "RLD234", cfgPath)
	snapshot := func() (s struct {
		Room struct {
			Mode, Brightness any
			Connection       struct{ State string }
		}
		Devices []struct{ ID string }
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
	waitJoin(t, 10*time.Second, "joined", func() bool { return snapshot().Room.Connection.State == "joined" })
	if _, err := first.WaitFrames(10, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	write(fmt.Sprintf("room:\n  mode: broadcast\ndevices: [%q]\ndiscovery:\n  enabled: false\neffects:\n  brightness_cap: 0.5\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n", second.DDPURL()))
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitJoin(t, 10*time.Second, "the new mode and devices", func() bool {
		s := snapshot()
		return s.Room.Mode == "broadcast" && len(s.Devices) == 1 && strings.Contains(s.Devices[0].ID, second.DDPAddr())
	})
	if _, err := second.WaitFrames(10, 10*time.Second); err != nil {
		t.Fatalf("the added device got no frames: %v", err)
	}
	if s := snapshot(); s.Room.Connection.State != "joined" || fmt.Sprint(s.Room.Brightness) != "0.5" {
		t.Fatalf("after reload: %+v", s.Room)
	}

	// A reload that leaves the mode alone does not log a mode switch.
	switches := strings.Count(stderr.String(), "mode switched")
	reloads := strings.Count(stderr.String(), "configuration reloaded")
	write(fmt.Sprintf("room:\n  mode: broadcast\ndevices: [%q]\ndiscovery:\n  enabled: false\neffects:\n  brightness_cap: 0.4\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n", second.DDPURL()))
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitJoin(t, 10*time.Second, "the same-mode reload", func() bool { return strings.Count(stderr.String(), "configuration reloaded") > reloads })
	if n := strings.Count(stderr.String(), "mode switched"); n != switches || switches == 0 {
		t.Errorf("mode switches logged: %d before a reload that kept the mode, %d after:\n%s", switches, n, stderr.String())
	}

	write("room:\n  mode: disco\n")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitJoin(t, 10*time.Second, "the rejection logged", func() bool { return strings.Contains(stderr.String(), "reload rejected") })
	if s := snapshot(); s.Room.Mode != "broadcast" || s.Room.Connection.State != "joined" {
		t.Fatalf("an invalid reload changed the running bridge: %+v", s.Room)
	}
	if !strings.Contains(stderr.String(), "room.mode") {
		t.Errorf("the rejection does not name the key:\n%s", stderr.String())
	}
}

// checkDaemonProcessSettings checks tune.go's settings on the running daemon: one P (as /metrics
// reports it) and, on Linux, the timer slack of each of its threads (/proc/TID/timerslack_ns;
// reading another process's needs CAP_SYS_NICE, as root has).
func checkDaemonProcessSettings(t *testing.T, pid int, statusURL string) {
	t.Helper()
	res, err := http.Get(statusURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^go_sched_gomaxprocs_threads 1$`).Match(metrics) && os.Getenv("GOMAXPROCS") == "" {
		t.Errorf("/metrics does not report GOMAXPROCS 1:\n%s", regexp.MustCompile(`(?m)^go_sched_gomaxprocs.*$`).Find(metrics))
	}
	if runtime.GOOS != "linux" || os.Getenv(timerSlackEnv) != "" {
		return
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(daemonTimerSlack.Nanoseconds(), 10)
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/" + task.Name() + "/timerslack_ns")
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread has exited since
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("daemon thread %s: timer slack %s ns, want %s", task.Name(), got, want)
		}
	}
	if len(tasks) < 2 {
		t.Errorf("the daemon has %d threads: no runtime thread to check", len(tasks))
	}
	// The daemon keeps its binary's name, so that pgrep, pkill and top find it.
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(exe)
	name = name[:min(len(name), 15)] // the kernel keeps 15 bytes of a command's name
	if got := strings.TrimSpace(string(comm)); got != name {
		t.Errorf("daemon process named %q, want %q (the binary's name)", got, name)
	}
}
