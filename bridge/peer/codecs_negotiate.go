package peer

import (
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Answering a musician's offer as the bridge means to: in her payload types
// (answerInOfferNumbers), and never claiming to send (receiveOnlyForRecvonlySections). pion
// v4.2.26 decides both from the transceivers an offer finds, so these set them up around
// SetRemoteDescription.

// receiveOnlyForRecvonlySections gives every new recvonly audio section of an offer (a muted
// musician's, or one her page adds only to receive) a recvonly transceiver with the section's
// mid, before the offer is applied: the one newPC made if no new audio section that may send
// will take it, else one added here with the bridge's codecs.
//
// pion pairs a section with a transceiver of the opposite direction only, so it left a
// recvonly section to a transceiver of its own, sendonly, and the answer said a=sendonly (and,
// once she unmuted on the same section, a=sendrecv) though the bridge sends nothing. Paired by
// mid with a recvonly one, the section is answered a=inactive, and her unmute a=recvonly
// (pion's rules for a transceiver that already has the section's mid). newPC's is left to a
// section that may send: pion gives it to the first such, answered a=recvonly. The transceivers
// added are those pion would have made, one per new section (transceiversAfter counts them).
func receiveOnlyForRecvonlySections(pc *webrtc.PeerConnection, offer *sdp.SessionDescription) {
	var ours *webrtc.RTPTransceiver
	known := map[string]bool{}
	for _, tr := range pc.GetTransceivers() {
		known[tr.Mid()] = true
		if ours == nil && tr.Mid() == "" && tr.Kind() == webrtc.RTPCodecTypeAudio && tr.Direction() == webrtc.RTPTransceiverDirectionRecvonly {
			ours = tr
		}
	}
	var recvonly []string
	for _, md := range offer.MediaDescriptions {
		mid, ok := md.Attribute(sdp.AttrKeyMID)
		if md.MediaName.Media != "audio" || !ok || mid == "" || known[mid] {
			continue
		}
		known[mid] = true // a repeated mid is one transceiver's, as pion pairs them
		switch peerDirection(md, offer) {
		case webrtc.RTPTransceiverDirectionSendrecv, webrtc.RTPTransceiverDirectionSendonly:
			ours = nil // pion gives it ours
		case webrtc.RTPTransceiverDirectionRecvonly:
			recvonly = append(recvonly, mid)
		default:
			// inactive: pion answers it inactive with a transceiver of its own (and would stop
			// ours if it had the section's mid)
		}
	}
	for _, mid := range recvonly {
		tr := ours
		ours = nil
		if tr == nil {
			var err error
			tr, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
			if err != nil {
				return // closed: SetRemoteDescription will say so
			}
			preferOffered(tr, codecs) // answerInOfferNumbers renumbers them to the offer's
		}
		_ = tr.SetMid(mid) // it has none: cannot fail
	}
}

// peerDirection is a section's direction as pion reads it: its first direction attribute,
// else the session level's, else sendrecv.
func peerDirection(md *sdp.MediaDescription, desc *sdp.SessionDescription) webrtc.RTPTransceiverDirection {
	for _, attrs := range [][]sdp.Attribute{md.Attributes, desc.Attributes} {
		for _, a := range attrs {
			if d := webrtc.NewRTPTransceiverDirection(a.Key); d != webrtc.RTPTransceiverDirectionUnknown {
				return d
			}
		}
	}
	return webrtc.RTPTransceiverDirectionSendrecv
}

// answerInOfferNumbers makes the answer to an offer just applied to pc reuse the offer's
// payload types (RFC 3264 §6.1): each audio transceiver an offered section pairs with gets
// the bridge's codecs, in its order of preference, renumbered to that section's numbers.
//
// pion answers with a transceiver's codec preferences as they are: the recvonly transceiver
// newPC makes has ours under our numbers (Opus 111), and pion sets those of a transceiver
// only when it makes one from a remote description, never on a renegotiation
// (pion/webrtc#3276). Firefox offers Opus as 109: answered 111, it sends 111 as the answer
// says, which the PeerConnection (its codecs taken from the offer) does not know, and the
// musician is connected and never heard.
func answerInOfferNumbers(pc *webrtc.PeerConnection, offer *sdp.SessionDescription) {
	transceivers := pc.GetTransceivers()
	for _, md := range offer.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		mid, ok := md.Attribute(sdp.AttrKeyMID)
		if !ok {
			continue
		}
		for _, tr := range transceivers {
			if tr.Kind() == webrtc.RTPCodecTypeAudio && tr.Mid() == mid {
				preferOffered(tr, offeredCodecs(md))
				break
			}
		}
	}
}

// offeredCodecs is the bridge's codecs that a media section offers, in the bridge's order of
// preference, each under the first payload type the section gives it (matched by MIME type,
// clock rate and channels; a static type needs no a=rtpmap).
func offeredCodecs(md *sdp.MediaDescription) []webrtc.RTPCodecParameters {
	section := sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{md}}
	byType := section.GetCodecMap()
	var out []webrtc.RTPCodecParameters
	for _, ours := range codecs {
		for _, format := range md.MediaName.Formats {
			pt, err := strconv.ParseUint(format, 10, 7)
			if err != nil {
				continue
			}
			c, ok := byType[uint8(pt)]
			if !ok || !sameCodec(ours.RTPCodecCapability, c) {
				continue
			}
			renumbered := ours
			renumbered.PayloadType = webrtc.PayloadType(pt)
			out = append(out, renumbered)
			break
		}
	}
	return out
}

// sameCodec reports whether an SDP codec is ours: the same MIME type, clock rate and channels
// (none written: one, or two for Opus, as pion reads them).
func sameCodec(ours webrtc.RTPCodecCapability, c sdp.Codec) bool {
	if !strings.EqualFold(ours.MimeType, "audio/"+c.Name) || ours.ClockRate != c.ClockRate {
		return false
	}
	channels := uint16(1)
	if strings.EqualFold(ours.MimeType, webrtc.MimeTypeOpus) {
		channels = 2
	}
	if c.EncodingParameters != "" {
		n, err := strconv.ParseUint(c.EncodingParameters, 10, 16)
		if err != nil {
			return false
		}
		channels = uint16(n)
	}
	want := ours.Channels
	if want == 0 {
		want = 1
	}
	return channels == want
}

// preferOffered sets tr's codec preferences to offered. pion refuses the whole list if one
// codec is not among those it has negotiated: the bridge's own until a remote description
// has an audio section, then those of them that the audio sections of the remote
// descriptions applied so far have brought (v4.2.26 negotiates several codecs by default and
// adds those of every audio section of every remote description: a PCM-only offer and then,
// on the same PeerConnection, one with Opus are answered in PCM, then in Opus). So a codec
// that no offer has brought yet is refused, as the bridge's codecs can be when a
// renegotiation brings a new section (receiveOnlyForRecvonlySections): then those it takes
// are kept. With none, tr keeps what it had (pion rejects a section it has no codec for).
func preferOffered(tr *webrtc.RTPTransceiver, offered []webrtc.RTPCodecParameters) {
	if len(offered) == 0 || tr.SetCodecPreferences(offered) == nil {
		return
	}
	var kept []webrtc.RTPCodecParameters
	for _, c := range offered {
		if tr.SetCodecPreferences([]webrtc.RTPCodecParameters{c}) == nil {
			kept = append(kept, c)
		}
	}
	if len(kept) > 0 {
		_ = tr.SetCodecPreferences(kept)
	}
}
