package clientaddr

import "testing"

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.1.20:51234":          "192.168.1.20",
		"[::ffff:192.168.1.20]:51234": "192.168.1.20", // an IPv4 client on a dual-stack listener
		"[2001:db8:1:2:aaaa::1]:443":  "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9]:443":  "2001:db8:1:2::/64", // the same host, another address
		"[2001:db8:1:3::9]:443":       "2001:db8:1:3::/64",
		"[fe80::1%eth0]:8080":         "fe80::/64",
		"not an address":              "not an address",
		"@":                           "@",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}
