package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// foundWLED starts a fake WLED (60 LEDs, DDP firmware) and returns it with a browser whose mDNS
// answer names it, as avahi on a real WLED would: the one thing injected is the browse result;
// discovery probes the fake's /json/info over real HTTP.
func foundWLED(t *testing.T) (*wledtest.Fake, discovery.Config) {
	t.Helper()
	f := wledtest.New(t, wledtest.Config{LEDs: 60, Name: "a", MAC: "aabbccddee01"})
	ap := netip.MustParseAddrPort(f.HTTPAddr())
	cfg := discovery.Config{
		Browser: answersBrowser{{Instance: "wled-a", Host: "wled-a.local.", Addr: ap.Addr(), Port: int(ap.Port())}},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return f, cfg
}

// tableRows is discover's table for rows, split into fields, header first.
func tableRows(t *testing.T, rows []summary) [][]string {
	t.Helper()
	var b bytes.Buffer
	if err := writeTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		out = append(out, strings.Fields(l))
	}
	return out
}

// A WLED both configured with a fixed protocol (dnrgb://IP?leds=30) and found by mDNS is listed
// once, as join drives it: the line's protocol, port and LED count with the found device's
// name, host, MAC and online state. The reviewer's report: two rows, the found one with 60 LEDs
// and ddp:4048 (settings join does not use) and the line's "not probed". A forced line no device
// answered for stays "not probed".
func TestDiscoverFoldsForcedLineIntoFoundDevice(t *testing.T) {
	for _, tc := range []struct{ name, line string }{
		{"by IP", "dnrgb://127.0.0.1?leds=30"},
		{"by mDNS host name", "dnrgb://WLED-A.local?leds=30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cfg := foundWLED(t)
			urls := []string{tc.line, "ddp://127.0.0.2:4049?leds=90"}
			rows, _, err := listDevices(context.Background(), cfg, urls, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got := tableRows(t, rows)
			want := [][]string{
				{"NAME", "HOST", "IP", "MAC", "LEDS", "RGBW", "VERSION", "PROTOCOL", "LIVE", "ONLINE", "ERROR"},
				{"a", "wled-a.local.", "127.0.0.1", "aabbccddee01", "30", "no", "0.15.3", "dnrgb:21324", "no", "yes", "-"},
				{"-", "127.0.0.2", "127.0.0.2", "-", "90", "no", "-", "ddp:4049", "-", "not", "probed", "-"},
			}
			if len(got) != len(want) {
				t.Fatalf("table has %d lines, want %d:\n%q", len(got), len(want), got)
			}
			for i := range want {
				if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
					t.Errorf("line %d = %q, want %q", i, got[i], want[i])
				}
			}

			var b bytes.Buffer
			if err := writeJSON(&b, rows); err != nil {
				t.Fatal(err)
			}
			var js []struct {
				Name, MAC, Protocol, Source string
				LEDs                        int
				StreamPort                  int `json:"stream_port"`
				Online, Probed              bool
			}
			if err := json.Unmarshal(b.Bytes(), &js); err != nil {
				t.Fatalf("%v\n%s", err, b.String())
			}
			if len(js) != 2 || js[0].Name != "a" || js[0].MAC != "aabbccddee01" || js[0].Protocol != "dnrgb" || js[0].StreamPort != 21324 ||
				js[0].LEDs != 30 || !js[0].Online || !js[0].Probed || js[0].Source != string(discovery.SourceBoth) || js[1].Probed || js[1].Online {
				t.Errorf("JSON rows = %+v; want the folded device (dnrgb:21324, 30 LEDs, online, probed, mdns+static) and the unanswered line not probed", js)
			}
		})
	}
}

// Two lines at one WLED's address (emulators or two segments on two ports) are two strips for
// join: both take the device's name and state and it is not listed again; a device that is a
// configured wled:// line itself keeps its own row next to the forced line at its address; an
// offline device passes its state and error on.
func TestFoldForcedKeepsEveryConfiguredLine(t *testing.T) {
	found := []summary{
		{Name: "a", Host: "wled-a.local.", IP: "10.0.0.5", MAC: "aabbccddee01", LEDs: 60, Protocol: "ddp", StreamPort: 4048, Online: true, Probed: true, Source: discovery.SourceMDNS},
		{Name: "b", Host: "10.0.0.6", IP: "10.0.0.6", MAC: "aabbccddee02", LEDs: 50, Protocol: "ddp", StreamPort: 4048, Online: true, Probed: true, Source: discovery.SourceStatic},
		{Name: "c", Host: "wled-c.local.", IP: "10.0.0.7", LEDs: 0, Probed: true, Source: discovery.SourceMDNS, Error: "connection refused"},
	}
	_, forced, lines := splitForcedDevices([]string{"ddp://10.0.0.5:4048?leds=30", "ddp://10.0.0.5:4049?leds=40", "dnrgb://10.0.0.6?leds=50", "drgbw://10.0.0.7?leds=20"})
	var got []string
	rows, _ := foldForced(found, make([]string, len(found)), forced, lines)
	for _, r := range rows {
		got = append(got, strings.Join([]string{r.Name, r.IP, r.Protocol, strconv.Itoa(r.StreamPort), strconv.Itoa(r.LEDs),
			strconv.FormatBool(r.RGBW), strconv.FormatBool(r.Online), strconv.FormatBool(r.Probed), string(r.Source), r.Error}, " "))
	}
	want := []string{
		"a 10.0.0.5 ddp 4048 30 false true true mdns+static ",
		"a 10.0.0.5 ddp 4049 40 false true true mdns+static ",
		"b 10.0.0.6 dnrgb 21324 50 false true true static ",
		"b 10.0.0.6 ddp 4048 50 false true true static ",
		"c 10.0.0.7 drgbw 21324 20 true false true mdns+static connection refused",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
