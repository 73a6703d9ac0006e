package peer

import (
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// audioFreshness is how recently the musician's audio must have arrived on its connected
// PeerConnection for an offer under its peer id with other ICE credentials but the same DTLS
// certificate (an ICE restart) to be refused (musician.impostorOffer). A browser sends a packet
// every 20 ms (at most 120 ms), still every 400 ms with Opus DTX, and silence frames for a
// muted track, so 2 s is many packets late, past a jitter or scheduling stall; yet a tab learns
// of a failure from consent checks that have gone unanswered for longer than that (Chrome waits
// ~2.5 s before "disconnected", 30 s before "failed"), so by the time it restarts ICE its audio
// has stopped reaching us for longer than the window, and its offer is handled. It does not
// admit an offer with another certificate: a tab that mutes by replaceTrack(null) or
// encodings[].active=false sends no RTP at all while its connection stays up.
const audioFreshness = 2 * time.Second

// transportCredentials is what identifies a sender's end of a connection in its SDP: the
// fingerprints of its DTLS certificate and its ICE ufrags and passwords, each a sorted set of
// the session-level and media-level lines alike (Firefox writes the fingerprint at the session
// level, Chrome and pion in every section; a certificate may be given under several hashes). A
// tab keeps them for its RTCPeerConnection's life and through every renegotiation but an ICE
// restart (new ufrag and password); a new RTCPeerConnection has a new certificate.
type transportCredentials struct {
	fingerprints, ufrags, pwds []string
}

// credentialsOf reads an SDP's transportCredentials. Fingerprints are compared without regard
// to the case of the hash name or its hex digits (RFC 8122 §5: upper case, but lower case is
// seen); ICE ufrags and passwords are case-sensitive.
func credentialsOf(sdp string) transportCredentials {
	var c transportCredentials
	for line := range strings.Lines(sdp) {
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, "a=fingerprint:"); ok {
			c.fingerprints = append(c.fingerprints, normalFingerprint(v))
		} else if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok {
			c.ufrags = append(c.ufrags, strings.TrimSpace(v))
		} else if v, ok := strings.CutPrefix(line, "a=ice-pwd:"); ok {
			c.pwds = append(c.pwds, strings.TrimSpace(v))
		}
	}
	c.fingerprints, c.ufrags, c.pwds = asSet(c.fingerprints), asSet(c.ufrags), asSet(c.pwds)
	return c
}

// normalFingerprint is an a=fingerprint value ("sha-256 AB:…") with the hash name in lower
// case and the digits in upper case, single-spaced.
func normalFingerprint(v string) string {
	f := strings.Fields(v)
	if len(f) == 2 {
		return strings.ToLower(f[0]) + " " + strings.ToUpper(f[1])
	}
	return strings.ToUpper(strings.Join(f, " "))
}

// asSet sorts s and drops its repeats.
func asSet(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// sameDTLS reports whether two descriptions name the same DTLS certificate fingerprints.
func (c transportCredentials) sameDTLS(o transportCredentials) bool {
	return slices.Equal(c.fingerprints, o.fingerprints)
}

// sameICE reports whether two descriptions have the same ICE ufrags and passwords.
func (c transportCredentials) sameICE(o transportCredentials) bool {
	return slices.Equal(c.ufrags, o.ufrags) && slices.Equal(c.pwds, o.pwds)
}

// noteAudio records that a packet of the musician's track arrived at now (Clock time); called
// by the track's read goroutine for every packet.
func (h *pcHandle) noteAudio(now time.Time) {
	h.heardAt.Store(int64(now.Sub(h.created)))
	if !h.heard.Load() {
		h.heard.Store(true) // after heardAt: whoever sees heard sees a packet's time
	}
}

// audioFresh reports whether a packet of the musician's track arrived within audioFreshness
// before now.
func (h *pcHandle) audioFresh(now time.Time) bool {
	return h.heard.Load() && now.Before(h.freshUntil())
}

// impostorOffer returns why an offer cannot come from the musician's tab, or "" if it may.
// Realtime broadcasts carry no authenticated sender: any room member can write the musician's
// peer id as fromPeerId, and reads the bridge's answers to it. untilDown reports a refusal that
// only the connection leaving "connected" lifts (the audio stopping does not).
//
// An offer with another DTLS certificate comes from another RTCPeerConnection. Answered, on a
// fresh PeerConnection (pion cannot change a live one's DTLS peer), its sender's audio would be
// taken as the musician's, and once hers was replaced, her own tab's next offer would be the
// one refused. So it is handled only while the current PeerConnection is not connected
// (disconnected, failed or closed, or there is none): a tab that rebuilds its
// RTCPeerConnection either closes the old one, whose DTLS close_notify closes ours at once, or
// abandons it (a reload, a crash), and ours goes "disconnected" once its consent checks have
// gone unanswered for pion's ICE disconnected timeout (5 s unless ICEDisconnectedTimeout says
// otherwise). Audio silence alone does not admit it: a muted sender (replaceTrack(null),
// encodings[].active=false) sends no RTP while its connection stays up.
//
// An offer with the same certificate but other ICE credentials is an ICE restart, which a
// browser does not do while its media flows: it is refused while the musician's audio has
// arrived within audioFreshness, and handled after. It cannot inject audio: the DTLS keys stay
// the musician's, and pion keeps the DTLS association through the restart. Answered to an
// impostor, it can at most disrupt the connection until the musician's tab restarts ICE.
func (mus *musician) impostorOffer(offered transportCredentials) (why string, untilDown bool) {
	h := mus.cur
	if h == nil || h.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		return "", false
	}
	rd := h.pc.CurrentRemoteDescription()
	if rd == nil {
		return "", false
	}
	current := credentialsOf(rd.SDP)
	switch {
	case !current.sameDTLS(offered):
		return "another DTLS certificate fingerprint while its connection is up", true
	case !current.sameICE(offered) && h.audioFresh(mus.cfg.Clock.Now()):
		return "other ICE credentials (an ICE restart) while its connection is up and its audio arriving", false
	}
	return "", false
}
