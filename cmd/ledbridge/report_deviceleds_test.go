package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

// A forced drgb drives a 600-LED WLED on its first 490: discover's row says "490 of 600" and its
// JSON keeps the device's own count, as the status page and test-pattern do, instead of showing
// 490 as the strip's length.
func TestDiscoverShowsTheDevicesOwnCountWhenAProtocolCutsItShort(t *testing.T) {
	cut := discovery.Device{Name: "long", LEDs: 490, Protocol: wled.ProtocolDRGB, Online: true}
	cut.Info.LEDs.Count = 600
	fits := discovery.Device{Name: "short", LEDs: 300, Protocol: wled.ProtocolDDP, Online: true}
	fits.Info.LEDs.Count = 300
	rows := summaries([]discovery.Device{cut, fits})

	var table bytes.Buffer
	if err := writeTable(&table, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(table.String(), "\n")
	if !strings.Contains(lines[1], "490 of 600") || strings.Contains(lines[2], " of ") {
		t.Errorf("table:\n%s\nwant \"490 of 600\" on the cut strip's row only", table.String())
	}

	var js bytes.Buffer
	if err := writeJSON(&js, rows); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got[0]["leds"] != 490.0 || got[0]["device_leds"] != 600.0 {
		t.Errorf("cut strip's JSON: leds %v, device_leds %v; want 490 and 600", got[0]["leds"], got[0]["device_leds"])
	}
	if _, ok := got[1]["device_leds"]; ok {
		t.Errorf("a strip that fits has device_leds: %v", got[1])
	}
}
