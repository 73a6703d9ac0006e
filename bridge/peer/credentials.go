package peer

import (
	"slices"
	"strings"

	"github.com/pion/webrtc/v4"
)

// transportCredentials is what identifies a sender's end of a connection in its SDP: the
// fingerprints of its DTLS certificate, a sorted set of the session-level and media-level lines
// alike (Firefox writes the fingerprint at the session level, Chrome and pion in every section; a
// certificate may be given under several hashes), and the ICE ufrag and password pion applies
// (see scanOffer), exactly as written. A tab keeps them for its RTCPeerConnection's life and
// through every renegotiation but an ICE restart (new ufrag and password); a new
// RTCPeerConnection has a new certificate. Fingerprints are compared without regard to the case
// of the hash name or its hex digits (RFC 8122 §5: upper case, but lower case is seen); ICE
// ufrags and passwords are case-sensitive, and pion restarts ICE for any change, a blank too.
type transportCredentials struct {
	fingerprints []string
	ufrag, pwd   string
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

// sameICE reports whether two descriptions have the ICE ufrag and password pion applies in
// common: otherwise the second restarts ICE.
func (c transportCredentials) sameICE(o transportCredentials) bool {
	return c.ufrag == o.ufrag && c.pwd == o.pwd
}

// impostorOffer returns why an offer under the musician's peer id is refused for now (kept,
// see suspectOffer), or "" if it may be handled: mostly because it cannot come from her tab.
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
//
// An offer that only a fresh PeerConnection could answer (one past maxTransceiversKept or
// maxTracks, or glare; freshPCReason) is refused on the same terms, while the connection is up
// and her audio arriving: answering it would close her live PeerConnection, and anyone in the
// room can make one from her own offer, which every member sees (her offer with 17 new
// inactive sections). Her own tab's such offer (a dozenth microphone switch by removeTrack and
// addTrack, which stops her audio) is handled once her audio has stopped for audioFreshness.
func (mus *musician) impostorOffer(sdp string, scan *offerScan) (why string, untilDown bool) {
	offered := scan.creds
	h := mus.cur
	if h == nil || h.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		return "", false
	}
	current := h.remote
	if current == nil {
		return "", false
	}
	switch {
	case !current.sameDTLS(offered):
		return "another DTLS certificate fingerprint while its connection is up", true
	case !h.audioFresh(mus.cfg.Clock.Now()):
		return "", false
	case !current.sameICE(offered):
		return "other ICE credentials (an ICE restart) while its connection is up and its audio arriving", false
	}
	if fresh, _ := mus.freshPCReason(sdp, scan); fresh != "" {
		return "what only a fresh PeerConnection could answer (" + fresh + "), replacing its live one, while its audio arrives", false
	}
	return "", false
}
