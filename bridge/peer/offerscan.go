package peer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ErrUnparsableSDP indicates a remote description pion's SDP parser refuses: pion would refuse
// it as well, so it is refused before anything else is done with it.
var ErrUnparsableSDP = errors.New("SDP pion cannot parse")

// offerScan is what the bridge reads from a remote description (a musician's offer, or her
// answer to the bridge's) before pion applies it.
type offerScan struct {
	// sending counts the m-lines that may send media to the bridge (not recvonly or inactive
	// as pion resolves the direction: sendrecv when neither the section nor the session level
	// says; whatever their port, see maySend), sections all of them.
	sending, sections int
	// streams counts the streams declared in the sections that may send media, distinct a=ssrc
	// ids and a=rid lines: pion configures a receiver track for each, and none for a recvonly or
	// inactive section, where a browser keeps the a=ssrc of a removed track's RTCP. Counting
	// stops past maxTracks, a silent section's streams counted too until then, so that the
	// bound holds whatever the sections' order.
	streams int
	// mediaMids are the mids (each section's first a=mid, as pion matches sections to
	// transceivers) of the sections other than m=application (transceiversAfter).
	mediaMids []string
	ice       remoteICE
	creds     transportCredentials
}

// scanOffer parses sdp with pion's own SDP parser (github.com/pion/sdp/v3, which
// SetRemoteDescription uses) and reads what the bridge checks from the parsed description, so
// that the bridge and pion cannot disagree on where a line starts or ends, which level it
// belongs to, or what an attribute's value is (pion's lexer skips CR and LF before a line, ends
// a line at LF only, and keeps the blanks and some CRs of a value). Attribute values are taken
// as pion takes them.
//
// Its errors are ErrUnparsableSDP (also for two sections with one mid, which pion would accept
// and give more transceivers than transceiversAfter counts), and ErrTooManyCandidates: more than maxRemoteCandidates
// distinct candidates in the media sections, a description refused whole, because pion would
// check every candidate in it (simpler to reason about than keeping an arbitrary subset of a
// forged list). The limits on sections and streams are the caller's to apply (vetOffer,
// handleAnswer).
func scanOffer(text string) (offerScan, error) {
	var sc offerScan
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(text); err != nil {
		return sc, fmt.Errorf("%w: %w", ErrUnparsableSDP, err)
	}
	sc.sections = len(desc.MediaDescriptions)
	sc.ice.media = sc.sections > 0

	var fingerprints []string
	addFingerprints := func(attrs []sdp.Attribute) {
		for _, a := range attrs {
			if a.Key == "fingerprint" {
				fingerprints = append(fingerprints, normalFingerprint(a.Value))
			}
		}
	}
	addFingerprints(desc.Attributes)

	var (
		ssrcs = map[string]bool{} // the a=ssrc ids of the sections that may send
		rids  int                 // and their a=rid lines
		over  int                 // the streams counted once past maxTracks: counting stops
		seen  = map[string]struct{}{}
	)
	mids := make(map[string]struct{}, len(desc.MediaDescriptions))
	for _, md := range desc.MediaDescriptions {
		addFingerprints(md.Attributes)
		// pion refuses a section without a mid only once it has applied the description, and
		// leaves the PeerConnection in have-remote-offer (review 305).
		mid, _ := md.Attribute("mid")
		if mid == "" {
			return sc, fmt.Errorf("%w: a media section without a=mid", ErrUnparsableSDP)
		}
		if _, dup := mids[mid]; dup {
			return sc, fmt.Errorf("%w: two sections have a=mid:%q", ErrUnparsableSDP, mid)
		}
		mids[mid] = struct{}{}
		if md.MediaName.Media != "application" {
			sc.mediaMids = append(sc.mediaMids, mid)
		}
		var sectionSSRCs []string
		sectionRids := 0
		for _, a := range md.Attributes {
			switch {
			case over == 0 && a.Key == "rid":
				sectionRids++
			case over == 0 && a.Key == "ssrc":
				if id, _, _ := strings.Cut(a.Value, " "); !slices.Contains(sectionSSRCs, id) {
					sectionSSRCs = append(sectionSSRCs, id)
				}
			case a.IsICECandidate():
				// pion reads the candidates of one section (the BUNDLE group's first); counting
				// them all never undercounts.
				k := candidateKey("candidate:" + a.Value)
				if _, dup := seen[k]; dup {
					continue
				}
				if len(seen) == maxRemoteCandidates {
					return sc, fmt.Errorf("more than %d candidates in the SDP: %w", maxRemoteCandidates, ErrTooManyCandidates)
				}
				seen[k] = struct{}{}
				sc.ice.cands = append(sc.ice.cands, k)
				continue
			default:
				continue
			}
			if n := rids + len(ssrcs) + sectionRids + len(sectionSSRCs); over == 0 && n > maxTracks {
				over = n
			}
		}
		if maySend(md, &desc) {
			sc.sending++
			for _, id := range sectionSSRCs {
				ssrcs[id] = true
			}
			rids += sectionRids
		}
	}
	sc.streams = rids + len(ssrcs)
	if over > 0 {
		sc.streams = over
	}
	sc.ice.fingerprint = len(fingerprints) > 0

	// The ICE credentials pion applies (its extractICEDetails): the session level's, else those
	// of the BUNDLE group's first section (of the first session-level a=group, if it names
	// BUNDLE), else of the first section.
	ufrag, _ := desc.Attribute("ice-ufrag")
	pwd, _ := desc.Attribute("ice-pwd")
	if md := iceSection(&desc); md != nil && ufrag == "" {
		if u, _ := md.Attribute("ice-ufrag"); u != "" {
			ufrag = u
			pwd, _ = md.Attribute("ice-pwd")
		}
	}
	sc.ice.ufrag, sc.ice.pwd = ufrag, pwd != ""
	sc.creds = transportCredentials{fingerprints: asSet(fingerprints), ufrag: ufrag, pwd: pwd}
	return sc, nil
}

// maySend reports whether a section may send media to the bridge: in the direction pion
// resolves (the section's first direction attribute, else the session level's, else sendrecv),
// neither recvonly nor inactive. A port of 0 does not make it silent: pion configures a
// receiver track for each stream such a section declares (a browser writes a stopped
// transceiver's section with port 0 and a=inactive).
func maySend(md *sdp.MediaDescription, desc *sdp.SessionDescription) bool {
	d := peerDirection(md, desc)
	return d == webrtc.RTPTransceiverDirectionSendrecv || d == webrtc.RTPTransceiverDirectionSendonly
}

// iceSection is the section pion takes ICE credentials from: with a BUNDLE group, the first
// section whose first a=mid is the group's first (none if no section has it), otherwise the
// first section.
func iceSection(desc *sdp.SessionDescription) *sdp.MediaDescription {
	bundle := ""
	if group, _ := desc.Attribute("group"); strings.Contains(group, "BUNDLE") {
		if ids := strings.Split(group, " "); len(ids) >= 2 {
			bundle = ids[1]
		}
	}
	for _, md := range desc.MediaDescriptions {
		if bundle == "" {
			return md
		}
		if mid, _ := md.Attribute("mid"); mid == bundle {
			return md
		}
	}
	return nil
}
