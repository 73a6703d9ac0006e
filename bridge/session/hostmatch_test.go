package session

import "testing"

// A strips: entry names a device by its address whatever form the address is written in: IPv6
// compressed or not, upper or lower case, with its zone (which stays part of the address: eth0
// and eth1 are two links), or an IPv4 address as IPv4-mapped IPv6 (frames to ::ffff:10.0.0.7 go
// to 10.0.0.7). Names compare without regard to case or a final dot.
func TestNamedByComparesAddressesAsAddresses(t *testing.T) {
	for _, tc := range []struct {
		names DeviceNames
		sel   string
		want  bool
	}{
		{DeviceNames{IP: "::1"}, "wled://[0:0:0:0:0:0:0:1]", true},
		{DeviceNames{IP: "::1"}, "0:0:0:0:0:0:0:1", true},
		{DeviceNames{IP: "0:0:0:0:0:0:0:1"}, "ddp://[::1]:4049?leds=3", true},
		{DeviceNames{IP: "::1"}, "::2", false},
		{DeviceNames{IP: "FE80:0::1%eth0", Host: "FE80:0::1%eth0"}, "fe80::1%eth0", true},
		{DeviceNames{IP: "FE80:0::1%eth0"}, "wled://[fe80::1%25eth0]", true},
		{DeviceNames{IP: "fe80::1%eth0"}, "wled://[FE80:0::1%eth0]", true},
		{DeviceNames{IP: "fe80::1%eth0"}, "fe80::1%eth1", false},
		{DeviceNames{IP: "fe80::1%eth0"}, "fe80::1", false},
		{DeviceNames{IP: "10.0.0.7"}, "::ffff:10.0.0.7", true},
		{DeviceNames{IP: "10.0.0.7"}, "wled://[::ffff:10.0.0.7]", true},
		{DeviceNames{IP: "::ffff:10.0.0.7"}, "10.0.0.7", true},
		{DeviceNames{IP: "::ffff:10.0.0.7"}, "10.0.0.8", false},
		{DeviceNames{Host: "wled-kitchen.local."}, "WLED-Kitchen.local.", true},
		{DeviceNames{Host: "wled-kitchen.local"}, "wled://WLED-Kitchen.local.", true},
		{DeviceNames{Name: "Kitchen"}, "kitchen.", true},
		{DeviceNames{FoundHost: "drums.local."}, "DRUMS.local", true},
		{DeviceNames{Name: "Kitchen"}, "kitchen2", false},
	} {
		if got := tc.names.NamedBy(tc.sel); got != tc.want {
			t.Errorf("%+v.NamedBy(%q) = %v, want %v", tc.names, tc.sel, got, tc.want)
		}
	}
}
