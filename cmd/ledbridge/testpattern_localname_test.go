package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// `ledbridge test-pattern --device wled://wled-xxxx.local`, the name WLED shows and `ledbridge
// discover` prints: the name is looked up first (mDNS for .local, as join's device set does) and
// the JSON API asked at the address found. Handed straight to the HTTP client, the name went to
// the system's resolver, which in the release build (no cgo) asks unicast DNS for .local names
// and never finds them.
func TestTestPatternLooksUpALocalNameBeforeItsJSONAPI(t *testing.T) {
	const ip, name = "127.0.36.20", "wled-tp01.local"
	fake := wledtest.New(t, wledtest.Config{LEDs: 30, HTTPListen: ip + ":0", DDPListen: ip + ":0", RealtimeListen: "-"})
	url := strings.Replace(fake.URL(), ip, name, 1)
	var looked []string
	lookup := func(_ context.Context, _, host string) ([]netip.Addr, error) {
		looked = append(looked, host)
		if host != name {
			return nil, fmt.Errorf("lookup %s: no such host", host)
		}
		return []netip.Addr{netip.MustParseAddr(ip)}, nil
	}
	var out bytes.Buffer
	res, err := runTestPattern(context.Background(), testPatternOptions{Devices: []string{url}, FPS: 30, Seconds: 0.3, Lookup: lookup}, &out)
	if err != nil {
		t.Fatalf("%v (looked up %q)", err, looked)
	}
	if len(looked) != 1 || looked[0] != name {
		t.Errorf("looked up %q, want [%s]", looked, name)
	}
	if len(res) != 1 || res[0].Stats.FramesSent == 0 || res[0].Name != url {
		t.Fatalf("results %+v, want frames sent to %s", res, url)
	}
	if _, err := fake.WaitFrames(int(res[0].Stats.FramesSent), 5e9); err != nil {
		t.Fatal(err)
	}
	if reqs := fake.StateRequests(); len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live {
		t.Errorf("device not released with {\"live\":false}: %+v", reqs)
	}
}

// Without a Lookup, a .local name goes to discovery's mDNS resolver on discovery's interfaces
// (here only lo, which cannot multicast, so the look-up ends there without a packet sent), not
// to the system's resolver.
func TestTestPatternAsksMDNSForALocalName(t *testing.T) {
	_, err := runTestPattern(context.Background(), testPatternOptions{Devices: []string{"wled://wled-tp02.local"}, FPS: 30, Seconds: 0.3,
		Discovery: discovery.Config{Interfaces: []string{"lo"}}}, &bytes.Buffer{})
	if !errors.Is(err, discovery.ErrNoInterface) && !errors.Is(err, discovery.ErrNoMDNSAnswer) {
		t.Fatalf("test-pattern on wled://wled-tp02.local with mDNS on lo only: %v, want discovery's mDNS error", err)
	}
	if !strings.Contains(err.Error(), "wled-tp02.local") {
		t.Errorf("error %q does not name the device", err)
	}
}
