package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// port80Client is a JSON API client whose requests to port 80 (where a real WLED answers, and a
// test cannot listen) go to jsonAPI instead over real TCP; jsonAPI "" refuses them, as a plain DDP
// controller without a JSON API does.
func port80Client(jsonAPI string) *wled.Client {
	var d net.Dialer
	return &wled.Client{HTTP: &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if _, port, _ := net.SplitHostPort(addr); port == "80" {
				if jsonAPI == "" {
					return nil, errors.New("connection refused (no JSON API)")
				}
				addr = jsonAPI
			}
			return d.DialContext(ctx, network, addr)
		},
	}}}
}

// runNamedLinePattern drives the rainbow on fake through its DDP line alone, under a global
// 2000 mA and the strips: entry {device: sel, max_milliamps: 100}, and returns the worst frame's
// estimated current and the log.
func runNamedLinePattern(t *testing.T, fake *wledtest.Fake, sel string, opts testPatternOptions, discoveryOn bool) (worst float32, logs string) {
	t.Helper()
	limit := 100
	c := config.Default()
	c.Devices = []string{fake.DDPURL()}
	c.Discovery.Enabled = discoveryOn
	c.Output.MaxMilliamps = 2000
	c.Effects.BrightnessCap = 1
	c.Strips = []config.Strip{{Device: sel, MaxMilliamps: &limit}}
	browser := opts.Discovery.Browser // the mDNS answers, since tests cannot rely on mDNS
	opts, err := testPatternConfig(opts, c)
	if err != nil {
		t.Fatal(err)
	}
	opts.Discovery.Browser = browser
	opts.FPS, opts.Seconds = 60, 0.3
	var logBuf, out bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	res, err := runTestPattern(context.Background(), opts, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(res) != 1 || res[0].Stats.FramesSent == 0 {
		t.Fatalf("results %+v\n%s", res, out.String())
	}
	frames, err := fake.WaitFrames(int(res[0].Stats.FramesSent), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if mA := opts.Current.Estimate(f.Pixels, 3); mA > worst {
			worst = mA
		}
	}
	if full := opts.Current.Estimate(rainbowFrame(fake.Config().LEDs), 3); full <= 100 {
		t.Fatalf("the full rainbow draws only %.0f mA: the entry's limit proves nothing", full)
	}
	return worst, logBuf.String()
}

// A strips: entry naming the WLED a ddp:// line drives (by the name its JSON API reports, as join
// names the line by the WLED found at its address) holds for the test pattern: every frame keeps
// within the entry's 100 mA, not the global 2000.
func TestTestPatternAppliesAnEntryNamingTheLinesWLED(t *testing.T) {
	drums := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "Drums"})
	worst, logs := runNamedLinePattern(t, drums, "Drums", testPatternOptions{Client: port80Client(drums.HTTPAddr())}, false)
	if worst > 100 {
		t.Errorf("line %s, entry {device: Drums, max_milliamps: 100}: a frame draws %.0f mA", drums.DDPURL(), worst)
	}
	if strings.Contains(logs, "may not apply") {
		t.Errorf("warned though the line's WLED told its name:\n%s", logs)
	}
}

// With discovery on, the line also answers to the mDNS host of the WLED discovery finds at its
// address, as join's line does, though its host has no JSON API on port 80.
func TestTestPatternAppliesAnEntryNamingTheLinesMDNSHost(t *testing.T) {
	drums := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "Drums"})
	api := netip.MustParseAddrPort(drums.HTTPAddr())
	opts := testPatternOptions{Client: port80Client(""), DiscoverWindow: 50 * time.Millisecond}
	opts.Discovery.Browser = answersBrowser{{Instance: "wled-drums", Host: "wled-drums.local.", Addr: api.Addr(), Port: int(api.Port())}}
	worst, logs := runNamedLinePattern(t, drums, "wled-drums.local", opts, true)
	if worst > 100 {
		t.Errorf("line %s, entry {device: wled-drums.local, max_milliamps: 100}: a frame draws %.0f mA", drums.DDPURL(), worst)
	}
	if strings.Contains(logs, "may not apply") {
		t.Errorf("warned though discovery found the line's WLED:\n%s", logs)
	}
}

// A ddp:// line whose host answers no JSON API request cannot be named by its WLED's name: the
// test pattern says that an entry naming a device by name may not apply to it, and still runs.
func TestTestPatternWarnsWhenALinesWLEDNameIsUnknown(t *testing.T) {
	plain := wledtest.New(t, wledtest.Config{LEDs: 30, HTTPListen: "-"})
	worst, logs := runNamedLinePattern(t, plain, "Drums", testPatternOptions{Client: port80Client("")}, false)
	if !strings.Contains(logs, "may not apply") || !strings.Contains(logs, plain.DDPURL()) || !strings.Contains(logs, "Drums") {
		t.Errorf("no warning that the entry may not apply to %s:\n%s", plain.DDPURL(), logs)
	}
	if worst <= 100 {
		t.Errorf("worst frame %.0f mA: the entry was applied though nothing names the line", worst)
	}
}
