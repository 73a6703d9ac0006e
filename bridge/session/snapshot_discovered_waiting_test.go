package session

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A WLED configured by URL that does not answer yet (still booting) while mDNS already names it
// is one device on the status page and on /metrics: its configured line, waiting, and not
// discovery's entry for it besides. Once the line drives it, it is still that one entry. The
// line may name the WLED by its address or by its mDNS host name (not resolved yet).
func TestWaitingConfiguredLineAndDiscoveredDeviceListedOnce(t *testing.T) {
	for _, tc := range []struct {
		name, ip, mac string
		byName        bool
	}{
		{"by address", "127.0.36.12", "02fc00003612", false},
		{"by host name", "127.0.36.13", "02fc00003613", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := wledtest.New(t, wledtest.Config{MAC: tc.mac, LEDs: 30, VID: oldFirmwareVID, DDPListen: "-", HTTPListen: tc.ip + ":0", RealtimeListen: tc.ip + ":0"})
			fake.SetRawInfo(503, []byte("booting"))
			url := fake.URL()
			var resolves atomic.Bool
			lookup := func(ctx context.Context, _, host string) ([]netip.Addr, error) {
				if !resolves.Load() {
					return nil, fmt.Errorf("lookup %s: no answer yet", host)
				}
				return []netip.Addr{netip.MustParseAddr(tc.ip)}, nil
			}
			if tc.byName {
				url = "wled://stage.local:" + strconv.Itoa(int(netip.MustParseAddrPort(fake.HTTPAddr()).Port()))
			}
			browser := &answerBrowser{}
			browser.set(answerFor("stage", fake.HTTPAddr())) // host stage.local.
			r := startDeviceRig(t, []string{url}, browser, func(d *deviceSet) {
				d.retryDelays = []time.Duration{time.Hour}
				d.lookup = lookup
			})
			r.clock.waitRound(t)
			waitFor(t, "the configured device's first attempt to fail", func() bool {
				return strings.Contains(r.logs.String(), "configured device cannot be driven yet")
			})
			r.clock.nextRound(t) // discovery has asked the device too, and lists it
			if ds := r.s.devices.registryDevices(); len(ds) != 1 || ds[0].IP.String() != tc.ip {
				t.Fatalf("discovery lists %+v, want the device at %s", ds, tc.ip)
			}
			wantStrips(t, r)
			wantListedOnce(t, r, url, false)

			fake.SetRawInfo(0, nil) // booted
			resolves.Store(true)
			r.s.devices.pokeConfigured(url)
			waitStrips(t, r, url+"->"+fake.RealtimeAddr()+"/30")
			r.clock.nextRound(t)
			wantStrips(t, r, url+"->"+fake.RealtimeAddr()+"/30")
			wantListedOnce(t, r, url, true)
		})
	}
}

// wantListedOnce fails t unless the status page lists one device, under id and driven or not as
// driven says, and /metrics has its series under that id alone.
func wantListedOnce(t *testing.T, r *deviceRig, id string, driven bool) {
	t.Helper()
	snap := r.s.Snapshot()
	if len(snap.Devices) != 1 || snap.Devices[0].ID != id || snap.Devices[0].Driven != driven {
		t.Errorf("status devices = %s, want %q alone (driven %v)", describeDevices(snap.Devices), id, driven)
	}
	values, _ := scrapeDeviceSeries(t, r.s.cfg.Metrics.(*prometheus.Registry), "ledbridge_wled_frames_sent_total")
	if _, ok := values[id]; len(values) != 1 || !ok {
		t.Errorf("ledbridge_wled_frames_sent_total series by id: %v, want %q alone", values, id)
	}
}

func describeDevices(ds []status.Device) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("\n\t")
		b.WriteString(strings.Join([]string{"id=" + d.ID, "name=" + d.Name, "ip=" + d.IP}, " "))
		if d.Driven {
			b.WriteString(" driven")
		}
		if d.Online {
			b.WriteString(" online")
		}
	}
	return b.String()
}
