package wled_test

import (
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

// WLED's /json/info names the sender whose realtime packets it shows in lip (json.cpp
// serializeInfo: "" while realtimeIP is 0.0.0.0, else realtimeIP.toString()).
func TestParseInfoKeepsTheLiveSendersAddress(t *testing.T) {
	for _, tc := range []struct{ lip, want string }{
		{`"192.168.1.20"`, "192.168.1.20"},
		{`""`, ""},
		{`"0.0.0.0"`, ""},                        // no sender, however it is written
		{`"::ffff:10.0.0.5"`, "::ffff:10.0.0.5"}, // kept as an address; comparisons unmap it
		{`"wled-bar.local"`, ""},                 // not an address
		{`"192.168.1.20\u202e"`, ""},             // nor is anything with a control character
		{`null`, ""},
	} {
		body := `{"ver":"0.15.3","leds":{"count":30},"live":true,"lm":"DDP","lip":` + tc.lip + `}`
		info, err := wled.ParseInfo([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if info.LiveIP != tc.want {
			t.Errorf("lip %s: LiveIP = %q, want %q", tc.lip, info.LiveIP, tc.want)
		}
	}
}
