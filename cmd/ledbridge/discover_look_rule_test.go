package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// discover and join give a device the same look for the same configuration: a ddp:// line at a
// WLED's address with an entry wled://IP. discover's LOOK and the status page's look of the
// running daemon agree (the review: discover said strips[0], join the global look).
func TestDiscoverAndJoinAgreeOnAURLEntryForAForcedLine(t *testing.T) {
	bin := buildBinary(t)
	fake := wledtest.New(t, wledtest.Config{LEDs: 30, Name: "WLED", HTTPListen: "-", DDPListen: "127.0.182.9:0", RealtimeListen: "-"})
	line := fake.DDPURL()
	cfg := writeConfig(t, fmt.Sprintf("discovery:\n  enabled: false\ndevices: [%q]\nhub:\n  listen: 127.0.0.1:0\nstatus:\n  addr: 127.0.0.1:0\nstrips:\n  - device: wled://127.0.182.9\n    effect: pulse\n", line))
	const want = "strips[0]: pulse"

	out, err := exec.Command(bin, "discover", "--config", cfg, "--timeout", "100ms", "--json").Output()
	if err != nil {
		t.Fatalf("discover: %v\n%s", err, out)
	}
	var rows []struct{ IP, Look string }
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("discover --json: %v\n%s", err, out)
	}
	if rows[0].Look != want {
		t.Errorf("discover's look = %q, want %q", rows[0].Look, want)
	}

	_, statusURL, stderr := startJoinBinary(t, bin, "LKRA82", cfg)
	var joined string
	waitJoin(t, 10*time.Second, "the strip's look on the status page", func() bool {
		res, err := http.Get(statusURL + "/api/status")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var s struct {
			Devices []struct{ ID, Look string }
		}
		if json.NewDecoder(res.Body).Decode(&s) != nil || len(s.Devices) != 1 {
			return false
		}
		joined = s.Devices[0].Look
		return joined != ""
	})
	if joined != rows[0].Look {
		t.Errorf("join's status page shows look %q, discover %q (want both %q):\n%s", joined, rows[0].Look, want, stderr)
	}
}

// A ddp:// line at the address of a WLED named "Drums" that mDNS found: discover lists the line
// under the WLED's name and an entry "Drums" names it, as join's strip answers to the device
// discovery found at its address (session TestStripLookNamesAConfiguredLineByTheDiscoveredDevice).
func TestDiscoverNamesAForcedLineByTheFoundDevice(t *testing.T) {
	found := []summary{{Name: "Drums", Host: "wled-drums.local.", IP: "10.0.0.7", Source: discovery.SourceMDNS, Online: true, Probed: true}}
	_, forced, forcedLines := splitForcedDevices([]string{"ddp://10.0.0.7?leds=60"})
	for _, sel := range []string{"Drums", "wled-drums.local", "10.0.0.7", "wled://10.0.0.7", "ddp://10.0.0.7?leds=60"} {
		rows, lines := foldForced(found, []string{""}, forced, forcedLines)
		unmatched := markLooks(rows, lines, []config.Strip{{Device: sel, Effect: "pulse"}})
		if len(rows) != 1 || rows[0].Look != "strips[0]: pulse" || len(unmatched) != 0 {
			t.Errorf("entry %q: rows %+v, unmatched %v; want the one row with strips[0]'s look", sel, rows, unmatched)
		}
	}
}

// A configured wled:// line by a host name the venue's DNS knows (bar.lan), for a WLED mDNS found
// as wled-bar.local: discovery lists one row under the mDNS host, yet join's strip answers to its
// line's host and to the line as written, so discover's row does too.
func TestDiscoverNamesAConfiguredLineByItsOwnHost(t *testing.T) {
	const line = "wled://bar.lan"
	rows := []summary{{Name: "Bar", Host: "wled-bar.local.", IP: "10.0.0.8", Source: discovery.SourceBoth, Online: true, Probed: true}}
	for _, sel := range []string{"bar.lan", "BAR.LAN", line, "wled://bar.lan?leds=30", "Bar", "wled-bar.local", "10.0.0.8"} {
		unmatched := markLooks(rows, []string{line}, []config.Strip{{Device: sel, Effect: "pulse"}})
		if rows[0].Look != "strips[0]: pulse" || len(unmatched) != 0 {
			t.Errorf("entry %q: look %q, unmatched %v; want strips[0]'s look, as join gives", sel, rows[0].Look, unmatched)
		}
	}
	// A device mDNS alone found is not named by a host it was never configured under.
	alone := []summary{{Name: "Bar", Host: "wled-bar.local.", IP: "10.0.0.8", Source: discovery.SourceMDNS, Online: true, Probed: true}}
	if markLooks(alone, nil, []config.Strip{{Device: "bar.lan"}}); alone[0].Look != "global" {
		t.Errorf("a device found by mDNS alone takes %q for an entry bar.lan, want global", alone[0].Look)
	}
}

// Two lines at one address (emulators on two ports): an entry that is one of the lines as written
// gives its look to that line's row alone, as join gives it to that line's strip alone.
func TestDiscoverLineAsWrittenNamesItsOwnRowAlone(t *testing.T) {
	_, forced, lines := splitForcedDevices([]string{"ddp://10.0.0.5:4048?leds=30", "ddp://10.0.0.5:4049?leds=40"})
	rows, lines := foldForced(nil, nil, forced, lines)
	markLooks(rows, lines, []config.Strip{{Device: "ddp://10.0.0.5:4049?leds=40", Effect: "pulse"}})
	if len(rows) != 2 || rows[0].Look != "global" || rows[1].Look != "strips[0]: pulse" {
		t.Errorf("rows %+v: want the 4049 line alone with strips[0]'s look", rows)
	}
}
