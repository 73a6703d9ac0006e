package session

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/status"
)

// The status page says which look each strip has, in discover's words: the bar's strips: entry
// for the bar, "global" for the drums, which no entry names; a reload that drops the entry gives
// the bar "global" again.
func TestStatusShowsEachStripsLook(t *testing.T) {
	r := startLookRig(t, []StripLook{
		{Device: "stage-left", Look: effect.Strip{Mirror: true}},
		{Device: "BAR", Look: effect.Strip{Effect: effect.EffectPulse, Brightness: 0.5, MaxMilliamps: 700, Reverse: true}, OwnMaxMilliamps: true},
	}, time.Hour)
	r.ticks(t, 3)
	base := serveStatus(t, r.s)

	want := map[string]string{"bar": "strips[1]: pulse, brightness 0.5, 700 mA, reverse", "Drums": effect.GlobalLook}
	if got := statusLooks(t, base); len(got) != 2 || got["bar"] != want["bar"] || got["Drums"] != want["Drums"] {
		t.Fatalf("status looks %q, want %q", got, want)
	}

	if err := r.s.SetStripLooks(nil); err != nil {
		t.Fatal(err)
	}
	r.ticks(t, 2)
	if got := statusLooks(t, base); got["bar"] != effect.GlobalLook || got["Drums"] != effect.GlobalLook {
		t.Fatalf("after the reload: status looks %q, want both global", got)
	}
}

// serveStatus serves s's status page on a loopback port until the test ends; it returns its URL.
func serveStatus(t *testing.T, s *Session) string {
	t.Helper()
	return serveStatusPage(t, status.Config{Provider: s})
}

// serveStatusPage serves a status page made with cfg (its Logger discarding) on a loopback port
// until the test ends; it returns its URL.
func serveStatusPage(t *testing.T, cfg status.Config) string {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := status.New(cfg)
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

// statusLooks is /api/status's look of each device, by name.
func statusLooks(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap struct {
		Devices []struct {
			Name string  `json:"name"`
			Look *string `json:"look"`
		} `json:"devices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/status: %d, %v", resp.StatusCode, err)
	}
	looks := map[string]string{}
	for _, d := range snap.Devices {
		if d.Look == nil {
			t.Fatalf("device %q has no look in the status JSON", d.Name)
		}
		looks[d.Name] = *d.Look
	}
	return looks
}
