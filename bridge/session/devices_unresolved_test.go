package session

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A configured line that has not resolved since start-up (its WLED unplugged at boot, its name
// not in DNS yet) is on the status page and /metrics from the start: offline, not driven, with
// the reason and the retry; once it resolves the same entry is its driven strip, listed once.
// Everything goes over real sockets: fakes from wledtest, the status server on loopback, its
// JSON, its live events and its /metrics read over HTTP. The host name resolves only through
// the lookup the test injects, which refuses it until the device is "plugged in".

// listedDevice is a device as /api/status lists it, decoded by the test's own reading of the
// JSON (not status.Device) so that a field the page drops shows as missing.
type listedDevice struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	IP          string    `json:"ip"`
	Online      bool      `json:"online"`
	Driven      bool      `json:"driven"`
	LastError   string    `json:"lastError"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"nextAttempt"`
}

// listedDevices GETs base's /api/status and returns its devices and time.
func listedDevices(t *testing.T, base string) ([]listedDevice, time.Time) {
	t.Helper()
	resp, err := http.Get(base + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap struct {
		Time    time.Time      `json:"time"`
		Devices []listedDevice `json:"devices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/status: %d, %v", resp.StatusCode, err)
	}
	return snap.Devices, snap.Time
}

// listedByID returns the entries with id among devices.
func listedByID(devices []listedDevice, id string) []listedDevice {
	var out []listedDevice
	for _, d := range devices {
		if d.ID == id {
			out = append(out, d)
		}
	}
	return out
}

// scrapedSeries is one sample of /metrics.
type scrapedSeries struct {
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrapeMetrics GETs base's /metrics (Prometheus' text format) and returns its samples by name.
func scrapeMetrics(t *testing.T, base string) map[string][]scrapedSeries {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4") // the text format, not protobuf
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string][]scrapedSeries{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("/metrics line %q is not a sample", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		s := scrapedSeries{labels: map[string]string{}, value: v}
		for _, l := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]], err = strconv.Unquote(`"` + l[2] + `"`)
			if err != nil {
				t.Fatalf("/metrics line %q: label %s: %v", line, l[1], err)
			}
		}
		out[m[1]] = append(out[m[1]], s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// perDeviceSeries are the /metrics series every listed strip has, by its device and id labels.
var perDeviceSeries = []string{
	"ledbridge_wled_online",
	"ledbridge_wled_frames_sent_total", "ledbridge_wled_packets_sent_total", "ledbridge_wled_send_errors_total",
	"ledbridge_wled_frames_dropped_total", "ledbridge_wled_reopen_failures_total",
}

// seriesOf returns the samples of name whose id label is id.
func seriesOf(scraped map[string][]scrapedSeries, name, id string) []scrapedSeries {
	var out []scrapedSeries
	for _, s := range scraped[name] {
		if s.labels["id"] == id {
			out = append(out, s)
		}
	}
	return out
}

// serveStatusAndMetrics serves s's status page, with s's registry on /metrics, on a loopback
// port until the test ends; it returns its URL.
func serveStatusAndMetrics(t *testing.T, s *Session) string {
	t.Helper()
	gatherer, ok := s.cfg.Metrics.(prometheus.Gatherer)
	if !ok {
		t.Fatalf("the session's registry %T gathers nothing", s.cfg.Metrics)
	}
	return serveStatusPage(t, status.Config{Provider: s, Gatherer: gatherer})
}

// previewedIDs reads base's live events until the first strip preview and returns the ids it
// paints.
func previewedIDs(t *testing.T, base string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			event = name
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || event != "preview" {
			continue
		}
		var frames map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &frames); err != nil {
			t.Fatalf("preview event %q: %v", data, err)
		}
		ids := map[string]bool{}
		for id := range frames {
			ids[id] = true
		}
		return ids
	}
	t.Fatalf("the live events ended without a preview: %v", sc.Err())
	return nil
}

// refusingLookup resolves host to addr once pluggedIn is set, and refuses every other name, and
// host before then, as DNS refuses a name not registered yet.
func refusingLookup(host string, addr netip.Addr, pluggedIn *atomic.Bool) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(_ context.Context, _, h string) ([]netip.Addr, error) {
		if h != host || !pluggedIn.Load() {
			return nil, fmt.Errorf("lookup %s: no such host", h)
		}
		return []netip.Addr{addr}, nil
	}
}

func TestUnresolvedConfiguredLineIsListedUntilItIsDriven(t *testing.T) {
	// wled://stage-left.test:PORT, whose name does not resolve at start-up, and a WLED that
	// works. The page and /metrics must list both from the start, the first offline with its
	// error, and list it once, driven, when its name resolves.
	working := wledtest.New(t, wledtest.Config{Name: "Drums", LEDs: 30, HTTPListen: "127.0.41.1:0", DDPListen: "127.0.41.1:0", RealtimeListen: "-"})
	later := wledtest.New(t, wledtest.Config{Name: "Stage left", LEDs: 40, HTTPListen: "127.0.41.2:0", DDPListen: "127.0.41.2:0", RealtimeListen: "-"})
	const host = "stage-left.test"
	line := strings.Replace(later.URL(), "127.0.41.2", host, 1)
	var pluggedIn atomic.Bool
	r := startDeviceRig(t, []string{working.URL(), line}, nil, func(d *deviceSet) {
		d.lookup = refusingLookup(host, netip.MustParseAddr("127.0.41.2"), &pluggedIn)
		d.retryDelays = []time.Duration{time.Hour} // the test says when it is tried again
	})
	base := serveStatusAndMetrics(t, r.s)
	waitStrips(t, r, working.URL()+"->"+working.DDPAddr()+"/30")
	waitFor(t, "the line's first failed attempt on the page", func() bool {
		devices, _ := listedDevices(t, base)
		listed := listedByID(devices, line)
		return len(listed) == 1 && listed[0].Attempts > 0
	})

	devices, now := listedDevices(t, base)
	if len(devices) != 2 || len(listedByID(devices, working.URL())) != 1 {
		t.Fatalf("the page lists %+v, want %s and %s", devices, working.URL(), line)
	}
	if d := listedByID(devices, working.URL())[0]; !d.Driven || !d.Online || d.LastError != "" {
		t.Errorf("the working device is listed %+v, want driven, online, no error", d)
	}
	d := listedByID(devices, line)[0]
	if d.Online || d.Driven || d.Name != line || d.IP != host {
		t.Errorf("the unresolved line is listed %+v, want offline, not driven, named by its line at %s", d, host)
	}
	if !strings.Contains(d.LastError, "no such host") {
		t.Errorf("the unresolved line's error reads %q, want the look-up's", d.LastError)
	}
	if !d.NextAttempt.After(now) {
		t.Errorf("the unresolved line's next attempt is %v, not after the page's time %v", d.NextAttempt, now)
	}

	scraped := scrapeMetrics(t, base)
	for _, name := range perDeviceSeries {
		got := seriesOf(scraped, name, line)
		if len(got) != 1 || got[0].value != 0 || got[0].labels["device"] != line {
			t.Errorf("/metrics %s{id=%q} = %+v, want one series at 0 with device=%q", name, line, got, line)
		}
	}
	if got := seriesOf(scraped, "ledbridge_wled_online", working.URL()); len(got) != 1 || got[0].value != 1 {
		t.Errorf("/metrics ledbridge_wled_online{id=%q} = %+v, want 1", working.URL(), got)
	}
	if ids := previewedIDs(t, base); !ids[working.URL()] || ids[line] {
		t.Errorf("the preview paints %v, want %s and not the unresolved line", ids, working.URL())
	}

	pluggedIn.Store(true)
	r.s.devices.pokeConfigured(line) // its retry comes now
	waitStrips(t, r, working.URL()+"->"+working.DDPAddr()+"/30", line+"->"+later.DDPAddr()+"/40")
	r.feedUntilFrame(t, line, later)

	devices, _ = listedDevices(t, base)
	listed := listedByID(devices, line)
	if len(devices) != 2 || len(listed) != 1 {
		t.Fatalf("once driven the page lists %+v, want %s once beside %s", devices, line, working.URL())
	}
	if d := listed[0]; !d.Driven || !d.Online || d.Name != "Stage left" || d.IP != "127.0.41.2" || d.LastError != "" || d.Attempts != 0 || !d.NextAttempt.IsZero() {
		t.Errorf("once driven the line is listed %+v, want driven, online, named Stage left at 127.0.41.2, no error or retry", d)
	}
	scraped = scrapeMetrics(t, base)
	for _, name := range perDeviceSeries {
		// A wled:// line is named by what its WLED reports, which nobody knows before it answers:
		// its device label changes then, its id does not.
		if got := seriesOf(scraped, name, line); len(got) != 1 || got[0].labels["device"] != "Stage left" {
			t.Errorf("once driven /metrics %s{id=%q} = %+v, want one series with device=\"Stage left\"", name, line, got)
		}
	}
	if got := seriesOf(scraped, "ledbridge_wled_online", line); len(got) != 1 || got[0].value != 1 {
		t.Errorf("once driven /metrics ledbridge_wled_online{id=%q} = %+v, want 1", line, got)
	}
	if ids := previewedIDs(t, base); !ids[line] {
		t.Errorf("once driven the preview paints %v, want %s too", ids, line)
	}
}

func TestUnresolvedForcedProtocolLineKeepsItsSeriesWhenDriven(t *testing.T) {
	// ddp://stage-right.test:PORT?leds=20 is named by its line whether or not it resolves, so
	// its /metrics series are the same ones before and after: only their values move.
	later := wledtest.New(t, wledtest.Config{LEDs: 20, HTTPListen: "-", DDPListen: "127.0.41.3:0", RealtimeListen: "-"})
	const host = "stage-right.test"
	_, port, _ := net.SplitHostPort(later.DDPAddr())
	line := "ddp://" + host + ":" + port + "?leds=20"
	var pluggedIn atomic.Bool
	r := startDeviceRig(t, []string{line}, nil, func(d *deviceSet) {
		d.lookup = refusingLookup(host, netip.MustParseAddr("127.0.41.3"), &pluggedIn)
		d.retryDelays = []time.Duration{time.Hour}
	})
	base := serveStatusAndMetrics(t, r.s)
	waitFor(t, "the line's first failed attempt on the page", func() bool {
		devices, _ := listedDevices(t, base)
		return len(devices) == 1 && devices[0].ID == line && devices[0].Attempts > 0
	})
	before := scrapeMetrics(t, base)
	for _, name := range perDeviceSeries {
		if got := seriesOf(before, name, line); len(got) != 1 || got[0].value != 0 {
			t.Fatalf("/metrics %s{id=%q} = %+v, want one series at 0", name, line, got)
		}
	}

	pluggedIn.Store(true)
	r.s.devices.pokeConfigured(line)
	waitStrips(t, r, line+"->"+later.DDPAddr()+"/20")
	after := scrapeMetrics(t, base)
	for _, name := range perDeviceSeries {
		was, is := seriesOf(before, name, line), seriesOf(after, name, line)
		if len(is) != 1 || fmt.Sprint(is[0].labels) != fmt.Sprint(was[0].labels) {
			t.Errorf("/metrics %s{id=%q}: %+v once driven, %+v before: want the same labels", name, line, is, was)
		}
	}
	if got := seriesOf(after, "ledbridge_wled_online", line); len(got) != 1 || got[0].value != 1 {
		t.Errorf("once driven /metrics ledbridge_wled_online{id=%q} = %+v, want 1", line, got)
	}
}

func TestReloadRemovesAnUnresolvedLineFromThePageAndMetrics(t *testing.T) {
	// The operator fixes a misspelt line by a reload: the line that never resolved goes from
	// the page and /metrics, and the one that replaces it, which does not resolve either, shows.
	const misspelt, fixed = "wled://stage-lfet.test", "wled://stage-left.test"
	var never atomic.Bool
	r := startDeviceRig(t, []string{misspelt}, nil, func(d *deviceSet) {
		d.lookup = refusingLookup("stage-left.test", netip.MustParseAddr("127.0.41.4"), &never)
		d.retryDelays = []time.Duration{time.Hour}
	})
	base := serveStatusAndMetrics(t, r.s)
	waitFor(t, "the misspelt line's first failed attempt on the page", func() bool {
		devices, _ := listedDevices(t, base)
		return len(devices) == 1 && devices[0].ID == misspelt && devices[0].Attempts > 0
	})
	if got := seriesOf(scrapeMetrics(t, base), "ledbridge_wled_online", misspelt); len(got) != 1 || got[0].value != 0 {
		t.Fatalf("/metrics ledbridge_wled_online{id=%q} = %+v, want 0", misspelt, got)
	}

	if err := r.s.SetDevices([]string{fixed}); err != nil {
		t.Fatal(err)
	}
	devices, _ := listedDevices(t, base)
	if len(devices) != 1 || devices[0].ID != fixed || devices[0].Driven {
		t.Errorf("after the reload the page lists %+v, want %s alone, not driven", devices, fixed)
	}
	scraped := scrapeMetrics(t, base)
	for _, name := range perDeviceSeries {
		if got := seriesOf(scraped, name, misspelt); len(got) != 0 {
			t.Errorf("after the reload /metrics still has %s{id=%q}: %+v", name, misspelt, got)
		}
		if got := seriesOf(scraped, name, fixed); len(got) != 1 {
			t.Errorf("after the reload /metrics %s{id=%q} = %+v, want one series", name, fixed, got)
		}
	}
}

func TestUnresolvedLinesErrorIsPrintableAndShort(t *testing.T) {
	// The error may quote what a DNS server or a device answered: the page gets it with control
	// and bidi characters escaped and cut to maxDeviceErrorRunes, as discover's table does.
	const line = "wled://stage-left.test"
	answer := "lookup stage-left.test: \x1b[2J\u202e" + strings.Repeat("a", 400)
	r := startDeviceRig(t, []string{line}, nil, func(d *deviceSet) {
		d.lookup = func(context.Context, string, string) ([]netip.Addr, error) { return nil, errors.New(answer) }
		d.retryDelays = []time.Duration{time.Hour}
	})
	base := serveStatusAndMetrics(t, r.s)
	var listed []listedDevice
	waitFor(t, "the line's first failed attempt on the page", func() bool {
		listed, _ = listedDevices(t, base)
		return len(listed) == 1 && listed[0].Attempts > 0
	})
	got := listed[0].LastError
	if !strings.HasPrefix(got, `lookup stage-left.test: \x1b[2J\u202e`) || !strings.HasSuffix(got, "…") || utf8.RuneCountInString(got) > maxDeviceErrorRunes+1 {
		t.Errorf("the page shows the error as %q, want it escaped and cut to %d runes", got, maxDeviceErrorRunes)
	}
}
