package wled_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ledbridge/ledbridge/bridge/printable"
	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

func TestClientInfoFromFake(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{LEDs: 144, RGBW: true, Name: "Bar left", MAC: "a4cf12abcdef", VID: 2310130, Version: "0.14.4"})
	var c wled.Client
	info, err := c.Info(context.Background(), fake.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "Bar left" || info.MAC != "a4cf12abcdef" || info.VID != 2310130 || info.Version != "0.14.4" {
		t.Errorf("info = %+v", info)
	}
	if info.LEDs.Count != 144 || !info.LEDs.HasWhite() || info.Live {
		t.Errorf("leds = %+v live=%v", info.LEDs, info.Live)
	}
	if want := fake.RealtimeAddr(); !strings.HasSuffix(want, ":"+strconv.Itoa(info.UDPPort)) {
		t.Errorf("udpport %d, fake realtime at %s", info.UDPPort, want)
	}
}

func TestClientSetLive(t *testing.T) {
	fake := wledtest.New(t, wledtest.Config{})
	var c wled.Client
	if err := c.SetLive(context.Background(), fake.HTTPAddr(), false); err != nil {
		t.Fatal(err)
	}
	reqs := fake.StateRequests()
	if len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live || string(reqs[0].Body) != `{"live":false}` {
		t.Fatalf("state requests = %+v", reqs)
	}
}

func TestClientInfoRejectsNonWLED(t *testing.T) {
	big := `{"ver":"0.15.0","leds":{"count":3},"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"html", 200, "<!DOCTYPE html><html><body>router login</body></html>", wled.ErrNotWLED},
		{"empty", 200, "", wled.ErrNotWLED},
		{"json array", 200, `[1,2,3]`, wled.ErrNotWLED},
		{"no ver", 200, `{"name":"x","leds":{"count":30}}`, wled.ErrNotWLED},
		{"empty ver", 200, `{"ver":"","leds":{"count":30}}`, wled.ErrNotWLED},
		{"no leds", 200, `{"ver":"0.14.4","vid":2310130}`, wled.ErrNotWLED},
		{"no leds.count", 200, `{"ver":"0.14.4","leds":{"rgbw":false}}`, wled.ErrNotWLED},
		{"ver is number", 200, `{"ver":14,"leds":{"count":30}}`, wled.ErrNotWLED},
		{"count is string", 200, `{"ver":"0.14.4","leds":{"count":"30"}}`, wled.ErrNotWLED},
		{"vid is string", 200, `{"ver":"0.14.4","vid":"x","leds":{"count":30}}`, wled.ErrNotWLED},
		{"leds is array", 200, `{"ver":"0.14.4","leds":[30]}`, wled.ErrNotWLED},
		{"negative count", 200, `{"ver":"0.14.4","leds":{"count":-1}}`, wled.ErrNotWLED},
		{"huge count", 200, `{"ver":"0.14.4","leds":{"count":100000000}}`, wled.ErrNotWLED},
		{"float count", 200, `{"ver":"0.14.4","leds":{"count":1.5}}`, wled.ErrNotWLED},
		{"bad udpport", 200, `{"ver":"0.14.4","leds":{"count":3},"udpport":70000}`, wled.ErrNotWLED},
		{"trailing garbage", 200, `{"ver":"0.14.4","leds":{"count":3}} {}`, wled.ErrNotWLED},
		{"trailing brace", 200, `{"ver":"0.14.4","leds":{"count":3}} }`, wled.ErrNotWLED},
		{"trailing brackets and garbage", 200, `{"ver":"0.14.4","leds":{"count":3}}]]]garbage{`, wled.ErrNotWLED},
		{"truncated", 200, `{"ver":"0.14.4","leds":{"cou`, wled.ErrNotWLED},
		{"too large", 200, big, wled.ErrResponseTooLarge},
		{"server error", 500, `{"ver":"0.14.4","leds":{"count":3}}`, wled.ErrHTTPStatus},
		{"not found", 404, `not found`, wled.ErrHTTPStatus},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := wledtest.New(t, wledtest.Config{})
			fake.SetRawInfo(tc.status, []byte(tc.body))
			var c wled.Client
			_, err := c.Info(context.Background(), fake.HTTPAddr())
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), fake.HTTPAddr()) {
				t.Errorf("error %q does not name the device", err)
			}
		})
	}
}

// ParseInfo accepts one JSON object and white space, nothing after it: a closing } or ] that
// the decoder's More would not count as a value is still trailing data.
func TestParseInfoRefusesAnythingAfterTheObject(t *testing.T) {
	const object = `{"ver":"0.15.0","leds":{"count":30}}`
	for _, trailer := range []string{" x", " }", "]", "]]]garbage{", " {}", ",", ":"} {
		if info, err := wled.ParseInfo([]byte(object + trailer)); !errors.Is(err, wled.ErrNotWLED) {
			t.Errorf("%q after the object: count=%d err=%v, want ErrNotWLED", trailer, info.LEDs.Count, err)
		}
	}
	for _, trailer := range []string{"", "\n", " \r\n\t "} {
		if info, err := wled.ParseInfo([]byte(object + trailer)); err != nil || info.LEDs.Count != 30 {
			t.Errorf("%q after the object: count=%d err=%v, want 30 and no error", trailer, info.LEDs.Count, err)
		}
	}
}

func TestClientInfoTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c := wled.Client{Timeout: 50 * time.Millisecond}
	_, err := c.Info(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestClientRefusesRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	var c wled.Client
	_, err := c.Info(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
	if !errors.Is(err, wled.ErrHTTPStatus) {
		t.Fatalf("err = %v, want ErrHTTPStatus", err)
	}
}

func TestClientBadHostPort(t *testing.T) {
	for _, hp := range []string{"", "http://x", "x/y", "host:0", "host:99999", "host:abc", ":80", "user@host", "a b", "[::1", "1.2.3.4:80:90", "host:+80", "ho%st:80", "ho%st"} {
		var c wled.Client
		if _, err := c.Info(context.Background(), hp); !errors.Is(err, wled.ErrBadHostPort) {
			t.Errorf("Info(%q) err = %v, want ErrBadHostPort", hp, err)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	cases := []struct {
		in   string
		host string
		port int
	}{
		{"wled-abcdef.local", "wled-abcdef.local", 80},
		{"192.168.1.20", "192.168.1.20", 80},
		{"192.168.1.20:8080", "192.168.1.20", 8080},
		{"[::1]:81", "::1", 81},
		{"[fe80::1]", "fe80::1", 80},
		{"fe80::1", "fe80::1", 80},
		{"[fe80::1%eth0]:8080", "fe80::1%eth0", 8080},
	}
	for _, tc := range cases {
		h, p, err := wled.SplitHostPort(tc.in, 80)
		if err != nil || h != tc.host || p != tc.port {
			t.Errorf("SplitHostPort(%q) = %q, %d, %v; want %q, %d", tc.in, h, p, err, tc.host, tc.port)
		}
	}
}

// FuzzParseInfo: any body either fails with ErrNotWLED or yields an Info within the limits.
func FuzzParseInfo(f *testing.F) {
	f.Add([]byte(`{"ver":"0.14.4","vid":2310130,"name":"x","mac":"a4cf12abcdef","leds":{"count":30,"rgbw":true,"lc":3,"fps":42},"udpport":21324,"live":false,"lm":""}`))
	f.Add([]byte(`<html>`))
	f.Add([]byte(`{"ver":"1","leds":{"count":1e9}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := wled.ParseInfo(body)
		if err != nil {
			if !errors.Is(err, wled.ErrNotWLED) {
				t.Fatalf("error %v does not wrap ErrNotWLED", err)
			}
			return
		}
		if info.Version == "" || info.LEDs.Count < 0 || info.LEDs.Count > wled.MaxLEDs || info.UDPPort < 0 || info.UDPPort > 65535 {
			t.Fatalf("accepted %+v", info)
		}
		for _, s := range []string{info.Name, info.Version, info.Arch, info.LiveMode} {
			if utf8.RuneCountInString(s) > wled.MaxNameRunes || !utf8.ValidString(s) || printable.Escape(s, 0) != strings.ReplaceAll(s, `\`, `\\`) {
				t.Fatalf("unsafe string %q in %+v", s, info)
			}
		}
		if info.MAC != "" && len(info.MAC) != 12 {
			t.Fatalf("mac %q", info.MAC)
		}
	})
}

// realInfoBody is a /json/info reply shaped like WLED 0.15.3's (wled00/json.cpp serializeInfo),
// with the strings a hostile LAN host chooses put in place of name, ver, arch, lm, mac and ip.
func realInfoBody(name, ver, arch, lm, mac, ip string) []byte {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return []byte(`{"ver":` + q(ver) + `,"vid":2412100,"cn":"Kōsen","release":"ESP32",` +
		`"leds":{"count":144,"pwr":0,"fps":42,"maxpwr":850,"maxseg":32,"bootps":0,"seglc":[1],"lc":1,"rgbw":false,"wv":0,"cct":0},` +
		`"str":false,"name":` + q(name) + `,"udpport":21324,"simplifiedui":false,"live":true,"liveseg":-1,"lm":` + q(lm) + `,"lip":"10.0.0.2","ws":0,"fxcount":187,"palcount":71,"cpalcount":0,` +
		`"maps":[{"id":0}],"wifi":{"bssid":"AA:BB:CC:DD:EE:FF","rssi":-52,"signal":96,"channel":6,"ap":false},` +
		`"fs":{"u":12,"t":983,"pmt":0},"ndc":0,"arch":` + q(arch) + `,"core":"v3.3.6-16-gcc5440f6a2","clock":240,"flash":4,` +
		`"lwip":0,"freeheap":171232,"uptime":12873,"time":"2026-11-26, 00:30:12","opt":79,"brand":"WLED","product":"FOSS",` +
		`"mac":` + q(mac) + `,"ip":` + q(ip) + `}`)
}

func serveInfo(t *testing.T, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/json/info" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestClientInfoCleansHostileStrings: any LAN host can answer as a WLED; what it says is kept per
// device and shown on the status page, so every string is cut short and made harmless to display.
func TestClientInfoCleansHostileStrings(t *testing.T) {
	long := strings.Repeat("Ä", 60<<10/2/7) // seven ~8.5 KB strings of two-byte runes: the body is just under the cap
	longName := strings.Repeat("Ä", 62<<10/2)
	cases := []struct {
		name                                string
		gotName, gotVer, gotArch, gotLM, ip string // sent
		wantName, wantVer, wantArch, wantLM string
		mac, wantMAC, wantIP                string
	}{
		{
			name:    "a real device",
			gotName: "Bar left", gotVer: "0.15.3", gotArch: "esp32", gotLM: "DDP", ip: "10.0.0.5",
			wantName: "Bar left", wantVer: "0.15.3", wantArch: "esp32", wantLM: "DDP",
			mac: "a4cf12abcdef", wantMAC: "a4cf12abcdef", wantIP: "10.0.0.5",
		},
		{
			name:    "63 KB strings are cut at a rune boundary",
			gotName: long, gotVer: long, gotArch: long, gotLM: long, ip: long,
			wantName: strings.Repeat("Ä", wled.MaxNameRunes), wantVer: strings.Repeat("Ä", wled.MaxTagRunes),
			wantArch: strings.Repeat("Ä", wled.MaxTagRunes), wantLM: strings.Repeat("Ä", wled.MaxTagRunes),
			mac: long, wantMAC: "", wantIP: "",
		},
		{
			name:    "a 62 KB name",
			gotName: longName, gotVer: "0.15.3", ip: "10.0.0.5",
			wantName: strings.Repeat("Ä", wled.MaxNameRunes), wantVer: "0.15.3",
			mac: "a4cf12abcdef", wantMAC: "a4cf12abcdef", wantIP: "10.0.0.5",
		},
		{
			name:    "control and bidi characters are replaced",
			gotName: "Bar\x1b[2J\tleft\n\u202egnp.exe\u2066x\u2069\u2028", gotVer: "0.15\x00.3", gotArch: "esp\u202d32", gotLM: "D\rDP", ip: "10.0.0.5\n",
			wantName: "Bar\uFFFD[2J\uFFFDleft\uFFFD\uFFFDgnp.exe\uFFFDx\uFFFD\uFFFD", wantVer: "0.15\uFFFD.3", wantArch: "esp\uFFFD32", wantLM: "D\uFFFDDP",
			mac: "A4:CF:12:AB:CD:EF", wantMAC: "a4cf12abcdef", wantIP: "",
		},
		{
			name:    "format characters (bidi marks, zero-width) are replaced, as the CLI escapes them",
			gotName: "ab\u200fcd x\u200by \u202eZ\ufeff", gotVer: "0.15\u200d.3", gotArch: "esp32\u2060", gotLM: "\u00adDDP", ip: "10.0.0.5",
			wantName: "ab\uFFFDcd x\uFFFDy \uFFFDZ\uFFFD", wantVer: "0.15\uFFFD.3", wantArch: "esp32\uFFFD", wantLM: "\uFFFDDDP",
			mac: "a4cf12abcdef", wantMAC: "a4cf12abcdef", wantIP: "10.0.0.5",
		},
		{
			name:    "joiners of emoji and Persian words and a flag's tags are kept, a stray RLM is not",
			gotName: "🧑\u200d🎤 Bühne ضوء\u200f", gotVer: "0.15.3", gotArch: "می\u200cخانه", gotLM: "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", ip: "10.0.0.5",
			wantName: "🧑\u200d🎤 Bühne ضوء\uFFFD", wantVer: "0.15.3", wantArch: "می\u200cخانه", wantLM: "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",
			mac: "a4cf12abcdef", wantMAC: "a4cf12abcdef", wantIP: "10.0.0.5",
		},
		{
			name:    "a mac that is not 12 hex digits is dropped, like a missing one",
			gotName: "x", gotVer: "1", gotArch: "", gotLM: "", ip: "fe80::1",
			wantName: "x", wantVer: "1", wantArch: "", wantLM: "",
			mac: "a4cf12abcdeg", wantMAC: "", wantIP: "fe80::1",
		},
		{
			name:    "a 13-digit mac is dropped",
			gotName: "x", gotVer: "1", ip: "",
			wantName: "x", wantVer: "1",
			mac: "a4cf12abcdef0", wantMAC: "",
		},
	}
	var c wled.Client
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := realInfoBody(tc.gotName, tc.gotVer, tc.gotArch, tc.gotLM, tc.mac, tc.ip)
			if int64(len(body)) > wled.DefaultMaxResponseBytes {
				t.Fatalf("test body is %d bytes, over the cap", len(body))
			}
			info, err := c.Info(context.Background(), serveInfo(t, body))
			if err != nil {
				t.Fatal(err)
			}
			if info.Name != tc.wantName || info.Version != tc.wantVer || info.Arch != tc.wantArch || info.LiveMode != tc.wantLM {
				t.Errorf("name %q ver %q arch %q lm %q\nwant %q %q %q %q", info.Name, info.Version, info.Arch, info.LiveMode,
					tc.wantName, tc.wantVer, tc.wantArch, tc.wantLM)
			}
			if info.MAC != tc.wantMAC || info.IP != tc.wantIP {
				t.Errorf("mac %q ip %q, want %q %q", info.MAC, info.IP, tc.wantMAC, tc.wantIP)
			}
			if info.LEDs.Count != 144 || !info.Live {
				t.Errorf("leds %+v live %v", info.LEDs, info.Live)
			}
		})
	}
}

// TestParseInfoBoundsWhatManyDevicesCost: 512 hostile devices with the longest names the body cap
// allows used to make a 55 MB status snapshot; each now costs well under a kilobyte.
func TestParseInfoBoundsWhatManyDevicesCost(t *testing.T) {
	long := strings.Repeat("\u202e", 62<<10/3/6)
	body := realInfoBody(long, long, long, long, long, long)
	if int64(len(body)) > wled.DefaultMaxResponseBytes {
		t.Fatalf("test body is %d bytes, over the cap", len(body))
	}
	info, err := wled.ParseInfo(body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b); n > 1024 {
		t.Errorf("one hostile device's Info marshals to %d bytes, want <= 1024", n)
	}
}

func TestNormalizeMAC(t *testing.T) {
	for in, want := range map[string]string{
		"a4cf12abcdef":       "a4cf12abcdef",
		"A4:CF:12:AB:CD:EF":  "a4cf12abcdef",
		"a4-cf-12-ab-cd-ef":  "a4cf12abcdef",
		"":                   "",
		"a4cf12abcde":        "",
		"a4cf12abcdef0":      "",
		"a4cf12abcdeg":       "",
		"a4:cf:12:ab:cd:ef:": "",
		"💡💡💡":                "",
	} {
		if got := wled.NormalizeMAC(in); got != want {
			t.Errorf("NormalizeMAC(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeMAC(f *testing.F) {
	for _, s := range []string{"a4cf12abcdef", "A4:CF:12:AB:CD:EF", "::::", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := wled.NormalizeMAC(s)
		if m == "" {
			return
		}
		if len(m) != 12 || wled.NormalizeMAC(m) != m {
			t.Fatalf("NormalizeMAC(%q) = %q: not 12 canonical hex digits", s, m)
		}
	})
}
