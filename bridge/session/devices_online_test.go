package session

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// A configured device that its look-ups can no longer find is offline on the status page,
// although its strip keeps sending to the last address (UDP to an address nobody holds gives no
// error), and online again once a look-up finds it: before, the page said online while the log
// said every look-up failed.
func TestConfiguredDeviceNotFoundShowsOffline(t *testing.T) {
	online := func(t *testing.T, r *deviceRig, url string) bool {
		t.Helper()
		for _, d := range r.s.Snapshot().Devices {
			if d.ID == url {
				return d.Online
			}
		}
		t.Fatalf("status devices = %+v, want %s listed", r.s.Snapshot().Devices, url)
		return false
	}
	// feed submits frames to url's strip, as the frame loop does, until the test ends: a strip
	// that has not sent for two seconds shows offline whatever its device does.
	feed := func(t *testing.T, r *deviceRig, url string) {
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if st := r.strip(url); st != nil {
					st.out.Submit(make([]byte, st.frameBytes))
				}
			}
		}()
		t.Cleanup(func() { close(stop); <-done })
	}
	tune := func(d *deviceSet) {
		d.recheckEvery, d.failingCheck = 20*time.Millisecond, time.Hour
		d.retryDelays = []time.Duration{20 * time.Millisecond}
	}

	t.Run("host name no longer found", func(t *testing.T) {
		const ip = "127.0.199.1"
		fake := wledtest.New(t, wledtest.Config{LEDs: 30, HTTPListen: ip + ":0", DDPListen: ip + ":0", RealtimeListen: "-"})
		url := strings.Replace(fake.URL(), ip, "wled-drums.local", 1)
		var gone atomic.Bool
		lookup := func(_ context.Context, _, host string) ([]netip.Addr, error) {
			if gone.Load() || host != "wled-drums.local" {
				return nil, discovery.ErrNoMDNSAnswer
			}
			return []netip.Addr{netip.MustParseAddr(ip)}, nil
		}
		r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) { tune(d); d.lookup = lookup })
		waitStrips(t, r, url+"->"+fake.DDPAddr()+"/30")
		r.feedUntilFrame(t, url, fake)
		feed(t, r, url)
		if !online(t, r, url) {
			t.Fatal("the device is offline while it is found and driven")
		}
		gone.Store(true)
		waitFor(t, "the device offline while its look-ups fail", func() bool { return !online(t, r, url) })
		if r.strip(url) == nil {
			t.Error("the strip stopped: frames should keep going to the last address")
		}
		gone.Store(false)
		waitFor(t, "the device online again once it is found", func() bool { return online(t, r, url) })
	})

	t.Run("JSON API no longer answers", func(t *testing.T) {
		fake := wledtest.New(t, wledtest.Config{LEDs: 30, HTTPListen: "127.0.199.2:0", DDPListen: "127.0.199.2:0", RealtimeListen: "-"})
		url := fake.URL()
		r := startDeviceRig(t, []string{url}, nil, tune)
		waitStrips(t, r, url+"->"+fake.DDPAddr()+"/30")
		r.feedUntilFrame(t, url, fake)
		feed(t, r, url)
		if !online(t, r, url) {
			t.Fatal("the device is offline while it answers")
		}
		fake.SetRawInfo(503, []byte("rebooting"))
		waitFor(t, "the device offline while its JSON API fails", func() bool { return !online(t, r, url) })
		fake.SetRawInfo(0, nil)
		waitFor(t, "the device online again once its JSON API answers", func() bool { return online(t, r, url) })
	})
}
