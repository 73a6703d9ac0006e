package peer

import (
	"fmt"
	"slices"
	"strings"
)

// offerScan is what the bridge reads from a remote description (a musician's offer, or her
// answer to the bridge's) before pion sees it, in one pass over its lines.
type offerScan struct {
	// sending counts the m-lines that may send media to the bridge (not rejected with port 0,
	// not recvonly or inactive: sendrecv when the section does not say), sections all of them.
	sending, sections int
	// streams counts the streams declared in the sections that may send media, distinct a=ssrc
	// ids and a=rid lines: pion configures a receiver track for each, and none for a recvonly or
	// inactive section, where a browser keeps the a=ssrc of a removed track's RTCP. Counting
	// stops past maxTracks, so that a description refused for it costs little, even in a
	// section that turns out to be silent.
	streams int
	// mediaMids are the a=mid values of the audio and video sections (transceiversAfter).
	mediaMids []string
	ice       remoteICE
	creds     transportCredentials
}

// sectionICE is one media section's first a=mid, a=ice-ufrag and a=ice-pwd values.
type sectionICE struct {
	mid, ufrag, pwd string
}

// scanOffer reads sdp. Its only error is ErrTooManyCandidates: more than maxRemoteCandidates
// distinct a=candidate lines, a description refused whole, because pion would check every
// candidate in it (simpler to reason about than keeping an arbitrary subset of a forged list).
// The limits on sections and streams are the caller's to apply (vetOffer, handleAnswer).
//
// Attribute values are taken as pion's SDP parser takes them, everything after the first ':'
// up to the line's end (its CR dropped), blanks included: pion compares them that way.
func scanOffer(sdp string) (offerScan, error) {
	var sc offerScan
	var (
		session       sectionICE // the session-level ice-ufrag and ice-pwd (mid unused)
		group         string     // the first session-level a=group value
		haveGroup     bool
		sections      []sectionICE
		inSection     bool
		media, silent bool // the section is audio or video; it cannot send to the bridge

		ssrcs        = map[string]bool{}
		rids         int
		sectionSSRCs []string
		sectionRids  int

		seen         = map[string]struct{}{}
		fingerprints []string
	)
	// end closes a section (or the session level): its streams count if it may send.
	end := func() {
		if !silent {
			for _, id := range sectionSSRCs {
				ssrcs[id] = true
			}
			rids += sectionRids
			if inSection {
				sc.sending++
			}
		}
		sectionSSRCs, sectionRids, silent = sectionSSRCs[:0], 0, false
	}
	// setFirst sets *dst to v unless the level already had the attribute (pion reads the first).
	setFirst := func(dst *string, had *bool, v string) {
		if !*had {
			*dst, *had = v, true
		}
	}
	var sessionUfrag, sessionPwd, secUfrag, secPwd, secMid bool // the attribute was seen at this level
	// over is the streams declared so far if they are past maxTracks (the current section's
	// counted before it is known to be silent), else 0. streamsOver keeps it: counting stops.
	streamsOver := 0
	over := func() int {
		if n := rids + len(ssrcs) + sectionRids + len(sectionSSRCs); n > maxTracks {
			return n
		}
		return 0
	}
	for line := range strings.Lines(sdp) {
		line = strings.TrimRight(line, "\r\n")
		key, value, _ := strings.Cut(strings.TrimPrefix(line, "a="), ":")
		attr := strings.HasPrefix(line, "a=")
		switch {
		case strings.HasPrefix(line, "m="):
			end()
			sc.sections++
			f := strings.Fields(line)
			inSection, silent = true, len(f) > 1 && f[1] == "0"
			media = !strings.HasPrefix(line, "m=application")
			sections = append(sections, sectionICE{})
			secUfrag, secPwd, secMid = false, false, false
			sc.ice.media = true
		case line == "a=recvonly" || line == "a=inactive":
			silent = true
		case !attr:
		case key == "rid" && streamsOver == 0:
			sectionRids++
			streamsOver = over()
		case key == "ssrc" && streamsOver == 0:
			if id, _, _ := strings.Cut(value, " "); !slices.Contains(sectionSSRCs, id) {
				sectionSSRCs = append(sectionSSRCs, id)
			}
			streamsOver = over()
		case key == "mid" && inSection:
			setFirst(&sections[len(sections)-1].mid, &secMid, value)
			if media {
				sc.mediaMids = append(sc.mediaMids, value)
			}
		case key == "ice-ufrag" && inSection:
			setFirst(&sections[len(sections)-1].ufrag, &secUfrag, value)
		case key == "ice-ufrag":
			setFirst(&session.ufrag, &sessionUfrag, value)
		case key == "ice-pwd" && inSection:
			setFirst(&sections[len(sections)-1].pwd, &secPwd, value)
		case key == "ice-pwd":
			setFirst(&session.pwd, &sessionPwd, value)
		case key == "group" && !inSection:
			setFirst(&group, &haveGroup, value)
		case key == "fingerprint":
			sc.ice.fingerprint = true
			fingerprints = append(fingerprints, normalFingerprint(value))
		case key == "candidate":
			k := candidateKey(line)
			if _, dup := seen[k]; dup {
				continue
			}
			if len(seen) == maxRemoteCandidates {
				return sc, fmt.Errorf("more than %d candidates in the SDP: %w", maxRemoteCandidates, ErrTooManyCandidates)
			}
			seen[k] = struct{}{}
			sc.ice.cands = append(sc.ice.cands, k)
		}
	}
	end()
	sc.streams = rids + len(ssrcs)
	if streamsOver > 0 {
		sc.streams = streamsOver
	}

	// The ICE credentials pion applies (its extractICEDetails): the session level's, else those
	// of the BUNDLE group's first section (of the first a=group line naming BUNDLE), else of
	// the first section.
	ufrag, pwd := session.ufrag, session.pwd
	if sec, ok := iceSection(sections, group); ok && ufrag == "" && sec.ufrag != "" {
		ufrag, pwd = sec.ufrag, sec.pwd
	}
	sc.ice.ufrag, sc.ice.pwd = ufrag, pwd != ""
	sc.creds = transportCredentials{fingerprints: asSet(fingerprints), ufrag: ufrag, pwd: pwd}
	return sc, nil
}

// iceSection is the section pion takes ICE credentials from: with a BUNDLE group, the section
// whose mid is the group's first (none if no section has it), otherwise the first section.
func iceSection(sections []sectionICE, group string) (sectionICE, bool) {
	if strings.Contains(group, "BUNDLE") {
		if ids := strings.Split(group, " "); len(ids) >= 2 && ids[1] != "" {
			for _, s := range sections {
				if s.mid == ids[1] {
					return s, true
				}
			}
			return sectionICE{}, false
		}
	}
	if len(sections) == 0 {
		return sectionICE{}, false
	}
	return sections[0], true
}
