package session

import (
	"net/netip"
	"testing"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

// A configured line names its device by wled.SameHost's rule wherever the device set asks
// whether two hosts are one device: an IPv4-mapped IPv6 address is its IPv4 address, as
// discover and the strips: entries take it.
func TestConfiguredLineAtMappedAddressDrivesDiscoveredDevice(t *testing.T) {
	line, err := wled.ParseTarget("ddp://[::ffff:10.0.0.7]?leds=30")
	if err != nil {
		t.Fatal(err)
	}
	st := &strip{key: "ddp://[::ffff:10.0.0.7]?leds=30", configured: true, target: line}
	found := wled.Target{Host: "10.0.0.7"}
	if !wled.SameHost(line.Host, found.Host) {
		t.Fatalf("wled.SameHost(%q, %q) = false", line.Host, found.Host)
	}
	if !drivesDiscovered(st, found) {
		t.Errorf("drivesDiscovered: line %q does not drive the WLED discovered at %s", st.key, found.Host)
	}
	if !standsFor([]*strip{st}, discovery.Device{IP: netip.MustParseAddr("10.0.0.7")}) {
		t.Errorf("standsFor: line %q does not stand for the WLED discovered at 10.0.0.7", st.key)
	}
}

// Two configured lines for one address and port, however the address is written, are one
// output: the second is covered by the first.
func TestConfiguredLinesAtOneAddressWrittenTwoWaysAreOneOutput(t *testing.T) {
	first, err := wled.ParseTarget("ddp://10.0.0.7?leds=30")
	if err != nil {
		t.Fatal(err)
	}
	second, err := wled.ParseTarget("ddp://[::ffff:10.0.0.7]?leds=30")
	if err != nil {
		t.Fatal(err)
	}
	d := &deviceSet{
		strips: map[string]*strip{"ddp://10.0.0.7?leds=30": {key: "ddp://10.0.0.7?leds=30", configured: true, target: first}},
		configured: map[string]*configuredDevice{
			"ddp://10.0.0.7?leds=30":          {},
			"ddp://[::ffff:10.0.0.7]?leds=30": {},
		},
	}
	if got := d.configuredCoveringLocked("ddp://[::ffff:10.0.0.7]?leds=30", second); got == nil {
		t.Errorf("configuredCoveringLocked: %q is not covered by %q at the same address and port", "ddp://[::ffff:10.0.0.7]?leds=30", "ddp://10.0.0.7?leds=30")
	}
}
