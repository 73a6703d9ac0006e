package session_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/bridge/status"
)

// An ICE restart of a musician's connection is on /metrics, in ledbridge_webrtc_ice_restarts_total
// by reason, from zero, and stays counted once she has left and the peer Manager has released her
// record (it used to be only in her record's stats, and gone with it). Here the host's addresses,
// as the daemon's host address watch gives them, lose the loopback address her connection's
// pair is on: the bridge restarts ICE at once, and her audio comes back over the new pair.
func TestMetricsCountICERestartsOfAMusicianWhoLeft(t *testing.T) {
	reg := prometheus.NewRegistry()
	released := &releaseCounter{}
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Metrics = reg
		c.Logger = slog.New(released)
	})
	base := serveMetrics(t, r.sess, reg)
	if got := iceRestarts(t, base); len(got) != 2 || got["address_gone"] != 0 || got["other"] != 0 {
		t.Fatalf("ledbridge_webrtc_ice_restarts_total before any musician: %v, want address_gone and other at 0", got)
	}

	ana := r.musician(musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true})
	packets := streamedPackets(t, r, "ana", 0)
	r.sess.HostAddressesChanged([]netip.Addr{netip.MustParseAddr("192.0.2.1")}) // 127.0.0.1 gone
	waitFor(t, 10*time.Second, "the restart counted", func() bool { return iceRestarts(t, base)["address_gone"] == 1 })
	streamedPackets(t, r, "ana", packets+25) // her audio after the restart
	if got := iceRestarts(t, base); got["address_gone"] != 1 || got["other"] != 0 {
		t.Errorf("ledbridge_webrtc_ice_restarts_total with ana back: %v, want address_gone 1, other 0", got)
	}

	ana.leave()
	waitFor(t, 10*time.Second, "ana gone", func() bool { _, ok := r.musicianStatus("ana"); return !ok })
	waitFor(t, 20*time.Second, "ana's peer record released", func() bool { return released.n.Load() == 1 })
	if got := iceRestarts(t, base); got["address_gone"] != 1 || got["other"] != 0 {
		t.Errorf("ledbridge_webrtc_ice_restarts_total after ana left: %v, want address_gone 1, other 0", got)
	}
}

// releaseCounter counts the peer Manager's "musician released" records (at debug level), the
// last a musician's goroutine logs.
type releaseCounter struct{ n atomic.Int64 }

func (c *releaseCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *releaseCounter) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message == "musician released" {
		c.n.Add(1)
	}
	return nil
}
func (c *releaseCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *releaseCounter) WithGroup(string) slog.Handler      { return c }

// serveMetrics serves the status page of sess, with reg on /metrics as the daemon serves it, on
// a loopback port until the test ends; it returns its URL.
func serveMetrics(t *testing.T, sess *session.Session, reg *prometheus.Registry) string {
	t.Helper()
	srv, err := status.New(status.Config{Provider: sess, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

// iceRestarts GETs base's /metrics in the text format and returns the samples of
// ledbridge_webrtc_ice_restarts_total by their reason label.
func iceRestarts(t *testing.T, base string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	const prefix = `ledbridge_webrtc_ice_restarts_total{reason="`
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		reason, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			t.Fatalf("/metrics line %q", sc.Text())
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", sc.Text(), err)
		}
		out[reason] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
