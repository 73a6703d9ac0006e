package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
)

// TestJoinExportsHubMetrics: `ledbridge join` hosting the room on the embedded server exports the
// server's ledbridge_hub_* series on the status page's /metrics, next to the session's: the
// bridge's own socket, channel and Presence meta show up, and every refusal reason is exported.
func TestJoinExportsHubMetrics(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	cfg := "discovery:\n  enabled: false\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, statusURL, stderr := startJoinBinary(t, bin, "MTR234", cfgPath)
	client := &http.Client{Timeout: 10 * time.Second}
	scrape := func() string {
		t.Helper()
		res, err := client.Get(statusURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return string(body)
	}
	// The bridge joins its own room with Presence: one socket, one channel, one meta. It tracks
	// once its join is answered, so the channel shows before the meta: wait for both.
	joined := regexp.MustCompile(`(?m)^ledbridge_hub_channels 1$`)
	tracked := regexp.MustCompile(`(?m)^ledbridge_hub_presences 1$`)
	var metrics string
	waitJoin(t, 15*time.Second, "the bridge's channel and meta in ledbridge_hub_channels and _presences", func() bool {
		metrics = scrape()
		return joined.MatchString(metrics) && tracked.MatchString(metrics)
	})
	for _, want := range []string{
		`(?m)^ledbridge_hub_connections 1$`,
		`(?m)^ledbridge_hub_rooms 1$`,
		`(?m)^ledbridge_hub_presences 1$`,
		`(?m)^# HELP ledbridge_hub_handshakes_refused_total .+`,
		`(?m)^ledbridge_hub_handshakes_refused_total\{reason="address_full"\} 0$`,
		`(?m)^ledbridge_hub_frames_received_total [1-9]`,
		`(?m)^ledbridge_loop_ticks_total `, // the session's series, in the same registry
	} {
		if !regexp.MustCompile(want).MatchString(metrics) {
			t.Errorf("/metrics has no line matching %s; stderr:\n%s", want, stderr.String())
		}
	}
	// The embedded hub serves no /metrics of its own: the status page does.
	hubAddr := regexp.MustCompile(`LAN room server listening.* addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(stderr.String())
	if hubAddr == nil {
		t.Fatalf("no listening line for the embedded hub in stderr:\n%s", stderr.String())
	}
	if status, _, body := get(t, client, "http://"+hubAddr[1]+"/metrics"); status != http.StatusNotFound {
		t.Errorf("the embedded hub's own port answered /metrics with HTTP %d, want 404:\n%s", status, body)
	}
	// Every hub series is listed in the README's metrics paragraph.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^# HELP (ledbridge_hub_\w+) `).FindAllStringSubmatch(metrics, -1) {
		if !strings.Contains(string(readme), "`"+m[1]) {
			t.Errorf("the README does not list %s", m[1])
		}
	}
}

// startHubBinary starts `ledbridge hub --config cfgPath` with env added to the test's environment,
// waits for the room server's URL in what it prints, and stops it with SIGTERM when the test ends.
func startHubBinary(t *testing.T, bin, cfgPath string, env ...string) (baseURL string, stdout, stderr *testlog.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, "hub", "--config", cfgPath)
	cmd.Env = append(os.Environ(), env...)
	stdout, stderr = &testlog.Buffer{}, &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	// The config listens on 127.0.0.1 only, so the one URL printed is the loopback one.
	url := regexp.MustCompile(`(?m)^  (http://127\.0\.0\.1:\d+) `)
	waitJoin(t, 15*time.Second, "the hub's URL on stdout", func() bool {
		if m := url.FindStringSubmatch(stdout.String()); m != nil {
			baseURL = m[1]
			return true
		}
		select {
		case <-exited: // it failed: say why below
			return true
		default:
			return false
		}
	})
	if baseURL == "" {
		t.Fatalf("ledbridge hub printed no URL; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	return baseURL, stdout, stderr
}

// get sends GET url with client and returns the status, Content-Type and body.
func get(t *testing.T, client *http.Client, url string) (int, string, string) {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(body)
}

// dialHub opens a supabase-js-like WebSocket to the hub at baseURL with key, closed when the test
// ends.
func dialHub(t *testing.T, client *http.Client, baseURL, key string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+hub.Path+"?apikey="+key+"&vsn=2.0.0", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("dial the hub: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// TestHubServesMetrics: `ledbridge hub` (with a secret, so that a keyless scrape proves no key is
// needed) serves GET /metrics on its own port, in the Prometheus text format: the ledbridge_hub_*
// series counting a live WebSocket client, the Go runtime's go_* and process_* series, and nothing
// of join's session (its own registry, not the default one). It prints where.
func TestHubServesMetrics(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	if err := os.WriteFile(cfgPath, []byte("hub:\n  listen: 127.0.0.1:0\n  secret: s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	baseURL, stdout, stderr := startHubBinary(t, bin, cfgPath)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ws := dialHub(t, client, baseURL, "s3cret")

	var status int
	var ctype, metrics string
	connected := regexp.MustCompile(`(?m)^ledbridge_hub_connections 1$`)
	waitJoin(t, 15*time.Second, "the client's socket in ledbridge_hub_connections", func() bool {
		status, ctype, metrics = get(t, client, baseURL+"/metrics")
		return status == http.StatusOK && connected.MatchString(metrics)
	})
	if !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("Content-Type %q, want the Prometheus text format", ctype)
	}
	for _, want := range []string{
		`(?m)^# TYPE ledbridge_hub_connections gauge$`,
		`(?m)^ledbridge_hub_rooms 0$`,
		`(?m)^ledbridge_hub_handshakes_refused_total\{reason="bad_key"\} 0$`,
		`(?m)^go_goroutines [1-9]`,
		`(?m)^process_start_time_seconds [1-9]`,
		`(?m)^process_resident_memory_bytes [1-9]`,
	} {
		if !regexp.MustCompile(want).MatchString(metrics) {
			t.Errorf("/metrics has no line matching %s", want)
		}
	}
	if strings.Contains(metrics, "ledbridge_loop_") || strings.Contains(metrics, "ledbridge_room_") {
		t.Errorf("ledbridge hub exports join's session series:\n%s", metrics)
	}
	if want := "Prometheus metrics: " + baseURL + "/metrics\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout does not say %q:\n%s", want, stdout.String())
	}
	if !strings.Contains(stderr.String(), "metrics=/metrics") {
		t.Errorf("the listening log line does not name the metrics path:\n%s", stderr.String())
	}

	// The socket's close is counted too: the gauge follows the live connection.
	ws.Close(websocket.StatusNormalClosure, "")
	disconnected := regexp.MustCompile(`(?m)^ledbridge_hub_connections 0$`)
	waitJoin(t, 15*time.Second, "ledbridge_hub_connections back to 0", func() bool {
		_, _, metrics = get(t, client, baseURL+"/metrics")
		return disconnected.MatchString(metrics)
	})
}

// TestHubMetricsOff: with hub.metrics false (here from LEDBRIDGE_HUB_METRICS) `ledbridge hub`
// answers /metrics with 404 and says nothing about metrics, while its WebSocket works as before.
func TestHubMetricsOff(t *testing.T) {
	bin := buildBinary(t)
	cfgPath := t.TempDir() + "/config.yaml"
	if err := os.WriteFile(cfgPath, []byte("hub:\n  listen: 127.0.0.1:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	baseURL, stdout, _ := startHubBinary(t, bin, cfgPath, "LEDBRIDGE_HUB_METRICS=false")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	dialHub(t, client, baseURL, "any-key")
	if status, _, body := get(t, client, baseURL+"/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics with hub.metrics false: HTTP %d, want 404:\n%s", status, body)
	}
	if strings.Contains(stdout.String(), "metrics") {
		t.Errorf("stdout mentions metrics with hub.metrics false:\n%s", stdout.String())
	}
}
