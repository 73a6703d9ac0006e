// Package ogg reads Opus packets out of an Ogg Opus file (RFC 7845 on RFC 3533 framing):
// it turns pages into packets, parses OpusHead and skips OpusTags, and nothing more.
//
// The Opus stream need not be the file's first logical stream (a Theora + Opus .ogv, a
// Skeleton track, a FLAC + Opus file): the reader follows the first stream whose
// beginning-of-stream page carries OpusHead and skips the others' pages. A chained file
// (`cat a.opus b.opus`) is read link by link: PacketReader.Next reports each new link with
// ErrNewLink so a decoder can start afresh. A link whose last page lacks the end-of-stream
// flag ends where the next link's OpusHead beginning-of-stream page begins (and a next link
// without Opus is the same error as after a link with the flag, at the end of the file).
//
// It exists because fixture files and `ledbridge analyze` need packet boundaries, and
// pion's oggreader hands out page payloads (opusenc packs ~40 packets in a page).
// Every read is bounded: a packet larger than MaxPacketSize is an error, never an
// unbounded allocation, and a malformed file is an error, never a panic.
package ogg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxPacketSize bounds one reassembled packet, in bytes. The largest legal Opus packet
// (code 3, 48 frames of 1275 bytes plus framing) is about 61 KB; the limit leaves headroom.
const MaxPacketSize = 128 << 10

// Sentinel errors. Every error the reader returns wraps one of these (or an io error).
var (
	// ErrNotOgg indicates the data is not an Ogg stream (no "OggS" capture pattern where a page must start).
	ErrNotOgg = errors.New("ogg: not an Ogg page (missing OggS capture pattern)")
	// ErrBadCRC indicates a page whose CRC-32 checksum does not match its contents.
	ErrBadCRC = errors.New("ogg: page checksum mismatch")
	// ErrUnsupportedVersion indicates an Ogg page version other than 0.
	ErrUnsupportedVersion = errors.New("ogg: unsupported page version")
	// ErrNotOpus indicates the first packet of the stream is not a valid OpusHead.
	ErrNotOpus = errors.New("ogg: stream is not Ogg Opus (bad or missing OpusHead)")
	// ErrMissingTags indicates the second packet of the stream is not OpusTags.
	ErrMissingTags = errors.New("ogg: missing OpusTags header packet")
	// ErrPacketTooLarge indicates a packet that would exceed MaxPacketSize.
	ErrPacketTooLarge = errors.New("ogg: packet exceeds maximum size")
	// ErrBrokenPacket indicates a packet whose continuation is missing (a page was lost or
	// the stream was cut in the middle of a packet).
	ErrBrokenPacket = errors.New("ogg: packet continuation missing")
	// ErrNewLink is what Next returns when the next link of a chained stream begins (RFC 3533
	// §4: a new group of beginning-of-stream pages after the end of the last stream, or an
	// OpusHead beginning-of-stream page after the last stream's data if it has no
	// end-of-stream page). Its
	// OpusHead and OpusTags have been read, Head returns the new link's header, and the next
	// call to Next returns its first audio packet. A caller that decodes starts a new decoder
	// there (the new head's channels, pre-skip and output gain) and counts granule positions
	// afresh, since they restart with each link. A caller that cannot do that returns it as an
	// error, which is why its text says what it says: stopping silently would cut the file.
	ErrNewLink = errors.New("ogg: chained Ogg streams are not supported")
)

// opusHeadMagic begins an OpusHead packet (RFC 7845 §5.1).
var opusHeadMagic = []byte("OpusHead")

// Head is the parsed OpusHead identification header (RFC 7845 §5.1).
type Head struct {
	Version         uint8  // encapsulation version; only the major version 0 is accepted
	Channels        int    // output channel count, 1..255
	PreSkip         int    // samples per channel (at 48 kHz) to discard from the start of the decode
	InputSampleRate uint32 // the original input rate in Hz; informational only, Opus always decodes at 48 kHz here
	OutputGain      int16  // Q7.8 dB gain to apply to the decoded output
	// MappingFamily says how the decoded channels become output channels (RFC 7845 §5.1.1):
	// 0 is mono or stereo from one Opus stream, 1 is Vorbis channel order (1 to 8 channels),
	// 2 and 3 are ambisonics (RFC 8486), 255 unidentified channels. Every family but 0 carries
	// a channel mapping table, which may still describe a single Opus stream.
	MappingFamily uint8
	// StreamCount is the number of Opus streams in each packet (N, at least 1). More than one
	// needs a multistream decoder. Family 0 has exactly one.
	StreamCount int
	// CoupledCount is how many of the streams are coded as stereo pairs (M ≤ N): the streams
	// decode to N+M channels, coupled streams' two channels first. Family 0: Channels-1.
	CoupledCount int
	// Mapping[c], for output channel c < Channels, is the decoded channel (< N+M) that output
	// channel c plays, or 255 for silence. Family 0's implied table is [0] or [0, 1].
	Mapping [255]uint8
}

// SilentChannel is the Mapping value of an output channel that plays silence.
const SilentChannel = 255

// ParseHead parses an OpusHead packet, and checks its channel mapping table as RFC 7845 §5.1.1
// asks of a decoder: at least one stream, no more coupled streams than streams, and every
// mapping entry a decoded channel or SilentChannel.
func ParseHead(pkt []byte) (Head, error) {
	if len(pkt) < 19 || !bytes.Equal(pkt[:8], opusHeadMagic) {
		return Head{}, fmt.Errorf("parse OpusHead: %w", ErrNotOpus)
	}
	h := Head{
		Version:         pkt[8],
		Channels:        int(pkt[9]),
		PreSkip:         int(binary.LittleEndian.Uint16(pkt[10:12])),
		InputSampleRate: binary.LittleEndian.Uint32(pkt[12:16]),
		OutputGain:      int16(binary.LittleEndian.Uint16(pkt[16:18])),
		MappingFamily:   pkt[18],
	}
	if h.Version>>4 != 0 {
		return Head{}, fmt.Errorf("parse OpusHead: version %d: %w", h.Version, ErrNotOpus)
	}
	if h.Channels == 0 {
		return Head{}, fmt.Errorf("parse OpusHead: zero channels: %w", ErrNotOpus)
	}
	if h.MappingFamily == 0 && h.Channels > 2 {
		return Head{}, fmt.Errorf("parse OpusHead: mapping family 0 with %d channels: %w", h.Channels, ErrNotOpus)
	}
	if h.MappingFamily == 0 {
		h.StreamCount, h.CoupledCount = 1, h.Channels-1
		for c := range h.Channels {
			h.Mapping[c] = uint8(c)
		}
		return h, nil
	}
	if h.MappingFamily == 1 && h.Channels > 8 {
		return Head{}, fmt.Errorf("parse OpusHead: mapping family 1 with %d channels (at most 8): %w", h.Channels, ErrNotOpus)
	}
	if len(pkt) < 21+h.Channels {
		return Head{}, fmt.Errorf("parse OpusHead: truncated channel mapping table: %w", ErrNotOpus)
	}
	h.StreamCount, h.CoupledCount = int(pkt[19]), int(pkt[20])
	switch decoded := h.StreamCount + h.CoupledCount; {
	case h.StreamCount == 0:
		return Head{}, fmt.Errorf("parse OpusHead: channel mapping table with no streams: %w", ErrNotOpus)
	case h.CoupledCount > h.StreamCount:
		return Head{}, fmt.Errorf("parse OpusHead: channel mapping table with %d coupled of %d streams: %w", h.CoupledCount, h.StreamCount, ErrNotOpus)
	case decoded > 255:
		return Head{}, fmt.Errorf("parse OpusHead: channel mapping table with %d streams and %d coupled decodes to %d channels (at most 255): %w", h.StreamCount, h.CoupledCount, decoded, ErrNotOpus)
	}
	copy(h.Mapping[:h.Channels], pkt[21:])
	for c, m := range h.Mapping[:h.Channels] {
		if m != SilentChannel && int(m) >= h.StreamCount+h.CoupledCount {
			return Head{}, fmt.Errorf("parse OpusHead: channel mapping table maps output channel %d to decoded channel %d, but %d stream(s), %d coupled, decode to %d channel(s): %w",
				c, m, h.StreamCount, h.CoupledCount, h.StreamCount+h.CoupledCount, ErrNotOpus)
		}
	}
	return h, nil
}

// PacketReader yields the Opus audio packets of an Ogg Opus file: of the first logical
// stream whose beginning-of-stream page carries OpusHead, then of each further link of a
// chained file (see ErrNewLink). Pages of other logical streams (multiplexed video, a
// Skeleton track) are skipped. It is not safe for concurrent use.
type PacketReader struct {
	r    io.Reader
	head Head

	// serial is the Opus stream being read; haveSerial is false while looking for one (at the
	// start, and after its end-of-stream page, for the next link of a chain).
	serial     uint32
	haveSerial bool
	// linkEnded: the end-of-stream page of serial has been read, or the next link's BOS page;
	// no more of its pages follow.
	linkEnded bool
	// heldPage: the page in hdr, lacing and body is the next link's BOS page, read while
	// serial's link was going on; the next readPage starts from it instead of reading.
	heldPage bool
	// strayBOS: another stream's BOS page came after serial's headers, and no page of serial
	// since. If serial's pages go on it was multiplexed (out of place); if the file ends first,
	// it began the next link, one without an Opus stream, after a link without its EOS page.
	strayBOS bool
	// chained: looking for a later link, not the first (pages of the ended link's other
	// streams may still come and are skipped).
	chained bool
	// readingHeaders: inside readHeaders, where the end of the link means OpusTags is missing.
	readingHeaders bool
	// otherSerial is a stream of the link being looked for that is not Opus (its BOS page
	// came first); a page of it that is not a BOS page means that link's BOS pages are over.
	otherSerial     uint32
	haveOtherSerial bool

	// Current page: header fields, lacing values and body.
	hdr      [27]byte
	lacing   [255]byte
	nsegs    int
	seg      int // next lacing value to consume
	body     [255 * 255]byte
	bodyOff  int
	granule  int64
	eos      bool
	lastDone int // index of the last lacing value that completes a packet on this page, -1 if none

	pkt     []byte // reassembly buffer, reused; the packet returned by Next aliases it
	partial bool   // pkt holds the beginning of a packet that continues on the next page
	ended   bool
}

// NewPacketReader reads and checks the two Opus header packets (OpusHead, OpusTags) and
// returns a reader positioned at the first audio packet.
func NewPacketReader(r io.Reader) (*PacketReader, error) {
	p := &PacketReader{r: r, pkt: make([]byte, 0, 4096), lastDone: -1}
	if err := p.readHeaders(); err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("ogg: read OpusHead: %w: empty stream", ErrNotOpus)
		}
		return nil, err
	}
	return p, nil
}

// readHeaders finds the next Opus stream and reads its OpusHead and OpusTags packets. It
// returns io.EOF when the file ends before any Opus stream begins.
func (p *PacketReader) readHeaders() error {
	p.readingHeaders = true
	defer func() { p.readingHeaders = false }()
	headPkt, _, err := p.next(false)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return fmt.Errorf("ogg: read OpusHead: %w", err)
	}
	if p.head, err = ParseHead(headPkt); err != nil {
		return err
	}
	// OpusTags may carry cover art of any size: check its magic, then discard the rest
	// without buffering it.
	tags, _, err := p.next(true)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = ErrMissingTags
		}
		return fmt.Errorf("ogg: read OpusTags: %w", err)
	}
	if !bytes.HasPrefix(tags, []byte("OpusTags")) {
		return fmt.Errorf("ogg: read OpusTags: %w", ErrMissingTags)
	}
	return nil
}

// Head returns the OpusHead of the link being read (of the latest one after ErrNewLink).
func (p *PacketReader) Head() Head { return p.head }

// Next returns the next audio packet and a granule position. The packet slice is only
// valid until the next call to Next (the buffer is reused). granule is the page's granule
// position (total 48 kHz samples per channel decoded, pre-skip included, at the end of this
// packet) when the packet is the last one completed on its page, and -1 otherwise.
// At the end of the stream Next returns io.EOF; a stream cut inside a packet returns
// ErrBrokenPacket (wrapped with io.ErrUnexpectedEOF). When the next link of a chained file
// begins, Next returns ErrNewLink once, then that link's packets.
func (p *PacketReader) Next() (packet []byte, granule int64, err error) {
	return p.next(false)
}

// nextLink looks for the next link of a chained file after the current stream's end: it
// returns ErrNewLink with the new link's headers read, or io.EOF at the end of the file.
func (p *PacketReader) nextLink() error {
	p.haveSerial, p.linkEnded, p.chained, p.haveOtherSerial, p.strayBOS = false, false, true, false, false
	if err := p.readHeaders(); err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return fmt.Errorf("ogg: next link of a chained stream: %w", err)
	}
	return ErrNewLink
}

func (p *PacketReader) next(discard bool) ([]byte, int64, error) {
	p.pkt = p.pkt[:0]
	size := 0 // bytes of the packet so far, counted even when discarding
	prefix := 0
	for {
		if p.seg >= p.nsegs {
			if p.ended || p.linkEnded {
				if p.partial {
					p.partial = false
					return nil, -1, fmt.Errorf("%w: stream ended inside a packet: %w", ErrBrokenPacket, io.ErrUnexpectedEOF)
				}
				if p.ended || p.readingHeaders {
					return nil, -1, io.EOF
				}
				return nil, -1, p.nextLink() // ErrNewLink, io.EOF or an error
			}
			if err := p.readPage(); err != nil {
				if errors.Is(err, io.EOF) {
					p.ended = true
					continue
				}
				return nil, -1, err
			}
			continue
		}
		n := int(p.lacing[p.seg])
		chunk := p.body[p.bodyOff : p.bodyOff+n]
		p.bodyOff += n
		idx := p.seg
		p.seg++
		size += n
		if size > MaxPacketSize && !discard {
			p.skipRestOfPacket(n)
			return nil, -1, fmt.Errorf("%w (%d bytes)", ErrPacketTooLarge, MaxPacketSize)
		}
		if discard {
			// Keep only a short prefix so callers can check a magic signature.
			if prefix < 16 {
				take := min(16-prefix, len(chunk))
				p.pkt = append(p.pkt, chunk[:take]...)
				prefix += take
			}
		} else {
			p.pkt = append(p.pkt, chunk...)
		}
		if n < 255 {
			p.partial = false
			g := int64(-1)
			if idx == p.lastDone {
				g = p.granule
			}
			return p.pkt, g, nil
		}
		p.partial = true
	}
}

// skipRestOfPacket drops the remaining lacing values of an oversized packet on the current
// page so the next call starts at a packet boundary (or at a continuation it will reject).
func (p *PacketReader) skipRestOfPacket(last int) {
	for last == 255 && p.seg < p.nsegs {
		last = int(p.lacing[p.seg])
		p.bodyOff += last
		p.seg++
	}
	// If the packet goes on past this page, the continued page's fragment is skipped by
	// readPage, because partial is false.
	p.partial = false
}

// readPage reads the next page of our logical stream into p.
func (p *PacketReader) readPage() error {
	for {
		if p.heldPage {
			// The BOS page that ended the last link is the first page of the next one.
			p.heldPage = false
		} else if err := p.readRawPage(); err != nil {
			if errors.Is(err, io.EOF) && p.strayBOS {
				return fmt.Errorf("ogg: a chained link without an Opus stream follows a link that has no end-of-stream page: %w", ErrNotOpus)
			}
			return err
		}
		flags := p.hdr[5]
		granule := int64(binary.LittleEndian.Uint64(p.hdr[6:14]))
		serial := binary.LittleEndian.Uint32(p.hdr[14:18])
		nsegs := int(p.hdr[26])
		bodyLen := 0
		for _, l := range p.lacing[:nsegs] {
			bodyLen += int(l)
		}
		if p.haveSerial && !p.readingHeaders && flags&0x02 != 0 && bytes.HasPrefix(p.body[:bodyLen], opusHeadMagic) {
			// An Opus beginning-of-stream page after this link's headers: the next link of a
			// chained file whose last link ended without its end-of-stream flag (RFC 3533 §4:
			// a link's BOS pages all come before its data, so this cannot be a stream
			// multiplexed with ours). It ends the link as an end-of-stream page would, and is
			// kept for nextLink to read the new link's headers from.
			p.heldPage, p.linkEnded = true, true
			p.nsegs, p.seg, p.bodyOff = 0, 0, 0
			return nil
		}
		if !p.haveSerial {
			adopt, err := p.adopts(flags, serial, p.body[:bodyLen])
			if err != nil {
				return err
			}
			if !adopt {
				continue
			}
			p.serial, p.haveSerial = serial, true
		} else if serial != p.serial {
			if flags&0x02 != 0 && !p.readingHeaders {
				p.strayBOS = true
			}
			continue // another logical stream: not ours
		}
		p.strayBOS = false
		continued := flags&0x01 != 0
		p.nsegs, p.seg, p.bodyOff = nsegs, 0, 0
		p.granule = granule
		p.eos = flags&0x04 != 0
		p.lastDone = -1
		for i := nsegs - 1; i >= 0; i-- {
			if p.lacing[i] < 255 {
				p.lastDone = i
				break
			}
		}
		if p.eos {
			p.linkEnded = true
		}
		switch {
		case p.partial && !continued:
			p.partial = false
			return fmt.Errorf("ogg: page does not continue the previous page's packet: %w", ErrBrokenPacket)
		case continued && !p.partial:
			// A continuation of a packet we never saw the start of (reading began
			// mid-stream, or an oversized packet is being dropped): skip the fragment.
			p.skipRestOfPacket(255)
		}
		return nil
	}
}

// adopts says whether a page read while looking for an Opus stream begins the one to read.
// RFC 3533 §4: a link's beginning-of-stream pages all come first, and RFC 7845 §3 puts
// OpusHead alone on the Opus stream's. Other streams' BOS pages are skipped; a page that is
// not a BOS page ends the search: in the first link, or in a later one whose other streams
// have begun, there is no Opus stream (an error); otherwise it is a page of the ended link's
// other streams (video going on after the audio), which is skipped.
func (p *PacketReader) adopts(flags byte, serial uint32, body []byte) (bool, error) {
	isOpus := bytes.HasPrefix(body, opusHeadMagic)
	if flags&0x02 != 0 {
		if isOpus {
			return true, nil
		}
		if !p.haveOtherSerial {
			p.otherSerial, p.haveOtherSerial = serial, true
		}
		return false, nil
	}
	switch {
	case !p.chained && isOpus:
		return true, nil // a writer that left out the BOS flag: OpusHead is what counts
	case !p.chained:
		return false, fmt.Errorf("ogg: no Opus stream among the beginning-of-stream pages: %w", ErrNotOpus)
	case p.haveOtherSerial && serial == p.otherSerial:
		return false, fmt.Errorf("ogg: a chained link without an Opus stream: %w", ErrNotOpus)
	}
	return false, nil
}

// readRawPage reads one page of any logical stream into p.hdr, p.lacing and p.body, and checks
// its capture pattern, version and checksum.
func (p *PacketReader) readRawPage() error {
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return fmt.Errorf("ogg: read page header: %w", err)
	}
	if !bytes.Equal(p.hdr[:4], []byte("OggS")) {
		return ErrNotOgg
	}
	if p.hdr[4] != 0 {
		return fmt.Errorf("%w %d", ErrUnsupportedVersion, p.hdr[4])
	}
	wantCRC := binary.LittleEndian.Uint32(p.hdr[22:26])
	nsegs := int(p.hdr[26])
	if _, err := io.ReadFull(p.r, p.lacing[:nsegs]); err != nil {
		return fmt.Errorf("ogg: read lacing values: %w", unexpected(err))
	}
	bodyLen := 0
	for _, l := range p.lacing[:nsegs] {
		bodyLen += int(l)
	}
	if _, err := io.ReadFull(p.r, p.body[:bodyLen]); err != nil {
		return fmt.Errorf("ogg: read page body: %w", unexpected(err))
	}
	// CRC over the header with the checksum field zeroed, then lacing and body.
	hdr := p.hdr
	hdr[22], hdr[23], hdr[24], hdr[25] = 0, 0, 0, 0
	crc := crcUpdate(0, hdr[:])
	crc = crcUpdate(crc, p.lacing[:nsegs])
	crc = crcUpdate(crc, p.body[:bodyLen])
	if crc != wantCRC {
		return ErrBadCRC
	}
	return nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// crcTable is the Ogg CRC-32: polynomial 0x04c11db7, MSB first, initial value 0, no final xor.
var crcTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func crcUpdate(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^c]
	}
	return crc
}

// PageChecksum is the checksum an Ogg page carries in header bytes 22–25: RFC 3533's CRC over the
// whole page with those four bytes taken as zero. Tools and tests that edit a page use it to make
// the page valid again.
func PageChecksum(page []byte) uint32 {
	if len(page) < 26 {
		return crcUpdate(0, page)
	}
	var zero [4]byte
	crc := crcUpdate(0, page[:22])
	crc = crcUpdate(crc, zero[:])
	return crcUpdate(crc, page[26:])
}

// FixChecksums returns a copy of data with the checksum of every whole page recomputed, from the
// start up to the first bytes that are not a whole page; a fuzzer uses it so that its mutations
// reach the page and packet structure instead of stopping at the checksum.
func FixChecksums(data []byte) []byte {
	out := bytes.Clone(data)
	for pos := 0; pos+27 <= len(out) && string(out[pos:pos+4]) == "OggS"; {
		nsegs := int(out[pos+26])
		end := pos + 27 + nsegs
		if end > len(out) {
			break
		}
		for _, l := range out[pos+27 : pos+27+nsegs] {
			end += int(l)
		}
		if end > len(out) {
			break
		}
		binary.LittleEndian.PutUint32(out[pos+22:], PageChecksum(out[pos:end]))
		pos = end
	}
	return out
}

// StartGranuleUnknown is StartGranule's "not known yet": no packet with a granule position seen.
const StartGranuleUnknown = int64(-1)

// StartGranule returns the granule position of an Ogg Opus stream's first decoded sample
// (pre-skip included): the offset to take from every later granule position before comparing
// it with the samples decoded, for end trimming (RFC 7845 §4.4). start is the value so far
// (StartGranuleUnknown until the first page's granule position is seen); granule is a page's
// granule position, and decoded the samples per channel decoded up to and including that
// page's last packet. Call it for every packet with a granule position.
//
// RFC 7845 §4.5: a stream need not start at granule position 0 (a live stream recorded from
// the middle): the first page's granule position, less the samples of the packets it
// completes, is where it starts. Without it, a stream starting at a large granule position
// never looks trimmed and keeps its last packet's padding. A first page with fewer samples
// than its granule position counts is end trimming of a one-page stream (or invalid), so the
// start is 0.
func StartGranule(start, granule, decoded int64) int64 {
	if start != StartGranuleUnknown {
		return start
	}
	return max(granule-decoded, 0)
}
