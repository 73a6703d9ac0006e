package discovery

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

func reportDevices() []Device {
	return []Device{
		{
			Key: "02fc00000001", Name: "Bar", Host: "wled-000001.local.", IP: netip.MustParseAddr("10.0.0.5"), HTTPPort: 80,
			MAC: "02fc00000001", LEDs: 300, RGBW: true, Protocol: wled.ProtocolDDP, StreamPort: 4048,
			Info:   wled.Info{Version: "0.15.3", Live: true, LiveMode: "DDP"},
			Source: SourceMDNS, Online: true, LastSeen: time.Unix(1_700_000_000, 0).UTC(),
		},
		{
			Key: "02fc00000002", Name: "wled-000002", Host: "wled-000002.local.", IP: netip.MustParseAddr("10.0.0.6"), HTTPPort: 80,
			MAC: "02fc00000002", Source: SourceMDNS, LastError: "wled info 10.0.0.6:80: connection refused",
		},
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, reportDevices()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", b.String())
	}
	want := [][]string{
		{"NAME", "HOST", "IP", "MAC", "LEDS", "RGBW", "VERSION", "PROTOCOL", "LIVE", "ONLINE", "ERROR"},
		{"Bar", "wled-000001.local.", "10.0.0.5", "02fc00000001", "300", "yes", "0.15.3", "ddp:4048", "yes", "(DDP)", "yes", "-"},
		{"wled-000002", "wled-000002.local.", "10.0.0.6", "02fc00000002", "-", "no", "-", "-", "no", "no", "wled", "info", "10.0.0.6:80:", "connection", "refused"},
	}
	for i, l := range lines {
		if got := strings.Fields(l); strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("line %d = %q, want fields %q", i, l, want[i])
		}
	}
	// Columns are aligned: every row has its IP column at the same offset.
	col := strings.Index(lines[0], "IP ")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], "10.0.0.") {
			t.Errorf("IP column not aligned in %q", l)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, reportDevices()); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(b.Bytes(), &rows); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(rows) != 2 || rows[0]["protocol"] != "ddp" || rows[0]["leds"] != 300.0 || rows[0]["online"] != true ||
		rows[0]["version"] != "0.15.3" || rows[0]["mac"] != "02fc00000001" || rows[0]["ip"] != "10.0.0.5" ||
		rows[1]["online"] != false || rows[1]["protocol"] != "" || !strings.Contains(rows[1]["error"].(string), "refused") {
		t.Errorf("JSON rows = %v", rows)
	}
	b.Reset()
	if err := WriteJSON(&b, nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("no devices: %q, %v", b.String(), err)
	}
}
