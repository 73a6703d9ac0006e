package peer

import (
	"errors"
	"fmt"
	"strings"
)

// ErrIncompleteOffer indicates an offer that lacks what pion needs to answer
// it: a media section, ICE credentials or a DTLS fingerprint.
var ErrIncompleteOffer = errors.New("offer lacks media, ICE credentials or a DTLS fingerprint")

// ErrTooManyCandidates indicates a remote description or trickled candidate
// that would take one ICE generation past maxRemoteCandidates distinct remote
// candidates.
var ErrTooManyCandidates = errors.New("too many remote ICE candidates")

// remoteICE is what a remote description says about ICE (scanOffer): the ufrag pion applies,
// which names the ICE generation, and its distinct candidates (as candidateKey keys) in every
// section, pion reading those of one (counting them all never undercounts).
type remoteICE struct {
	ufrag string
	cands []string
	// What pion requires of an offer, checked before one is held for a
	// musician not yet in Presence (pion never sees it then).
	media, pwd, fingerprint bool
}

// complete reports whether an offer has what pion requires to answer it.
func (ice remoteICE) complete() error {
	var missing []string
	if !ice.media {
		missing = append(missing, "m=")
	}
	if ice.ufrag == "" {
		missing = append(missing, "a=ice-ufrag")
	}
	if !ice.pwd {
		missing = append(missing, "a=ice-pwd")
	}
	if !ice.fingerprint {
		missing = append(missing, "a=fingerprint")
	}
	if len(missing) > 0 {
		return fmt.Errorf("no %s: %w", strings.Join(missing, ", "), ErrIncompleteOffer)
	}
	return nil
}

// candidateKey normalises a candidate from an SDP line ("a=candidate:…") or a
// trickled RTCIceCandidateInit ("candidate:…" or bare) to one key. Equal keys
// are the same candidate to pion, which ignores a repeat; different keys may
// still be one candidate to pion, so counting keys never undercounts.
func candidateKey(c string) string {
	c = strings.TrimPrefix(strings.TrimSpace(c), "a=")
	return strings.TrimPrefix(c, "candidate:")
}

// admitRemoteICE checks a remote description's candidates against the
// current ICE generation's before it is applied: a fresh PeerConnection or a
// changed remote ufrag starts a new generation; otherwise the description's
// candidates join those already there. It changes nothing on error.
func (mus *musician) admitRemoteICE(ice remoteICE, fresh bool) error {
	if fresh || ice.ufrag != mus.remoteUfrag {
		return nil // a new generation: scanOffer bounded it already
	}
	n := len(mus.remoteCands)
	for _, k := range ice.cands {
		if _, ok := mus.remoteCands[k]; !ok {
			n++
		}
	}
	if n > maxRemoteCandidates {
		return fmt.Errorf("%d distinct candidates in this ICE generation (at most %d): %w", n, maxRemoteCandidates, ErrTooManyCandidates)
	}
	return nil
}

// recordRemoteICE records an applied remote description's candidates.
func (mus *musician) recordRemoteICE(ice remoteICE, fresh bool) {
	if fresh || ice.ufrag != mus.remoteUfrag || mus.remoteCands == nil {
		mus.remoteCands = make(map[string]struct{}, len(ice.cands))
		mus.remoteUfrag = ice.ufrag
	}
	for _, k := range ice.cands {
		mus.remoteCands[k] = struct{}{}
	}
}

// takeRemoteCandidate reports whether a trickled candidate may be added to
// the current ICE generation, and records it if so. End-of-candidates (empty)
// is always allowed.
func (mus *musician) takeRemoteCandidate(c string) bool {
	k := candidateKey(c)
	if k == "" {
		return true
	}
	if _, ok := mus.remoteCands[k]; ok {
		return true
	}
	if len(mus.remoteCands) >= maxRemoteCandidates {
		return false
	}
	if mus.remoteCands == nil {
		mus.remoteCands = map[string]struct{}{}
	}
	mus.remoteCands[k] = struct{}{}
	return true
}
