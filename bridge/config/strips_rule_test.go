package config

import "testing"

// The duplicate check follows join's rule (session.DeviceNames.NamedBy): a URL that is a devices:
// line as written names that line's device alone, so two lines at one address (emulators on two
// ports) may each have an entry; any other URL names what its host names, so it and its host, or
// it and the line at that host, are one device.
func TestStripsDuplicateCheckFollowsJoinsRule(t *testing.T) {
	const lines = "devices: [\"ddp://10.0.0.5:4048?leds=30\", \"ddp://10.0.0.5:4049?leds=40\"]\n"
	if _, err := loadFile(t, lines+"strips:\n  - device: ddp://10.0.0.5:4048?leds=30\n  - device: DDP://10.0.0.5:4049?leds=40\n"); err != nil {
		t.Errorf("two entries for two lines at one address refused: %v", err)
	}
	for _, tc := range []struct{ name, strips string }{
		{"a line and its host", "  - device: ddp://10.0.0.5:4048?leds=30\n  - device: 10.0.0.5\n"},
		{"a line and a URL at its host", "  - device: ddp://10.0.0.5:4049?leds=40\n  - device: wled://10.0.0.5\n"},
		{"a URL and its host", "  - device: wled://10.0.0.7\n  - device: 10.0.0.7\n"},
		{"two URLs at one host that are no lines", "  - device: wled://10.0.0.8\n  - device: ddp://10.0.0.8?leds=9\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFile(t, lines+"strips:\n"+tc.strips)
			wantKeyError(t, err, "strips[1].device", "strips[0]")
		})
	}
}
