package hub

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// scrape sends GET url with header and returns the status, Content-Type and body.
func scrape(t *testing.T, url string, header http.Header) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// TestMetricsPathServesTheRegistry: with MetricsPath set, a plain GET without any key (the hub has
// a secret) gets the registry in the Prometheus text format over the hub's own port, next to a
// live WebSocket the scrape counts, and the registry's other series (the Go runtime's) with it.
func TestMetricsPathServesTheRegistry(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	h := startHub(t, Config{Metrics: reg, MetricsPath: "/metrics", Secret: "s3cret"})
	c := dial(t, h, dialOpts{apikey: "s3cret"})
	c.join("realtime:MTR234", cfgJSON(false, false, ""))

	status, ctype, body := scrape(t, h.httpURL()+"/metrics", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d: %s", status, body)
	}
	if !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("Content-Type %q, want the Prometheus text format (text/plain)", ctype)
	}
	for _, want := range []string{
		`(?m)^# TYPE ledbridge_hub_connections gauge$`,
		`(?m)^ledbridge_hub_connections 1$`,
		`(?m)^ledbridge_hub_channels 1$`,
		`(?m)^ledbridge_hub_handshakes_refused_total\{reason="bad_key"\} 0$`,
		`(?m)^go_goroutines [1-9]`,
	} {
		if !regexp.MustCompile(want).MatchString(body) {
			t.Errorf("/metrics has no line matching %s:\n%s", want, body)
		}
	}
	// The scrape was no handshake and no REST request: nothing refused, nothing counted.
	if st := h.Stats(); st.HandshakeRefused != 0 || st.RESTRefused != 0 {
		t.Errorf("a scrape counted as a refusal: %+v", st)
	}

	req, _ := http.NewRequest(http.MethodPost, h.httpURL()+"/metrics", strings.NewReader("x"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), http.MethodGet) {
		t.Errorf("POST /metrics: HTTP %d, Allow %q; want 405 allowing GET", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if status, _, _ := scrape(t, h.httpURL()+"/metrics/", nil); status != http.StatusNotFound {
		t.Errorf("GET /metrics/: HTTP %d, want 404", status)
	}
}

// TestNoMetricsPathServesNothing: a server with Metrics but no MetricsPath (join's embedded hub,
// whose series the status page serves) answers 404 on /metrics, and its series are still in the
// registry.
func TestNoMetricsPathServesNothing(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	reg := prometheus.NewRegistry()
	h := startHub(t, Config{Metrics: reg})
	if status, _, body := scrape(t, h.httpURL()+"/metrics", nil); status != http.StatusNotFound {
		t.Errorf("GET /metrics without MetricsPath: HTTP %d, want 404: %s", status, body)
	}
	if _, ok := gathered(t, reg)["ledbridge_hub_connections"]; !ok {
		t.Error("the registry lost the hub's series")
	}
}

// TestMetricsOrigin: with AllowedOrigins set, a scrape from a browser page of another origin is
// refused with 403 exactly as that page's WebSocket upgrade is; a scraper (no Origin), an allowed
// origin, and a page served from the hub's own host are answered.
func TestMetricsOrigin(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	h := startHub(t, Config{Metrics: prometheus.NewRegistry(), MetricsPath: "/metrics", AllowedOrigins: []string{"jam.example.org", "https://*.venue.example"}})
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"", http.StatusOK},
		{"https://jam.example.org", http.StatusOK},
		{"HTTPS://JAM.EXAMPLE.ORG", http.StatusOK},
		{"https://lights.venue.example", http.StatusOK},
		{"http://lights.venue.example", http.StatusForbidden}, // the pattern names https
		{"http://" + h.addr, http.StatusOK},                   // the hub's own host
		{"https://evil.example.net", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"::not a url", http.StatusForbidden},
	} {
		header := http.Header{}
		if tc.origin != "" {
			header.Set("Origin", tc.origin)
		}
		status, _, body := scrape(t, h.httpURL()+"/metrics", header)
		if status != tc.want {
			t.Errorf("Origin %q: HTTP %d, want %d: %s", tc.origin, status, tc.want, body)
		}
		if up := dialStatus(t, h, "vsn=2.0.0", header, ""); (up == http.StatusSwitchingProtocols) != (tc.want == http.StatusOK) {
			t.Errorf("Origin %q: the upgrade got HTTP %d but the scrape %d: the two disagree", tc.origin, up, status)
		}
	}
}

// blockingRegistry is a registry whose Gather announces itself on entered, then waits for release.
type blockingRegistry struct {
	*prometheus.Registry
	entered chan struct{}
	release chan struct{}
}

func (r *blockingRegistry) Gather() ([]*dto.MetricFamily, error) {
	r.entered <- struct{}{}
	<-r.release
	return r.Registry.Gather()
}

// TestMetricsScrapesInFlightBounded: while metricsMaxInFlight scrapes are being gathered, one more
// is answered 503 at once instead of queueing behind the rooms' locks; once they finish, scrapes
// are answered again.
func TestMetricsScrapesInFlightBounded(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	// entered holds every scrape this test sends, so that a server admitting too many blocks
	// none of them before release.
	reg := &blockingRegistry{Registry: prometheus.NewRegistry(), entered: make(chan struct{}, metricsMaxInFlight+2), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(reg.release) }) }
	h := startHub(t, Config{Metrics: reg, MetricsPath: "/metrics"})
	t.Cleanup(release) // runs before the hub's shutdown, even when the test fails
	client := &http.Client{Timeout: testTimeout}
	t.Cleanup(client.CloseIdleConnections)
	get := func() (int, error) {
		resp, err := client.Get(h.httpURL() + "/metrics")
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	type result struct {
		status int
		err    error
	}
	done := make(chan result, metricsMaxInFlight)
	for range metricsMaxInFlight {
		go func() {
			status, err := get()
			done <- result{status, err}
		}()
		<-reg.entered
	}
	if status, err := get(); err != nil || status != http.StatusServiceUnavailable {
		t.Errorf("scrape %d while %d are in flight: HTTP %d (%v), want 503", metricsMaxInFlight+1, metricsMaxInFlight, status, err)
	}
	release()
	for range metricsMaxInFlight {
		if r := <-done; r.err != nil || r.status != http.StatusOK {
			t.Errorf("a blocked scrape ended with HTTP %d (%v), want 200", r.status, r.err)
		}
	}
	if status, err := get(); err != nil || status != http.StatusOK {
		t.Errorf("scrape after the others finished: HTTP %d (%v), want 200", status, err)
	}
}

// TestMetricsPathInvalid: New refuses a MetricsPath Handler could not serve beside the room
// server's endpoints, and one without a registry it could gather.
func TestMetricsPathInvalid(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, cfg := range []Config{
		{Metrics: reg, MetricsPath: "metrics"},
		{Metrics: reg, MetricsPath: "/"},
		{Metrics: reg, MetricsPath: "/metrics/"},
		{Metrics: reg, MetricsPath: "/a/../metrics"},
		{Metrics: reg, MetricsPath: "/{name}"},
		{Metrics: reg, MetricsPath: "/metrics?x"},
		{Metrics: reg, MetricsPath: Path},
		{Metrics: reg, MetricsPath: SupabasePath},
		{Metrics: reg, MetricsPath: BroadcastAPIPath},
		{Metrics: reg, MetricsPath: BroadcastAPIPath + "/metrics"},
		{MetricsPath: "/metrics"},                                                          // nothing to serve
		{Metrics: prometheus.WrapRegistererWithPrefix("x_", reg), MetricsPath: "/metrics"}, // cannot be gathered
	} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(MetricsPath %q, Metrics %T) = %v, want ErrInvalidConfig", cfg.MetricsPath, cfg.Metrics, err)
		}
	}
	// A refused config registered nothing: the registry still takes a server.
	if _, err := New(Config{Metrics: reg, MetricsPath: "/ops/metrics"}); err != nil {
		t.Errorf("a good MetricsPath after the refused ones: %v", err)
	}
}
