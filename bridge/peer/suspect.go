package peer

import (
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/room"
)

// suspectOffer is the newest offer impostorOffer refused, kept (one per musician) to be
// examined again once the reason for refusing it may have lapsed: its connection has left
// "connected", or (an ICE restart, see impostorOffer) the musician's audio has stopped for
// audioFreshness. A tab that rebuilt its
// RTCPeerConnection while its old one still delivered audio to us (a one-way failure, or a
// page that builds the new connection before it closes the old) sends its offer once; perfect
// negotiation does not send it again, and the tab, impolite, ignores the bridge's own offers
// while it waits for the answer to its own, so without it the musician would stay
// unconnected.
type suspectOffer struct {
	sig  room.Signal
	scan offerScan // what scanOffer read from it, for impostorOffer and its ufrag
	// cands are the remote candidates that followed it and name its ufrag or none, at most
	// maxPendingCandidates: they go with it if it is answered (each was also handled as any
	// candidate then, for the connection the musician has).
	cands []webrtc.ICECandidateInit
	// requeued: examineSuspect handed it back to the offer queue; refused again there (the
	// audio came back meanwhile), it is not counted again in ImpostorOffers.
	requeued bool
}

// keepSuspect keeps an offer impostorOffer refused, replacing an older one, and arms
// suspectCheck for when the musician's audio stops being fresh, unless untilDown (only the
// connection leaving "connected" can admit it). again reports the kept offer itself, requeued
// by examineSuspect and refused once more: it was counted already.
func (mus *musician) keepSuspect(sig room.Signal, scan offerScan, untilDown bool) (again bool) {
	if s := mus.suspect; s != nil && s.sig.Description.SDP == sig.Description.SDP {
		again = s.requeued
		s.requeued = false
	} else {
		mus.suspect = &suspectOffer{sig: sig, scan: scan}
	}
	mus.armSuspectCheck(untilDown)
	return again
}

// armSuspectCheck sets suspectCheck to fire when the current connection's audio stops being
// fresh, unless another packet arrives before. With untilDown (an offer with another
// certificate) it is stopped instead: the audio stopping does not admit that offer, only a
// connection state other than "connected", which handleEvent examines it on.
func (mus *musician) armSuspectCheck(untilDown bool) {
	if untilDown {
		mus.suspectCheck.stop()
		return
	}
	h := mus.cur
	until, heard := time.Time{}, false
	if h != nil {
		until, heard = h.freshUntil()
	}
	if !heard {
		mus.suspectCheck.set(mus.cfg.Clock, 0)
		return
	}
	mus.suspectCheck.set(mus.cfg.Clock, until.Sub(mus.cfg.Clock.Now()))
}

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

// noteAudio records that a packet of the musician's track arrived at now (Clock time); called
// by the track's read goroutine for every packet.
func (h *pcHandle) noteAudio(now time.Time) { h.heardAt.Store(now) }

// audioFresh reports whether a packet of the musician's track arrived within audioFreshness
// before now.
func (h *pcHandle) audioFresh(now time.Time) bool {
	until, heard := h.freshUntil()
	return heard && now.Before(until)
}

// freshUntil is when audioFresh stops holding unless another packet arrives; heard is false
// before the first packet.
func (h *pcHandle) freshUntil() (until time.Time, heard bool) {
	at, heard := h.heardAt.Load()
	return at.Add(audioFreshness), heard
}

// examineSuspect runs when suspectCheck fires or the connection leaves "connected": if
// impostorOffer would still refuse the kept offer (the connection is still up and, for an ICE
// restart, the musician's audio kept arriving), the check is armed again, or left to the next
// state change; otherwise the offer goes back to the offer queue, to be handled
// exactly as one just received (offer budget, signal budget, impostorOffer again, and an
// answer on a fresh PeerConnection for a new certificate). An impostor's offer gains nothing
// by being kept: it is answered only when the same offer sent now would be. Once the
// musician's connection is down (or, for an ICE restart, her audio has stopped), the
// newest offer kept under its peer id is answered, whoever sent it; that is what the bridge
// does with an offer that arrives then, and the musician's own tab, if it is still there,
// recovers by offering again (or answering the bridge's ICE restart), as before.
func (mus *musician) examineSuspect() {
	s := mus.suspect
	if s == nil {
		mus.suspectCheck.stop()
		return
	}
	if why, untilDown := mus.impostorOffer(s.sig.Description.SDP, &s.scan); why != "" {
		mus.armSuspectCheck(untilDown)
		return
	}
	mus.suspectCheck.stop()
	mus.offerMu.Lock()
	p := mus.pendingOffer
	switch {
	case p == nil:
		mus.pendingOffer = &s.sig
	case p.Description.SDP == s.sig.Description.SDP:
		// Already waiting its turn.
	default:
		// A newer offer under the musician's peer id waits: the newest offer wins, as offers
		// coalesce.
		mus.offerMu.Unlock()
		mus.mgr.counters.offersCoalesced.Add(1)
		mus.suspect = nil
		return
	}
	mus.offerMu.Unlock()
	s.requeued = true
	mus.log.Info("offer refused under the musician's peer id examined again: its connection is down, or (an ICE restart) its audio has stopped",
		"state", webrtc.PeerConnectionState(mus.connState.Load()).String())
	select {
	case mus.offerReady <- struct{}{}:
	default:
	}
}

// takeSuspect is called by handleOffer once it will handle an offer (not refused, with room
// in the signal budget): the kept suspect offer is dropped, superseded by this one or handled
// now; if it is this one, its candidates wait in the queue for its remote description.
func (mus *musician) takeSuspect(sdp string) {
	s := mus.suspect
	if s == nil {
		return
	}
	mus.suspect = nil
	mus.suspectCheck.stop()
	if s.sig.Description.SDP != sdp {
		return
	}
	// Held ones of another generation than this offer's would be dropped by its flush: made-up
	// ones held while an offer of hers waited must not keep its own out (review 305).
	mus.dropHeldOtherThan(s.scan.creds.ufrag)
	for _, c := range s.cands {
		if len(mus.pending) >= maxPendingCandidates {
			mus.droppedCands.Add(1)
			continue
		}
		mus.pending = append(mus.pending, c)
	}
}

// dropSuspect drops the kept suspect offer: an answer to the bridge's offer was applied.
func (mus *musician) dropSuspect() {
	mus.suspect = nil
	mus.suspectCheck.stop()
}

// keepSuspectCandidate keeps a trickled candidate with the suspect offer if it may be that
// offer's (it names the offer's ufrag, or none).
func (mus *musician) keepSuspectCandidate(c webrtc.ICECandidateInit) {
	s := mus.suspect
	if s == nil || len(s.cands) >= maxPendingCandidates {
		return
	}
	if namesOtherUfrag(c, s.scan.creds.ufrag) {
		return
	}
	s.cands = append(s.cands, c)
}

// candidateUfrag is the ICE ufrag a trickled candidate names: its usernameFragment, or the
// "ufrag" extension of its candidate line (Chrome writes both); "" if neither.
func candidateUfrag(c webrtc.ICECandidateInit) string {
	if c.UsernameFragment != nil && *c.UsernameFragment != "" {
		return *c.UsernameFragment
	}
	f := strings.Fields(c.Candidate)
	// candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>,
	// then attribute name-value pairs.
	for i := 8; i+1 < len(f); i += 2 {
		if f[i] == "ufrag" {
			return f[i+1]
		}
	}
	return ""
}
