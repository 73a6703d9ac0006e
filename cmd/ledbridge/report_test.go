package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

func reportDevices() []discovery.Device {
	return []discovery.Device{
		{
			Key: "02fc00000001", Name: "Bar", Host: "wled-000001.local.", IP: netip.MustParseAddr("10.0.0.5"), HTTPPort: 80,
			MAC: "02fc00000001", LEDs: 300, RGBW: true, Protocol: wled.ProtocolDDP, StreamPort: 4048,
			Info:   wled.Info{Version: "0.15.3", Live: true, LiveMode: "DDP"},
			Source: discovery.SourceMDNS, Online: true, LastSeen: time.Unix(1_700_000_000, 0).UTC(),
		},
		{
			Key: "02fc00000002", Name: "wled-000002", Host: "wled-000002.local.", IP: netip.MustParseAddr("10.0.0.6"), HTTPPort: 80,
			MAC: "02fc00000002", Source: discovery.SourceMDNS, LastError: "wled info 10.0.0.6:80: connection refused",
		},
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, summaries(reportDevices())); err != nil {
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
	if err := writeJSON(&b, summaries(reportDevices())); err != nil {
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
	if err := writeJSON(&b, nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("no devices: %q, %v", b.String(), err)
	}
}

func TestWriteTableNeutralisesRemoteStrings(t *testing.T) {
	// A device (or anyone answering mDNS) names itself so that its row forges a second,
	// trustworthy-looking row, retitles the terminal and colours what follows; another hides
	// its name behind a right-to-left override and sends invalid UTF-8 in its version.
	forged := "Stage left\t-\t10.0.0.7\ta4cf12000001\t300\tno\t0.15.3\tddp:4048\tno\tyes\t-\n\x1b]0;pwned\x07\x1b[31mBar"
	devs := []discovery.Device{
		{Key: "02aabbccddee", Name: forged, IP: netip.MustParseAddr("10.0.0.66"), MAC: "02aabbccddee", LEDs: 60, Online: true,
			Protocol: wled.ProtocolDDP, StreamPort: 4048, Info: wled.Info{Version: "0.15.3"}},
		{Key: "02aabbccddef", Name: "gpj.\u202eexe", Host: "h\u200b.local.", IP: netip.MustParseAddr("10.0.0.67"), MAC: "02aabbccddef",
			Info: wled.Info{Version: "0.15\xff", Live: true, LiveMode: "DDP\r"}, LastError: "wled info: \x1b[2J" + strings.Repeat("x", 500)},
	}
	var b bytes.Buffer
	if err := writeTable(&b, summaries(devs)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table has %d lines, want a header and 2 rows:\n%s", len(lines), out)
	}
	for _, r := range strings.TrimRight(out, "\n") {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' || r == '\u200b') {
			t.Fatalf("table carries %U to the terminal:\n%q", r, out)
		}
	}
	if c := cell(forged, maxNameCell); !strings.HasPrefix(lines[1], c+" ") || !strings.HasPrefix(c, `Stage left\t-\t10.0.0.7\ta4cf12000001\t300\tno\t`) ||
		!strings.HasSuffix(c, "…") || utf8.RuneCountInString(c) != maxNameCell+1 {
		t.Errorf("forged name not shown escaped and cut in one cell: %q", lines[1])
	}
	if got := cell(forged, 200); got != `Stage left\t-\t10.0.0.7\ta4cf12000001\t300\tno\t0.15.3\tddp:4048\tno\tyes\t-\n\x1b]0;pwned\a\x1b[31mBar` {
		t.Errorf("forged name escaped as %q", got)
	}
	for _, want := range []string{`gpj.\u202eexe`, `h\u200b.local.`, `0.15\xff`, `(DDP\r)`} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("row 2 lacks %q: %q", want, lines[2])
		}
	}
	if f := strings.Fields(lines[2]); !strings.HasSuffix(f[len(f)-1], "…") || utf8.RuneCountInString(f[len(f)-1]) > maxErrorCell+1 {
		t.Errorf("long error not cut: %q", f[len(f)-1])
	}
	// tabwriter aligns by runes; so does this check.
	runeIndex := func(s, sub string) int { return utf8.RuneCountInString(s[:strings.Index(s, sub)]) }
	if i, j := runeIndex(lines[0], "IP"), runeIndex(lines[1], "10.0.0.66"); i != j {
		t.Errorf("IP column at %d in the header, %d in the forged row:\n%s", i, j, out)
	}
}

func TestCellEscapesCannotBeForged(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "-",
		"Bar":                   "Bar",
		"Bühne links":           "Bühne links",
		`a\x1b`:                 `a\\x1b`, // a literal backslash is doubled, so it never looks like an escape
		"a\x1bb":                `a\x1bb`,
		"\u2066x\u2069":         `\u2066x\u2069`,
		"\ufffd":                "\ufffd", // a real replacement character stays
		"\xc3":                  `\xc3`,
		strings.Repeat("é", 70): strings.Repeat("é", 64) + "…",
	} {
		if got := cell(in, maxNameCell); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// A row nobody asked (discover's ddp://, dnrgb://, … line that no found device stands at) says
// so in ONLINE, not "no", and shows no live state; in JSON it carries probed false, while a
// summarized device is probed.
func TestWriteTableNotProbedRow(t *testing.T) {
	rows := summaries(reportDevices()[:1])
	rows = append(rows, summary{Host: "10.0.0.9", IP: "10.0.0.9", LEDs: 60, Protocol: "ddp", StreamPort: 4049, Source: discovery.SourceStatic})
	var b bytes.Buffer
	if err := writeTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{"-", "10.0.0.9", "10.0.0.9", "-", "60", "no", "-", "ddp:4049", "-", "not", "probed", "-"}
	if len(lines) != 3 || strings.Join(strings.Fields(lines[2]), "|") != strings.Join(want, "|") {
		t.Fatalf("table:\n%s\nwant its last row to be fields %q", b.String(), want)
	}
	if !strings.Contains(lines[1], " yes ") {
		t.Errorf("the probed row lost its live/online cells: %q", lines[1])
	}
	b.Reset()
	if err := writeJSON(&b, rows); err != nil {
		t.Fatal(err)
	}
	var js []map[string]any
	if err := json.Unmarshal(b.Bytes(), &js); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(js) != 2 || js[0]["probed"] != true || js[1]["probed"] != false {
		t.Errorf("JSON rows = %v; want probed true, then false", js)
	}
}
