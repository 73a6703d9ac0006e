package main

import "testing"

// A forced line names a found device by wled.SameHost, the rule join's device set goes by.
func TestSameAddressGoesByWLEDSameHost(t *testing.T) {
	for _, c := range []struct {
		line, foundIP, foundHost string
		want                     bool
	}{
		{"10.0.0.7", "10.0.0.7", "wled-a.local", true},
		{"::ffff:10.0.0.7", "10.0.0.7", "wled-a.local", true},
		{"WLED-A.local.", "10.0.0.7", "wled-a.local", true},
		{"10.0.0.8", "10.0.0.7", "wled-a.local", false},
		{"wled-b.local", "10.0.0.7", "wled-a.local", false},
		{"wled-a.local", "", "", false},
	} {
		got := sameAddress(summary{Host: c.line}, summary{IP: c.foundIP, Host: c.foundHost})
		if got != c.want {
			t.Errorf("sameAddress(line %q, found %s/%q) = %v, want %v", c.line, c.foundIP, c.foundHost, got, c.want)
		}
	}
}
