package peer

import (
	"fmt"
	"strings"
	"testing"
)

// Fingerprints are compared as sets, wherever the lines stand: Chrome and pion repeat them in
// every section, Firefox gives the fingerprint once at the session level, and a certificate may
// be named under several hashes. The ICE ufrag and password are those pion applies (the session
// level's, else the BUNDLE group's first section's, else the first section's), compared exactly:
// pion restarts ICE for any change.
func TestCredentialsCompare(t *testing.T) {
	mids := 0 // a section needs a mid (scanOffer refuses one without); the cases do not care which
	section := func(lines ...string) string {
		if !strings.Contains(strings.Join(lines, "\n"), "a=mid:") {
			mids++
			lines = append(lines, fmt.Sprintf("a=mid:s%d", mids))
		}
		return "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" + strings.Join(lines, "\r\n") + "\r\n"
	}
	const head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	chrome := head + "a=group:BUNDLE 0 1\r\n" + section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1", "a=fingerprint:sha-256 AB:CD:EF", "a=mid:0") +
		section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1", "a=fingerprint:sha-256 AB:CD:EF", "a=mid:1")
	current := credentials(t, chrome)
	// The second section (mid 1) has other ICE credentials.
	secondOther := head + "a=group:BUNDLE 0 1\r\n" + section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1", "a=fingerprint:sha-256 AB:CD:EF", "a=mid:0") +
		section("a=ice-ufrag:Uf9", "a=ice-pwd:pw9", "a=fingerprint:sha-256 AB:CD:EF", "a=mid:1")
	for _, tc := range []struct {
		name          string
		sdp           string
		sameDTLS, ice bool
	}{
		{"itself", chrome, true, true},
		{"session-level fingerprint, other case, LF only",
			strings.ReplaceAll(head+"a=fingerprint:SHA-256 ab:cd:ef\r\n"+section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1"), "\r\n", "\n"), true, true},
		{"a rejected section without credentials", chrome + "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:2\r\n", true, true},
		{"another certificate in one section",
			head + section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1", "a=fingerprint:sha-256 AB:CD:EF") + section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1", "a=fingerprint:sha-256 00:11:22"), false, true},
		{"a second hash besides the same one",
			head + "a=fingerprint:sha-1 12:34\r\n" + section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1", "a=fingerprint:sha-256 AB:CD:EF"), false, true},
		{"an ICE restart", strings.ReplaceAll(strings.ReplaceAll(chrome, "Uf1", "Uf2"), "pw1", "pw2"), true, false},
		{"another password only", strings.ReplaceAll(chrome, "pw1", "pw2"), true, false},
		{"the ufrag in another case", strings.ReplaceAll(chrome, "Uf1", "uf1"), true, false},
		{"the ufrag with a trailing blank", strings.ReplaceAll(chrome, "Uf1", "Uf1 "), true, false},
		{"the password with a trailing tab", strings.ReplaceAll(chrome, "pw1", "pw1\t"), true, false},
		{"other credentials in a section pion does not read", secondOther, true, true},
		{"other credentials in the BUNDLE group's first section", strings.Replace(secondOther, "BUNDLE 0 1", "BUNDLE 1 0", 1), true, false},
		{"other credentials in the first section, without BUNDLE", strings.Replace(secondOther, "a=group:BUNDLE 0 1\r\n", "", 1), true, true},
		{"the session level's ufrag and password over the sections'", head + "a=ice-ufrag:S\r\na=ice-pwd:P\r\n" + chrome[len(head):], true, false},
	} {
		offered := credentials(t, tc.sdp)
		if got := current.sameDTLS(offered); got != tc.sameDTLS {
			t.Errorf("%s: sameDTLS = %v, want %v (%+v)", tc.name, got, tc.sameDTLS, offered)
		}
		if got := current.sameICE(offered); got != tc.ice {
			t.Errorf("%s: sameICE = %v, want %v (%+v)", tc.name, got, tc.ice, offered)
		}
	}
}

func credentials(t *testing.T, sdp string) transportCredentials {
	t.Helper()
	sc, err := scanOffer(sdp)
	if err != nil {
		t.Fatal(err)
	}
	return sc.creds
}
