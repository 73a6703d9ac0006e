package wled_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

func TestParseTarget(t *testing.T) {
	cases := []struct {
		in   string
		want wled.Target
		str  string
	}{
		{"wled://wled-abcdef.local", wled.Target{Protocol: wled.ProtocolAuto, Host: "wled-abcdef.local", HTTPPort: 80}, "wled://wled-abcdef.local:80"},
		{"192.168.1.20", wled.Target{Protocol: wled.ProtocolAuto, Host: "192.168.1.20", HTTPPort: 80}, "wled://192.168.1.20:80"},
		{"192.168.1.20:8080", wled.Target{Protocol: wled.ProtocolAuto, Host: "192.168.1.20", HTTPPort: 8080}, "wled://192.168.1.20:8080"},
		{"fe80::1", wled.Target{Protocol: wled.ProtocolAuto, Host: "fe80::1", HTTPPort: 80}, "wled://[fe80::1]:80"},
		{"WLED://[::1]:81/?leds=30&ddpport=5000", wled.Target{Protocol: wled.ProtocolAuto, Host: "::1", HTTPPort: 81, LEDs: 30, DDPPort: 5000}, "wled://[::1]:81?leds=30&ddpport=5000"},
		{"ddp://[fe80::1%25eth0]?leds=3", wled.Target{Protocol: wled.ProtocolDDP, Host: "fe80::1%eth0", Port: 4048, LEDs: 3}, "ddp://[fe80::1%25eth0]:4048?leds=3"},
		{"ddp://10.0.0.5", wled.Target{Protocol: wled.ProtocolDDP, Host: "10.0.0.5", Port: 4048}, "ddp://10.0.0.5:4048"},
		{"ddp://127.0.0.1:40000?leds=300", wled.Target{Protocol: wled.ProtocolDDP, Host: "127.0.0.1", Port: 40000, LEDs: 300}, "ddp://127.0.0.1:40000?leds=300"},
		{"ddp://strip?leds=300&rgbw=1", wled.Target{Protocol: wled.ProtocolDDP, Host: "strip", Port: 4048, LEDs: 300, RGBW: true}, "ddp://strip:4048?leds=300&rgbw=1"},
		{"dnrgb://10.0.0.5?leds=1000", wled.Target{Protocol: wled.ProtocolDNRGB, Host: "10.0.0.5", Port: 21324, LEDs: 1000}, "dnrgb://10.0.0.5:21324?leds=1000"},
		{"drgb://10.0.0.5:1234?leds=490&rgbw=0", wled.Target{Protocol: wled.ProtocolDRGB, Host: "10.0.0.5", Port: 1234, LEDs: 490}, "drgb://10.0.0.5:1234?leds=490"},
		{"drgbw://10.0.0.5?leds=367", wled.Target{Protocol: wled.ProtocolDRGBW, Host: "10.0.0.5", Port: 21324, LEDs: 367, RGBW: true}, "drgbw://10.0.0.5:21324?leds=367"},
		{"warls://10.0.0.5?leds=255", wled.Target{Protocol: wled.ProtocolWARLS, Host: "10.0.0.5", Port: 21324, LEDs: 255}, "warls://10.0.0.5:21324?leds=255"},
	}
	for _, tc := range cases {
		got, err := wled.ParseTarget(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v\nwant %+v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("String() = %q, want %q", got.String(), tc.str)
		}
		if again, err := wled.ParseTarget(got.String()); err != nil || again != got {
			t.Errorf("round trip of %q: %+v, %v", got.String(), again, err)
		}
	}
}

func TestParseTargetRejects(t *testing.T) {
	cases := map[string]string{
		"":                             "empty",
		"http://10.0.0.5":              "unknown scheme",
		"udp://10.0.0.5":               "unknown scheme",
		"ddp://":                       "no host",
		"ddp:10.0.0.5":                 "port",
		"ddp://10.0.0.5:0":             "port",
		"ddp://10.0.0.5:65536":         "port",
		"ddp://10.0.0.5:":              "port",
		"ddp://10.0.0.5:x":             "",
		"ddp://10.0.0.5/json":          "path",
		"ddp://u:p@10.0.0.5":           "user info",
		"ddp://10.0.0.5#x":             "fragment",
		"ddp://10.0.0.5?leds=0":        "leds",
		"ddp://10.0.0.5?leds=-3":       "leds",
		"ddp://10.0.0.5?leds=3.5":      "leds",
		"ddp://10.0.0.5?leds=99999999": "leds",
		"ddp://10.0.0.5?leds=3&leds=4": "2 times",
		"ddp://10.0.0.5?rgbw=yes":      "rgbw",
		"ddp://10.0.0.5?colour=red":    "unknown parameter",
		"ddp://10.0.0.5?ddpport=4049":  "only for wled",
		"ddp://10.0.0.5?leds=%zz":      "query",
		"warls://10.0.0.5?leds=256":    "leds",
		"drgb://10.0.0.5?leds=491":     "leds",
		"drgbw://10.0.0.5?leds=368":    "leds",
		"drgb://10.0.0.5?rgbw=1":       "RGB only",
		"dnrgb://10.0.0.5?rgbw=1":      "RGB only",
		"drgbw://10.0.0.5?rgbw=0":      "always",
		"wled://10.0.0.5?rgbw=1":       "JSON API",
		"wled://10.0.0.5?ddpport=0":    "ddpport",
		"10.0.0.5 ":                    "white space",
		"wled://[::1":                  "",
		"ddp://[zz::1]:4048":           "",
		"ddp://host:4048:4049":         "",
	}
	for in, want := range cases {
		_, err := wled.ParseTarget(in)
		if !errors.Is(err, wled.ErrBadTarget) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTarget(%q) = %v, want ErrBadTarget mentioning %q", in, err, want)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"wled://a:80", "ddp://1.2.3.4:4048?leds=3&rgbw=1", "[::1]:9", "dnrgb://x?leds=9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := wled.ParseTarget(s)
		if err != nil {
			return
		}
		if tg.Host == "" || tg.LEDs < 0 || tg.LEDs > wled.MaxLEDs {
			t.Fatalf("ParseTarget(%q) = %+v", s, tg)
		}
		if again, err := wled.ParseTarget(tg.String()); err != nil || again != tg {
			t.Fatalf("round trip %q → %q: %+v, %v", s, tg.String(), again, err)
		}
	})
}

func TestComplete(t *testing.T) {
	fake := newFake(t, 144, true)
	var c wled.Client
	tg, err := wled.ParseTarget(fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	got, info, err := c.Complete(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	want := tg
	want.Protocol, want.Port, want.LEDs, want.RGBW, want.DDPPort = wled.ProtocolDDP, portOf(t, fake.DDPAddr()), 144, true, 0
	if got != want || info.LEDs.Count != 144 {
		t.Errorf("Complete = %+v, want %+v", got, want)
	}

	fake.SetInfo(func(i *wled.Info) { i.VID = 2109999 })
	got, _, err = c.Complete(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Protocol != wled.ProtocolDNRGB || got.UDPAddr() != fake.RealtimeAddr() || got.RGBW || got.HTTPAddr() != fake.HTTPAddr() {
		t.Errorf("old firmware: Complete = %+v (%s), want DNRGB to %s", got, got.UDPAddr(), fake.RealtimeAddr())
	}

	tg.LEDs = 10
	if got, _, _ = c.Complete(context.Background(), tg); got.LEDs != 10 {
		t.Errorf("?leds did not override the device count: %+v", got)
	}

	fake.SetRawInfo(200, []byte("<html>"))
	if _, _, err := c.Complete(context.Background(), tg); !errors.Is(err, wled.ErrNotWLED) {
		t.Errorf("Complete of a non-WLED: %v", err)
	}
}
