package hub

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/ledbridge/ledbridge/bridge/lanhost"
)

// originAllowed applies Config.AllowedOrigins to a request (the WebSocket upgrade, a REST
// broadcast, a scrape): any origin when the list is empty; else a request without Origin (not
// from a browser's cross-origin fetch: a scraper, curl), one matching a pattern ("host" patterns
// against the origin's host, "scheme://host" ones against both, case-insensitively), or one whose
// Origin names the Host it was sent to when that Host is a LAN name (lanhost.Local). coder/websocket
// accepts any Origin equal to Host; that alone would let a page rebind its own domain to the Pi
// (DNS rebinding: Origin and Host are then both the attacker's name) and pass the list.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if len(s.cfg.AllowedOrigins) == 0 || origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) && lanhost.Local(lanhost.Name(r.Host)) {
		return true
	}
	for _, p := range s.cfg.AllowedOrigins {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		// withDefaults has checked every pattern.
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}
