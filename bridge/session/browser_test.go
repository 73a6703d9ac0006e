package session_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// browserDir holds the pinned playwright-core that drives Debian's Chromium.
var browserDir = filepath.Join("..", "..", "testdata", "browser")

// requireBrowser skips (or, under LEDBRIDGE_REQUIRE_ALL=1, fails) without Chromium, Node.js or
// testdata/browser's node_modules, and returns the Chromium and node paths.
func requireBrowser(t *testing.T) (chromiumPath, nodePath string) {
	t.Helper()
	chromiumPath, err := exec.LookPath("chromium")
	if err != nil {
		requireOrSkip(t, "no chromium on PATH (apt-get install chromium; .ci/setup.d/browser.sh)")
	}
	nodePath, err = exec.LookPath("node")
	if err != nil {
		requireOrSkip(t, "no node on PATH (.ci/setup.d/node.sh)")
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core", "package.json")); err != nil {
		requireOrSkip(t, "testdata/browser has no node_modules (cd testdata/browser && npm ci)")
	}
	return chromiumPath, nodePath
}

// artifactDir is where screenshots and Chromium's log go: $LEDBRIDGE_ARTIFACTS/<test> when set (CI
// keeps it), else a temporary folder removed after the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("LEDBRIDGE_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("browser artifacts (screenshots, chromium.log) in %s", abs)
	return abs
}

// liveStatus is the session's status page on a loopback port, which a test can take down (answering
// 503 meanwhile, as a proxy in front of a restarting daemon would) and bring back on the same port.
type liveStatus struct {
	t      *testing.T
	cfg    status.Config
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// serveStatus serves the session's status page on a loopback port until the test ends.
func serveStatus(t *testing.T, sess *session.Session, token string) *liveStatus {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := status.Config{Provider: sess, Controller: sess, Token: token, Logger: testLog(t)}
	l := &liveStatus{t: t, cfg: cfg, addr: ln.Addr().String()}
	l.start(ln)
	t.Cleanup(l.stop)
	return l
}

func (l *liveStatus) url() string { return "http://" + l.addr + "/" }

// start serves a new status.Server (one serves once, as a restarted daemon's would) on ln.
func (l *liveStatus) start(ln net.Listener) {
	srv, err := status.New(l.cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan error, 1)
	go func() { l.done <- srv.Serve(ctx, ln) }()
}

func (l *liveStatus) stop() {
	if l.cancel == nil {
		return
	}
	l.cancel()
	if err := <-l.done; err != nil {
		l.t.Errorf("status server: %v", err)
	}
	l.cancel = nil
}

// outage stops the page's server, answers 503 on its port for d, then serves the page again.
func (l *liveStatus) outage(d time.Duration) {
	l.t.Helper()
	l.stop()
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		l.t.Fatalf("outage: %v", err)
	}
	down := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "restarting", http.StatusServiceUnavailable)
	}), ReadHeaderTimeout: time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = down.Serve(ln) }()
	time.Sleep(d)
	_ = down.Close()
	<-served
	if ln, err = net.Listen("tcp", l.addr); err != nil {
		l.t.Fatalf("outage: listen again: %v", err)
	}
	l.start(ln)
}

// lanRoom makes the rig's session describe its room as the web app's LAN server would.
func lanRoom(sc *session.Config) {
	sc.HostedBy = "lan"
	sc.RoomURL = sc.Realtime.URL
}

// browserRun is what one run of testdata/browser/status-page.mjs reported.
type browserRun struct {
	Result struct {
		ConsoleErrors  []string       `json:"consoleErrors"`
		PreviewChanged string         `json:"previewChanged"`
		PreviewLit     map[string]int `json:"previewLit"`
		NoteChip       struct{ Text, Bg string }
		Phone          struct{ Viewport, ScrollWidth int }
		Identify       map[string]bool `json:"identifyPreview"`
	} `json:"result"`
	Error         string `json:"error"`
	BrowserFailed bool   `json:"browserFailed"`
	identifiedAt  time.Time
	stderr        string
	timedOut      bool
}

// runStatusPageScript runs the browser script once with a hard timeout, logging its progress.
// onOutage is called when the script asks for the page's server to go away and come back; the
// script continues once it returns.
func runStatusPageScript(t *testing.T, nodePath string, opts map[string]any, timeout time.Duration, onOutage func()) browserRun {
	t.Helper()
	raw, _ := json.Marshal(opts)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodePath, "status-page.mjs", string(raw))
	cmd.Dir = browserDir
	// pw:browser forwards Chromium's own stderr (--enable-logging=stderr) to node's stderr.
	cmd.Env = append(os.Environ(), "DEBUG=pw:browser")
	// node and the Chromium it starts share a new process group, killed whole on timeout so that
	// a hung browser does not outlive the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	var run browserRun
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev struct {
			Event     string          `json:"event"`
			ClickedAt int64           `json:"clickedAt"`
			Result    json.RawMessage `json:"result"`
		}
		if json.Unmarshal(line, &ev) != nil {
			t.Logf("browser: %s", line)
			continue
		}
		switch {
		case ev.Event == "identify":
			run.identifiedAt = time.UnixMilli(ev.ClickedAt)
			t.Logf("browser: %s", line)
		case ev.Event == "outage":
			t.Logf("browser: %s", line)
			onOutage()
			_, _ = io.WriteString(stdin, "back\n")
		case ev.Result != nil:
			if err := json.Unmarshal(line, &run); err != nil {
				t.Errorf("browser result %s: %v", line, err)
			}
		default:
			t.Logf("browser: %s", line)
		}
	}
	err = cmd.Wait()
	run.stderr = stderr.String()
	run.timedOut = ctx.Err() != nil
	var exit *exec.ExitError
	switch {
	case run.timedOut:
		run.BrowserFailed = true
		run.Error = fmt.Sprintf("the browser script did not finish within %v", timeout)
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		run.BrowserFailed = true
	case err != nil && run.Error == "":
		run.Error = "node: " + err.Error()
	}
	return run
}

// TestStatusPageInChromium opens the status page of a running pipeline (embedded room server, a
// pion musician playing an A3 tone, two fake WLED strips) in headless Chromium, on a desktop and a
// phone screen, and checks what it shows, that its preview moves with the audio, that Identify
// flashes the real strip, that the page reconnects by itself after its server answered 503 for a
// while and came back, and that the page logs no error outside that outage.
func TestStatusPageInChromium(t *testing.T) {
	chromiumPath, nodePath := requireBrowser(t)
	out := artifactDir(t)
	r := newRigWith(t, effect.ModeAuto, hub.Config{}, lanRoom)
	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true, isHost: true})
	waitFor(t, 20*time.Second, "ana connected to the bridge", ana.connected)
	waitFor(t, 10*time.Second, "the bridge hears A3 from ana", func() bool {
		m, ok := r.musicianStatus("ana")
		return ok && len(m.Notes) > 0 && m.Notes[0].Name == "A3"
	})
	var ddpID string
	for _, d := range r.sess.Snapshot().Devices {
		if d.ID == r.ddp.DDPURL() {
			ddpID = d.ID
		}
	}
	if ddpID == "" {
		t.Fatalf("the session lists no device %q: %+v", r.ddp.DDPURL(), r.sess.Snapshot().Devices)
	}
	const token = "t"
	page := serveStatus(t, r.sess, token)
	opts := map[string]any{
		"url": page.url(), "token": token, "outDir": out, "chromium": chromiumPath,
		"musician": "Ana", "note": "A3", "devices": 2, "identify": ddpID,
		"roomCode": testCode, "roomURL": r.hubURL,
	}

	var run browserRun
	for attempt := 1; attempt <= 2; attempt++ {
		run = runStatusPageScript(t, nodePath, opts, 90*time.Second, func() { page.outage(3 * time.Second) })
		logPath := filepath.Join(out, fmt.Sprintf("chromium-%d.log", attempt))
		if err := os.WriteFile(logPath, []byte(run.stderr), 0o644); err != nil {
			t.Error(err)
		}
		if !run.BrowserFailed {
			break
		}
		t.Logf("attempt %d: the browser failed (%s); Chromium's stderr is in %s, last lines:\n%s", attempt, run.Error, logPath, lastLines(run.stderr, 20))
	}
	res := run.Result
	if len(res.ConsoleErrors) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(res.ConsoleErrors, "\n"))
	}
	if run.Error != "" {
		t.Fatalf("status page in Chromium: %s\nChromium's stderr (last lines):\n%s", run.Error, lastLines(run.stderr, 30))
	}
	t.Logf("preview changed on %s; lit LEDs per strip %v; note chip %+v; phone %+v", res.PreviewChanged, res.PreviewLit, res.NoteChip, res.Phone)

	// The chip is coloured as the strips colour A3 for this musician.
	m, _ := r.musicianStatus("ana")
	if len(m.Notes) > 0 && m.Notes[0].Name == "A3" {
		want := cssRGB(m.Notes[0].Color)
		if res.NoteChip.Text != "A3" || res.NoteChip.Bg != want {
			t.Errorf("note chip %+v, want A3 on %s", res.NoteChip, want)
		}
	}

	// Identify flashed the real strip: after the click, the fake DDP strip received an all-white
	// frame followed by an all-black one, and the other strip never went all white.
	if run.identifiedAt.IsZero() {
		t.Fatal("the script never reported clicking Identify")
	}
	from := run.identifiedAt.Add(-time.Second) // the page's and the fake's clocks are the same, but allow for rounding
	white, black := flashed(r.ddp.Frames(), from)
	if !white || !black {
		t.Errorf("Identify: the fake DDP strip did not flash after the click (all-white frame %v, all-black after it %v)", white, black)
	}
	if p := res.Identify; !p["white"] || !p["black"] {
		t.Errorf("Identify: the strip's preview on the page did not flash white then black (%v)", p)
	}
	if w, _ := flashed(r.dnrgb.Frames(), from); w {
		t.Error("Identify on the DDP strip flashed the DNRGB strip too")
	}
}

// flashed reports whether frames received after from include an all-white frame (every byte
// equal and lit: full white scaled by the brightness cap and the current budget) and, after it,
// an all-0 one.
func flashed(frames []wledtest.Frame, from time.Time) (white, black bool) {
	for _, f := range frames {
		if f.Received.Before(from) {
			continue
		}
		switch {
		case len(f.Pixels) > 0 && f.Pixels[0] > 0 && allBytes(f.Pixels, f.Pixels[0]):
			white = true
		case white && allBytes(f.Pixels, 0):
			black = true
		}
	}
	return white, black
}

func allBytes(b []byte, v byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}

// cssRGB turns "#rrggbb" into the rgb(r, g, b) form getComputedStyle reports.
func cssRGB(hex string) string {
	var r, g, b int
	if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return "bad colour " + hex
	}
	return fmt.Sprintf("rgb(%d, %d, %d)", r, g, b)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
