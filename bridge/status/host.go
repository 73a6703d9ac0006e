package status

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ledbridge/ledbridge/bridge/lanhost"
)

// hostAllowed reports whether a request's Host names this machine the way a LAN visitor would
// (lanhost.Local: an IP literal, localhost, the Pi's single-label host name, a name under a
// LAN-only suffix), or is a name allowed reports true for. Any other name is what a DNS-rebinding
// page would send: its own domain, re-pointed at the Pi.
func hostAllowed(hostHeader string, allowed *hostPatterns) bool {
	host := lanhost.Name(hostHeader)
	switch {
	case host == "":
		return true // HTTP/1.0 without Host: no browser, so no rebinding
	case lanhost.IsIP(host):
		return true
	case validHostName(host) != nil:
		return false
	case lanhost.Local(host):
		return true
	}
	return allowed.match(host)
}

// hostPatterns is Config.AllowedHosts, checked: exact names and "*.suffix" patterns, lower case.
type hostPatterns struct {
	exact    map[string]bool
	suffixes []string // ".example.org" for "*.example.org"
}

// ErrBadHostPattern is returned by New, SetAccess (and CheckHostPattern) for an AllowedHosts entry that is
// neither a host name nor "*." followed by one.
var ErrBadHostPattern = errors.New("status: not a host name or *.suffix pattern")

// CheckHostPattern checks one AllowedHosts entry: a host name such as "lights.venue.example" or a
// pattern "*.venue.example" (any name under venue.example, not venue.example itself); no scheme,
// port or path.
func CheckHostPattern(p string) error {
	name := strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(p), "."), "*.")
	if err := validHostName(name); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrBadHostPattern, p, err)
	}
	return nil
}

func newHostPatterns(list []string) (*hostPatterns, error) {
	hp := &hostPatterns{exact: map[string]bool{}}
	for _, p := range list {
		if err := CheckHostPattern(p); err != nil {
			return nil, err
		}
		p = strings.TrimSuffix(strings.ToLower(p), ".")
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			hp.suffixes = append(hp.suffixes, "."+rest)
		} else {
			hp.exact[p] = true
		}
	}
	return hp, nil
}

func (hp *hostPatterns) match(host string) bool {
	if hp.exact[host] {
		return true
	}
	for _, s := range hp.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// validHostName accepts lower-case DNS names: dot-separated labels of 1–63 letters, digits, '-'
// or '_' (which some LAN names carry), 253 characters at most.
func validHostName(name string) error {
	if name == "" || len(name) > 253 {
		return errors.New("must be 1 to 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("each dot-separated part must be 1 to 63 characters")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not allowed in a host name", c)
			}
		}
	}
	return nil
}

// misdirectedBody explains a 421 to whoever set up the name: which key lets it through.
const misdirectedBody = "misdirected request: this status page answers to its IP address, localhost, " +
	"single-label and .local/.lan/.home.arpa/.internal names; add this host name to status.allowed_hosts " +
	"in the ledbridge config to use it (names are checked against DNS rebinding)\n"

// checkHost answers 421 Misdirected Request to a request whose Host is not allowed (by the
// patterns allowed returns now, which a reload can change), before any route sees it: a
// DNS-rebinding page could otherwise read /api/status and the live stream.
func checkHost(allowed func() *hostPatterns, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, allowed()) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusMisdirectedRequest)
			_, _ = w.Write([]byte(misdirectedBody))
			return
		}
		next.ServeHTTP(w, r)
	})
}
