package wled_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

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
	})
}
