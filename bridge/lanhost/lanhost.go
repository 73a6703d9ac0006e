// Package lanhost tells the Host header only a visitor on the venue's LAN sends (an IP literal,
// localhost, the Pi's single-label host name, a name under a LAN-only suffix) from one a web page
// could have a browser send through DNS rebinding: its own public domain, re-pointed at the Pi.
// The status page and the embedded room server check Host with it.
package lanhost

import (
	"net"
	"net/netip"
	"strings"
)

// Suffixes are the name spaces only a LAN resolves: mDNS (.local), the usual home-router domains
// (.lan, RFC 8375's .home.arpa) and ICANN's private-use .internal. A public web page cannot make a
// browser send these in Host, because its own domain is the one the browser keeps in Host.
var Suffixes = []string{".local", ".lan", ".home.arpa", ".internal"}

// Name returns the host of a Host header (http.Request.Host): without the port, the brackets of
// an IPv6 literal and a trailing dot, in lower case; "" for an empty header.
func Name(hostHeader string) string {
	host := hostHeader
	if h, _, err := net.SplitHostPort(hostHeader); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// IsIP reports whether name (from Name) is an IP literal.
func IsIP(name string) bool {
	_, err := netip.ParseAddr(name)
	return err == nil
}

// Local reports whether name (from Name) is one only a LAN visitor sends: an IP literal,
// localhost, a single label or a name under Suffixes.
func Local(name string) bool {
	if name == "" {
		return false
	}
	if IsIP(name) || name == "localhost" || !strings.Contains(name, ".") {
		return true
	}
	for _, s := range Suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
