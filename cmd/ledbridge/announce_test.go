package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// jsonRecords parses every line of s as a JSON log record; a line that is not one fails t.
func jsonRecords(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON record with --log-format json: %q", line)
			continue
		}
		out = append(out, rec)
	}
	return out
}

// recordWith returns the first record holding attribute key, or nil.
func recordWith(recs []map[string]any, key string) map[string]any {
	for _, r := range recs {
		if _, ok := r[key]; ok {
			return r
		}
	}
	return nil
}

// strings of a JSON array attribute.
func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// ipURL returns the first URL in urls whose host is an IP address ("" for none), preferring
// loopback (the one a test may reach).
func ipURL(urls []string, loopback bool) string {
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(p.Hostname()); ip != nil && (!loopback || ip.IsLoopback()) {
			return u
		}
	}
	return ""
}

// TestJoinJSONLogsAnnounceAsRecords: with --log-format json, what join tells the operator (the
// musicians' URLs, the room code, the status page) comes as JSON log records, with the URLs as
// attributes, and nothing as plain text on stdout; the status page's URLs include the ones by
// IP address (a phone or a Windows laptop may not resolve hostname.local).
func TestJoinJSONLogsAnnounceAsRecords(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "join", "JSN234", "--no-discovery", "--log-format", "json",
		"--listen", "127.0.0.1:0", "--status-addr", ":0", "--config", "/dev/null")
	cmd.Env = append(os.Environ(), "LEDBRIDGE_DEVICES=")
	var stdout, stderr testlog.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	startCommand(t, cmd)
	waitJoin(t, 15*time.Second, "the status page's record", func() bool {
		return strings.Contains(stderr.String(), `"urls"`) && strings.Contains(stderr.String(), `"status page"`)
	})
	var hubRec, statusRec map[string]any
	for _, r := range jsonRecords(t, stderr.String()) {
		if r["websockets"] != nil {
			hubRec = r
		}
		if r["msg"] == "status page" {
			statusRec = r
		}
	}
	if hubRec == nil || len(stringList(hubRec["urls"])) == 0 || !strings.HasPrefix(stringList(hubRec["websockets"])[0], "ws://127.0.0.1:") || hubRec["room"] != "JSN234" {
		t.Errorf("no record with the musicians' URLs, WebSocket URLs and room code before the status page's:\n%s", stderr.String())
	}
	urls := stringList(statusRec["urls"])
	u := ipURL(urls, true)
	if u == "" {
		t.Fatalf("the status page's URLs %q hold none by IP address", urls)
	}
	res, err := http.Get(u + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET %s/api/status: %s", u, res.Status)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if stdout.String() != "" {
		t.Errorf("plain text on stdout with --log-format json:\n%s", stdout.String())
	}
	jsonRecords(t, stderr.String()) // every line, to the last, is a record
}

// TestJoinStatusPageURLByAddress: with the status page on every interface, the plain-text line
// gives an address URL besides hostname.local, and it opens the page.
func TestJoinStatusPageURLByAddress(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "join", "ADR234", "--no-discovery", "--listen", "127.0.0.1:0", "--status-addr", ":0", "--config", "/dev/null")
	cmd.Env = append(os.Environ(), "LEDBRIDGE_DEVICES=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testlog.Buffer
	cmd.Stderr = &stderr
	startCommand(t, cmd)
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	line := ""
	sc := bufio.NewScanner(stdout)
	for line == "" && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Status page") {
			line = sc.Text()
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	var urls []string
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(strings.Trim(f, "()"), "http://") {
			urls = append(urls, strings.TrimSuffix(strings.Trim(f, "()"), "/"))
		}
	}
	u := ipURL(urls, false)
	if u == "" {
		t.Fatalf("the status line gives no URL by IP address: %q\n%s", line, stderr.String())
	}
	// Any of the host's addresses reaches the page; open it over loopback at the same port.
	p, _ := url.Parse(u)
	res, err := http.Get("http://127.0.0.1:" + p.Port() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// TestHubJSONLogsAnnounceAsRecords: `ledbridge hub --log-format json` gives its URLs as one JSON
// record, and nothing on stdout.
func TestHubJSONLogsAnnounceAsRecords(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "hub", "--addr", "127.0.0.1:0", "--log-format", "json", "--config", "/dev/null")
	var stdout, stderr testlog.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	startCommand(t, cmd)
	waitJoin(t, 15*time.Second, "the URLs' record", func() bool { return strings.Contains(stderr.String(), `"websockets"`) })
	time.Sleep(200 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if stdout.String() != "" {
		t.Errorf("plain text on stdout with --log-format json:\n%s", stdout.String())
	}
	rec := recordWith(jsonRecords(t, stderr.String()), "websockets")
	if rec == nil || ipURL(stringList(rec["urls"]), true) == "" || rec["metrics"] == nil {
		t.Errorf("the record lacks the URLs or the metrics URL: %v", rec)
	}
}
