package peer

import (
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/clock"
)

// The credentials of a description are compared as sets, wherever the lines stand: Chrome and
// pion repeat them in every section, Firefox gives the fingerprint once at the session level,
// and a certificate may be named under several hashes.
func TestCredentialsCompareAsSets(t *testing.T) {
	section := func(lines ...string) string {
		return "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" + strings.Join(lines, "\r\n") + "\r\n"
	}
	const head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	chrome := head + section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1", "a=fingerprint:sha-256 AB:CD:EF", "a=mid:0") +
		section("a=ice-ufrag:Uf1", "a=ice-pwd:pw1", "a=fingerprint:sha-256 AB:CD:EF", "a=mid:1")
	current := credentialsOf(chrome)
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
	} {
		offered := credentialsOf(tc.sdp)
		if got := current.sameDTLS(offered); got != tc.sameDTLS {
			t.Errorf("%s: sameDTLS = %v, want %v (%+v)", tc.name, got, tc.sameDTLS, offered)
		}
		if got := current.sameICE(offered); got != tc.ice {
			t.Errorf("%s: sameICE = %v, want %v (%+v)", tc.name, got, tc.ice, offered)
		}
	}
}

// The musician's audio is fresh for audioFreshness after its newest packet, by the Clock.
func TestAudioFreshness(t *testing.T) {
	fc := newFakeClock()
	h := &pcHandle{created: fc.Now()}
	if h.audioFresh(fc.Now()) {
		t.Fatal("fresh before any packet")
	}
	fc.Advance(time.Second)
	h.noteAudio(fc.Now())
	fc.Advance(audioFreshness - time.Millisecond)
	if !h.audioFresh(fc.Now()) {
		t.Fatalf("stale %v after the last packet", audioFreshness-time.Millisecond)
	}
	fc.Advance(time.Millisecond)
	if h.audioFresh(fc.Now()) {
		t.Fatalf("fresh %v after the last packet", audioFreshness)
	}
	h.noteAudio(fc.Now())
	if !h.audioFresh(fc.Now()) {
		t.Fatal("stale at a packet's arrival")
	}
}

// Noting a packet's arrival, as a track's read goroutine does for every packet, allocates
// nothing (STYLE §8).
func TestNoteAudioAllocatesNothing(t *testing.T) {
	var c Clock = clock.System{}
	h := &pcHandle{created: c.Now()}
	arrived := func() { h.noteAudio(c.Now()) }
	if allocs := testing.AllocsPerRun(1000, arrived); allocs != 0 {
		t.Fatalf("noting a packet's arrival allocates %v times", allocs)
	}
	if !h.audioFresh(c.Now()) {
		t.Fatal("stale right after a packet")
	}
}
