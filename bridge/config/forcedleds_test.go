package config

import "testing"

// A configured wled://HOST?leds=N above what the forced output.protocol carries is refused at
// load, as drgb://HOST?leds=491 is, instead of driving the protocol's limit.
func TestExplicitLEDsAboveTheForcedProtocolRefused(t *testing.T) {
	_, err := loadFile(t, "output:\n  protocol: drgb\ndevices: [\"wled://10.0.0.5?leds=1500\"]\n")
	wantKeyError(t, err, "devices[0]", "leds=1500", "output.protocol", "drgb", "490")
	_, err = loadFile(t, "output:\n  protocol: warls\ndevices: [\"wled://10.0.0.5?leds=256\"]\n")
	wantKeyError(t, err, "devices[0]", "leds=256", "warls", "255")
	for _, ok := range []string{
		"output:\n  protocol: warls\ndevices: [\"wled://10.0.0.5?leds=255\"]\n",
		"output:\n  protocol: drgb\ndevices: [\"wled://10.0.0.5\"]\n",
		"output:\n  protocol: dnrgb\ndevices: [\"wled://10.0.0.5?leds=1500\"]\n",
		"output:\n  protocol: drgb\ndevices: [\"dnrgb://10.0.0.5?leds=1500\"]\n", // its own protocol
	} {
		if _, err := loadFile(t, ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
