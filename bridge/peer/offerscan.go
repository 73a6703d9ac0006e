package peer

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ErrUnparsableSDP indicates a remote description pion's SDP parser refuses: pion would refuse
// it as well, so it is refused before anything else is done with it.
var ErrUnparsableSDP = errors.New("SDP pion cannot parse")

// ErrRefusedMidway indicates an offer that parses but that pion would refuse only part-way
// through applying it, once it has changed the signaling state (refusedMidway): it is refused
// before pion sees it.
var ErrRefusedMidway = errors.New("SDP pion refuses part-way through applying it")

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
	// midway is ErrRefusedMidway, with what pion would refuse part-way through applying the
	// description (refusedMidway), or nil: vetOffer refuses the offer for it.
	midway error
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
	if err := refusedMidway(&desc); err != nil {
		sc.midway = fmt.Errorf("%w: %w", ErrRefusedMidway, err)
	}
	return sc, nil
}

// refusedMidway reports what in a description pion v4.2.26 refuses only once
// SetRemoteDescription has changed the signaling state: an offer refused so leaves the
// PeerConnection in have-remote-offer, where every later offer of the musician's counts as
// glare, and one that only a fresh PeerConnection could answer is refused as an impostor's while
// her audio arrives (impostorOffer). Anyone in the room can send it, her own broadcast offer
// with one line broken (review 323). Each check follows pion's own reading, so that nothing
// pion applies is refused: the candidates of the section pion takes them from (iceSection; its
// extractICEDetailsFromMedia), and in every audio and video section the payload types and the
// header extensions (its MediaEngine.updateFromRemoteDescription, which reads them on every
// description: codecsFromMediaDescription, matchRemoteCodec, rtpExtensionsFromMediaDescription).
// What pion refuses for the PeerConnection's own state (a payload type given another codec than
// the one negotiated) no scan can see: applyOffer settles that (settleRefusedOffer).
func refusedMidway(desc *sdp.SessionDescription) error {
	if md := iceSection(desc); md != nil {
		if err := unparsableCandidates(md); err != nil {
			return err
		}
	}
	for _, md := range desc.MediaDescriptions {
		if !strings.EqualFold(md.MediaName.Media, "audio") && !strings.EqualFold(md.MediaName.Media, "video") {
			continue
		}
		if err := unusablePayloadTypes(md); err != nil {
			return err
		}
		for _, a := range md.Attributes {
			if a.Key != sdp.AttrKeyExtMap {
				continue
			}
			var ext sdp.ExtMap
			if err := ext.Unmarshal(a.String()); err != nil {
				return fmt.Errorf("a=extmap:%s: %w", a.Value, err)
			}
		}
	}
	return nil
}

// unparsableCandidates is pion's error for a section's candidates: none parses, and one fails
// other than by an unknown type or network, which pion skips (so does it with a section whose
// candidates it all skips). One that parses makes pion take the section, the others dropped.
func unparsableCandidates(md *sdp.MediaDescription) error {
	var last error
	for _, a := range md.Attributes {
		if !a.IsICECandidate() {
			continue
		}
		_, err := ice.UnmarshalCandidate(a.Value)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ice.ErrUnknownCandidateTyp) || errors.Is(err, ice.ErrDetermineNetworkType):
		default:
			last = fmt.Errorf("a=candidate:%s: %w", a.Value, err)
		}
	}
	return last
}

// unusablePayloadTypes is pion's error for an audio or video section's formats: each must be
// a payload type (0 to 255) that the section maps to a codec (its a=rtpmap, or one of the
// static types pion knows), 0 aside, and a codec's fmtp apt, if given, a payload type too.
func unusablePayloadTypes(md *sdp.MediaDescription) error {
	codecs := (&sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{md}}).GetCodecMap()
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			return fmt.Errorf("format %q on the m=%s line: %w", f, md.MediaName.Media, err)
		}
		codec, ok := codecs[uint8(pt)]
		if !ok {
			if pt == 0 {
				continue
			}
			return fmt.Errorf("payload type %d on the m=%s line has no a=rtpmap", pt, md.MediaName.Media)
		}
		if apt, ok := fmtpParameter(codec.Fmtp, "apt"); ok {
			if _, err := strconv.ParseUint(apt, 10, 8); err != nil {
				return fmt.Errorf("a=fmtp:%d apt=%s: %w", pt, apt, err)
			}
		}
	}
	return nil
}

// fmtpParameter reads a parameter of an fmtp line as pion does (its internal fmtp package:
// parameters split at ";", blanks trimmed, the key lowercased, the last of a key kept).
func fmtpParameter(line, key string) (value string, ok bool) {
	for p := range strings.SplitSeq(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.ToLower(k) == key {
			value, ok = v, true
		}
	}
	return value, ok
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
