package hub

import (
	"net/http/httptest"
	"testing"
)

// CheckOriginPattern takes what originAllowed can match against a browser's Origin (a host, a
// host with '*' standing for any run of characters, a port, a scheme) and refuses the rest:
// "[jam.example.org]", a path.Match character class, passed before and then matched no origin at
// all, so the hub answered every musician's page 403.
func TestCheckOriginPatternTakesOnlyHostPatterns(t *testing.T) {
	for _, p := range []string{
		"jam.example.org", "JAM.Example.org", "*.example.org", "localhost:3000", "jam.example.org:*",
		"https://*.venue.example", "http://localhost:5173", "192.168.1.*", "*", "0x1F", "7.50", "lan_host.local",
		"jam-*.vercel.app", // preview deployments
	} {
		if err := CheckOriginPattern(p); err != nil {
			t.Errorf("CheckOriginPattern(%q) = %v, want it taken", p, err)
		}
	}
	for _, p := range []string{
		`["jam.example.org"]`, "[jam.example.org]", "jam.example.org/", "https://jam.example.org/app",
		"jam?.example.org", `jam\.example.org`, "", "jam..example.org", "jam.example.org:http",
		"jam.example.org:99999", "://jam.example.org", "https://", "jam example.org", "[::1]:3000", "[bad",
	} {
		if err := CheckOriginPattern(p); err == nil {
			t.Errorf("CheckOriginPattern(%q) = nil, want it refused", p)
		}
	}
}

// Every pattern CheckOriginPattern takes matches the origin it names: the checker and the matcher
// agree.
func TestCheckedOriginPatternsMatchTheirOrigin(t *testing.T) {
	for _, tc := range []struct{ pattern, origin string }{
		{"jam.example.org", "https://jam.example.org"},
		{"JAM.example.org", "https://jam.example.org"},
		{"*.example.org", "https://jam.example.org"},
		{"localhost:3000", "http://localhost:3000"},
		{"jam.example.org:*", "https://jam.example.org:8443"},
		{"https://*.venue.example", "https://lights.venue.example"},
		{"192.168.1.*", "http://192.168.1.20"},
		{"jam-*.vercel.app", "https://jam-git-main-venue.vercel.app"},
	} {
		if err := CheckOriginPattern(tc.pattern); err != nil {
			t.Fatalf("CheckOriginPattern(%q) = %v", tc.pattern, err)
		}
		s := &Server{cfg: Config{AllowedOrigins: []string{tc.pattern}}}
		r := httptest.NewRequest("GET", "http://bridge.example.net/", nil)
		r.Header.Set("Origin", tc.origin)
		if !s.originAllowed(r) {
			t.Errorf("pattern %q does not admit Origin %s", tc.pattern, tc.origin)
		}
	}
}
