package config

import "testing"

// The duplicate check compares hosts as join does (session.DeviceNames.NamedBy): addresses as
// addresses, whatever form they are written in (zone kept, IPv4-mapped IPv6 as its IPv4
// address), and names without regard to case or a final dot.
func TestStripsDuplicateCheckComparesAddressesAsAddresses(t *testing.T) {
	for _, tc := range []struct{ name, strips string }{
		{"IPv6 compressed and not", "  - device: 'wled://[0:0:0:0:0:0:0:1]'\n  - device: '::1'\n"},
		{"IPv6 case and zone", "  - device: 'fe80::1%eth0'\n  - device: 'wled://[FE80:0::1%eth0]'\n"},
		{"IPv6 escaped zone", "  - device: 'ddp://[fe80::1%25eth0]?leds=3'\n  - device: 'FE80::1%eth0'\n"},
		{"IPv4-mapped IPv6", "  - device: '::ffff:10.0.0.7'\n  - device: 10.0.0.7\n"},
		{"IPv4-mapped IPv6 in a URL", "  - device: wled://10.0.0.7\n  - device: 'ddp://[::ffff:10.0.0.7]?leds=3'\n"},
		{"host name with a final dot", "  - device: wled-kitchen.local.\n  - device: wled://WLED-Kitchen.local\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFile(t, "strips:\n"+tc.strips)
			wantKeyError(t, err, "strips[1].device", "strips[0]")
		})
	}
	for _, tc := range []struct{ name, body string }{
		{"one address on two links", "strips:\n  - device: 'fe80::1%eth0'\n  - device: 'fe80::1%eth1'\n"},
		{"two addresses", "strips:\n  - device: '::1'\n  - device: '::2'\n"},
		{"two lines at one address written two ways", "devices: ['ddp://[::1]:4048?leds=3', 'ddp://[0::1]:4049?leds=3']\nstrips:\n  - device: 'ddp://[::1]:4048?leds=3'\n  - device: 'ddp://[0::1]:4049?leds=3'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := loadFile(t, tc.body); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}
