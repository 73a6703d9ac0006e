package main

import (
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

// discover --help names every device-line scheme that forces a protocol (no JSON API ledbridge
// asks, so the device is not probed): warls:// was missing.
func TestDiscoverHelpNamesEveryUnprobedScheme(t *testing.T) {
	cmd, _, err := rootCmd.Find([]string{"discover"})
	if err != nil {
		t.Fatal(err)
	}
	help := strings.Join(strings.Fields(cmd.Long), " ")
	for _, scheme := range []string{"ddp", "dnrgb", "drgb", "drgbw", "warls"} {
		target, err := wled.ParseTarget(scheme + "://10.0.0.7?leds=30")
		if err != nil || target.Protocol == wled.ProtocolAuto {
			t.Fatalf("%s://: %v, protocol %v; want a forced protocol", scheme, err, target.Protocol)
		}
		if !strings.Contains(help, scheme+"://") {
			t.Errorf("discover --help does not name %s:// among the devices not probed: %s", scheme, help)
		}
	}
}
