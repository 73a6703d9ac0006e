package wled_test

import (
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

func TestSameHost(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"::1", "0:0:0:0:0:0:0:1", true},
		{"::1", "[::1]", true},
		{"fe80::1%eth0", "FE80:0::1%eth0", true},
		{"fe80::1%eth0", "fe80::1%eth1", false}, // two links
		{"fe80::1%eth0", "fe80::1", false},
		{"::ffff:10.0.0.7", "10.0.0.7", true}, // frames to the mapped address reach the IPv4 one
		{"::ffff:10.0.0.7", "10.0.0.8", false},
		{"10.0.0.7", "10.0.0.07", false}, // not an address: a name, and a different one
		{"WLED-Kitchen.local.", "wled-kitchen.local", true},
		{"Kitchen", "kitchen", true},
		{"Kitchen", "Kitchen2", false},
		{"10.0.0.7", "10.0.0.7.", false}, // an address is no name
		{"", "", false},
		{" ", "x", false},
	} {
		if got := wled.SameHost(tc.a, tc.b); got != tc.want {
			t.Errorf("SameHost(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := wled.SameHost(tc.b, tc.a); got != tc.want {
			t.Errorf("SameHost(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}
