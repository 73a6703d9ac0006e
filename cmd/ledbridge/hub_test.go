package main

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
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
	// The bridge joins its own room with Presence: one socket, one channel, one meta.
	joined := regexp.MustCompile(`(?m)^ledbridge_hub_channels 1$`)
	var metrics string
	waitJoin(t, 15*time.Second, "the bridge's channel in ledbridge_hub_channels", func() bool {
		metrics = scrape()
		return joined.MatchString(metrics)
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
