package status

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// blockingGatherer is a registry whose Gather announces itself on entered, then waits for release:
// a stand-in for join's registry, whose hub collector waits on the room server's locks.
type blockingGatherer struct {
	*prometheus.Registry
	entered chan struct{}
	release chan struct{}
}

func (g *blockingGatherer) Gather() ([]*dto.MetricFamily, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Registry.Gather()
}

// TestMetricsScrapesInFlightBounded: while metricsMaxInFlight scrapes of /metrics are being
// gathered, one more is answered 503 at once instead of queueing behind them (under join the
// registry holds the hub's collector, which locks the room server); once they finish, scrapes are
// answered again.
func TestMetricsScrapesInFlightBounded(t *testing.T) {
	// entered has room for every scrape this test sends, so that a server admitting too many
	// blocks none of them before release.
	g := &blockingGatherer{Registry: prometheus.NewRegistry(), entered: make(chan struct{}, metricsMaxInFlight+2), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(g.release) }) }
	base := start(t, Config{Provider: &fakeProvider{}, Gatherer: g})
	t.Cleanup(release) // runs before the server's shutdown, even when the test fails
	client := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	scrape := func() (int, error) {
		res, err := client.Get(base + "/metrics")
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, metricsMaxInFlight)
	for range metricsMaxInFlight {
		go func() {
			code, err := scrape()
			done <- result{code, err}
		}()
		<-g.entered
	}
	if code, err := scrape(); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("scrape %d while %d are in flight: HTTP %d (%v), want 503", metricsMaxInFlight+1, metricsMaxInFlight, code, err)
	}
	release()
	for range metricsMaxInFlight {
		if r := <-done; r.err != nil || r.code != http.StatusOK {
			t.Errorf("a blocked scrape ended with HTTP %d (%v), want 200", r.code, r.err)
		}
	}
	if code, err := scrape(); err != nil || code != http.StatusOK {
		t.Errorf("a scrape after the others finished: HTTP %d (%v), want 200", code, err)
	}
}
