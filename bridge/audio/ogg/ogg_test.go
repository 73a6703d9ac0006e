package ogg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gopusogg "github.com/thesyncim/gopus/container/ogg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// oggWriter builds Ogg pages for tests. It splits packets across pages whenever a page
// reaches maxSegs lacing values, so packets spanning pages are exercised.
type oggWriter struct {
	buf     bytes.Buffer
	serial  uint32
	seq     uint32
	maxSegs int
	// current page
	lacing    []byte
	body      []byte
	continued bool
	first     bool
}

func newOggWriter(maxSegs int) *oggWriter {
	return &oggWriter{serial: 0x1234, maxSegs: maxSegs, first: true}
}

func (w *oggWriter) flush(granule int64, eos bool) {
	if len(w.lacing) == 0 && !eos {
		return
	}
	var flags byte
	if w.continued {
		flags |= 1
	}
	if w.first {
		flags |= 2
		w.first = false
	}
	if eos {
		flags |= 4
	}
	hdr := make([]byte, 27)
	copy(hdr, "OggS")
	hdr[5] = flags
	binary.LittleEndian.PutUint64(hdr[6:], uint64(granule))
	binary.LittleEndian.PutUint32(hdr[14:], w.serial)
	binary.LittleEndian.PutUint32(hdr[18:], w.seq)
	hdr[26] = byte(len(w.lacing))
	w.seq++
	page := append(append(hdr, w.lacing...), w.body...)
	binary.LittleEndian.PutUint32(page[22:], crcUpdate(0, page))
	w.buf.Write(page)
	w.lacing, w.body = w.lacing[:0], w.body[:0]
	w.continued = false
}

// packet appends one packet; granule is written on the page the packet ends on.
func (w *oggWriter) packet(p []byte, granule int64, endPage bool) {
	rest := p
	for first := true; ; first = false {
		if len(w.lacing) == w.maxSegs {
			w.flush(-1, false)
			w.continued = !first
		}
		n := min(255, len(rest))
		w.lacing = append(w.lacing, byte(n))
		w.body = append(w.body, rest[:n]...)
		rest = rest[n:]
		if n < 255 {
			break
		}
	}
	if endPage {
		w.flush(granule, false)
	}
}

func opusHead(channels int, preSkip int) []byte {
	h := make([]byte, 19)
	copy(h, "OpusHead")
	h[8] = 1
	h[9] = byte(channels)
	binary.LittleEndian.PutUint16(h[10:], uint16(preSkip))
	binary.LittleEndian.PutUint32(h[12:], 48000)
	return h
}

func opusTags() []byte {
	t := []byte("OpusTags")
	t = binary.LittleEndian.AppendUint32(t, 4)
	t = append(t, "test"...)
	return binary.LittleEndian.AppendUint32(t, 0)
}

func patterned(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*7)
	}
	return p
}

func TestPacketsAcrossPagesRoundTrip(t *testing.T) {
	sizes := []int{1, 254, 255, 256, 510, 511, 3 * 255, 70000, 100, 0, 17}
	for _, maxSegs := range []int{255, 3, 1} {
		w := newOggWriter(maxSegs)
		w.packet(opusHead(2, 312), 0, true)
		w.packet(opusTags(), 0, true)
		var want [][]byte
		var wantGranule []int64
		for i, n := range sizes {
			p := patterned(n, byte(i))
			want = append(want, p)
			endPage := i%3 == 2 || i == len(sizes)-1
			g := int64(-1)
			if endPage {
				g = int64(960 * (i + 1))
			}
			wantGranule = append(wantGranule, g)
			w.packet(p, g, endPage)
		}
		w.flush(int64(960*len(sizes)), true)

		r, err := NewPacketReader(bytes.NewReader(w.buf.Bytes()))
		if err != nil {
			t.Fatalf("maxSegs %d: NewPacketReader: %v", maxSegs, err)
		}
		if h := r.Head(); h.Channels != 2 || h.PreSkip != 312 || h.InputSampleRate != 48000 {
			t.Fatalf("head = %+v", h)
		}
		for i := range want {
			got, g, err := r.Next()
			if err != nil {
				t.Fatalf("maxSegs %d: packet %d: %v", maxSegs, i, err)
			}
			if !bytes.Equal(got, want[i]) {
				t.Fatalf("maxSegs %d: packet %d: got %d bytes, want %d", maxSegs, i, len(got), len(want[i]))
			}
			// With tiny pages a packet may end on a page of its own, so granule is only
			// checked where the writer put one.
			if wantGranule[i] >= 0 && g != wantGranule[i] {
				t.Fatalf("maxSegs %d: packet %d: granule %d, want %d", maxSegs, i, g, wantGranule[i])
			}
		}
		if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("maxSegs %d: after last packet: %v, want io.EOF", maxSegs, err)
		}
	}
}

func validStream(packets ...[]byte) []byte {

	w := newOggWriter(255)
	w.packet(opusHead(1, 0), 0, true)
	w.packet(opusTags(), 0, true)
	for i, p := range packets {
		w.packet(p, int64(960*(i+1)), true)
	}
	w.flush(0, true)
	return w.buf.Bytes()
}

func TestMalformedStreamsGiveClearErrors(t *testing.T) {
	good := validStream(patterned(300, 1), patterned(40, 2))
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 0xff // last page's body... the EOS page is empty; corrupt a data page instead
	badCRC = bytes.Clone(good)
	badCRC[30] ^= 0x01 // inside the first page body (OpusHead)

	w := newOggWriter(255)
	w.packet(opusHead(1, 0), 0, true)
	w.packet([]byte("NotTags!"), 0, true)
	noTags := w.buf.Bytes()

	w = newOggWriter(255)
	w.packet([]byte("OpusHeadX"), 0, true)
	shortHead := w.buf.Bytes()

	w = newOggWriter(255)
	h := opusHead(3, 0) // family 0 with 3 channels is illegal
	w.packet(h, 0, true)
	threeCh := w.buf.Bytes()

	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotOpus},
		{"not ogg", []byte("RIFF....WAVEfmt garbage garbage garbage"), ErrNotOgg},
		{"bad crc", badCRC, ErrBadCRC},
		{"missing tags", noTags, ErrMissingTags},
		{"short head", shortHead, ErrNotOpus},
		{"three channels family 0", threeCh, ErrNotOpus},
		{"truncated header", good[:20], io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		_, err := NewPacketReader(bytes.NewReader(c.data))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestTruncatedInsidePacket(t *testing.T) {
	w := newOggWriter(2) // 600-byte packet spans pages of 2 lacing values
	w.packet(opusHead(1, 0), 0, true)
	w.packet(opusTags(), 0, true)
	w.packet(patterned(600, 3), 960, false)
	w.flush(960, false)
	data := w.buf.Bytes()
	// Drop the last page (which finishes the packet): the packet is cut.
	lastPage := bytes.LastIndex(data, []byte("OggS"))
	r, err := NewPacketReader(bytes.NewReader(data[:lastPage]))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = r.Next()
	if !errors.Is(err, ErrBrokenPacket) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrBrokenPacket wrapping io.ErrUnexpectedEOF", err)
	}
}

func TestOversizedPacketIsSkipped(t *testing.T) {
	w := newOggWriter(255)
	w.packet(opusHead(1, 0), 0, true)
	w.packet(opusTags(), 0, true)
	w.packet(patterned(MaxPacketSize+1000, 1), 960, true)
	w.packet(patterned(50, 9), 1920, true)
	w.flush(1920, true)
	r, err := NewPacketReader(bytes.NewReader(w.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Next(); !errors.Is(err, ErrPacketTooLarge) {
		t.Fatalf("err = %v, want ErrPacketTooLarge", err)
	}
	p, _, err := r.Next()
	if err != nil || !bytes.Equal(p, patterned(50, 9)) {
		t.Fatalf("packet after oversized one: %d bytes, %v", len(p), err)
	}
}

func TestOtherLogicalStreamsAreSkipped(t *testing.T) {
	a := newOggWriter(255)
	a.packet(opusHead(1, 0), 0, true)
	a.packet(opusTags(), 0, true)
	b := newOggWriter(255)
	b.serial = 99
	b.packet([]byte("some other codec"), 0, true)
	a.packet([]byte{0xfc, 1, 2}, 960, true)
	data := append(bytes.Clone(a.buf.Bytes()[:0:0]), a.buf.Bytes()...)
	data = append(data, b.buf.Bytes()...)
	a.buf.Reset()
	a.packet([]byte{0xfc, 4, 5}, 1920, true)
	data = append(data, a.buf.Bytes()...)
	r, err := NewPacketReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]byte{{0xfc, 1, 2}, {0xfc, 4, 5}} {
		p, _, err := r.Next()
		if err != nil || !bytes.Equal(p, want) {
			t.Fatalf("got %x, %v; want %x", p, err, want)
		}
	}
}

func TestPacketSamples(t *testing.T) {
	cases := []struct {
		pkt  []byte
		want int
	}{
		{[]byte{0xfc}, 960},           // CELT FB 20 ms, code 0
		{[]byte{0xfd, 0}, 1920},       // code 1: two frames
		{[]byte{0x18}, 2880},          // SILK NB 60 ms
		{[]byte{0x60}, 480},           // hybrid SWB 10 ms
		{[]byte{0x83, 0x03}, 3 * 120}, // CELT 2.5 ms x3
		{[]byte{0x1b, 0x03}, -1},      // SILK 60 ms x3 = 180 ms: illegal
		{[]byte{0xfc | 3, 0x00}, -1},  // zero frames
		{[]byte{}, -1},                // empty
		{[]byte{0xfc | 3}, -1},        // missing count byte
	}
	for _, c := range cases {
		got, err := PacketSamples(c.pkt)
		if c.want < 0 {
			if err == nil {
				t.Errorf("%x: got %d, want error", c.pkt, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%x: got %d, %v; want %d", c.pkt, got, err, c.want)
		}
	}
}

// TestFixturesMatchGopusReader reads every checked-in fixture with this reader and with
// gopus's container/ogg reader and requires identical packets.
func TestFixturesMatchGopusReader(t *testing.T) {
	files, _ := filepath.Glob("../../../testdata/opus/*.opus")
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/opus")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := NewPacketReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		theirs, err := gopusogg.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: gopus reader: %v", f, err)
		}
		if ours.Head().PreSkip != int(theirs.Header.PreSkip) || ours.Head().Channels != int(theirs.Header.Channels) {
			t.Fatalf("%s: head %+v vs %+v", f, ours.Head(), theirs.Header)
		}
		n := 0
		for {
			p, _, err := ours.Next()
			q, _, err2 := theirs.ReadPacket()
			if errors.Is(err, io.EOF) && errors.Is(err2, io.EOF) {
				break
			}
			if err != nil || err2 != nil {
				t.Fatalf("%s packet %d: ours %v, gopus %v", f, n, err, err2)
			}
			if !bytes.Equal(p, q) {
				t.Fatalf("%s packet %d differs", f, n)
			}
			n++
		}
		if n < 50 {
			t.Fatalf("%s: only %d packets", f, n)
		}
	}
}

// FuzzPacketReader: any bytes give packets no larger than MaxPacketSize, ErrNewLink, io.EOF or
// an error, never a panic or a loop. Minimising an interesting input of the larger seeds takes
// the default minute, in which no new input runs; run it with a short minimisation:
//
//	go test -run XXX -fuzz '^FuzzPacketReader$' -fuzztime 30s -fuzzminimizetime 2s -parallel 1 ./bridge/audio/ogg/
func FuzzPacketReader(f *testing.F) {
	f.Add(validStream(patterned(300, 1), patterned(40, 2)))
	f.Add([]byte("OggS"))
	f.Add([]byte{})
	if seed, err := os.ReadFile("../../../testdata/opus/silk_wb_mono_16k.opus"); err == nil {
		f.Add(seed)
		f.Add(append(bytes.Clone(seed[:1500]), seed...)) // chained: a cut link, then a whole one
		other := foreignPage(0x99, 0x02, 0, []byte("\x80theora"))
		f.Add(append(other, seed[:1500]...)) // Opus after another stream's BOS page
		// Links after a link without its end-of-stream page: an Opus one, one without Opus.
		f.Add(append(withoutEndOfStream(f, seed), seed...))
		f.Add(append(withoutEndOfStream(f, seed), other...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, FixChecksums(data)} {
			r, err := NewPacketReader(bytes.NewReader(in))
			if err != nil {
				continue
			}
			_ = r.Head()
			for range 100000 {
				p, _, err := r.Next()
				if errors.Is(err, ErrNewLink) {
					_ = r.Head()
					continue
				}
				if err != nil {
					break
				}
				if len(p) > MaxPacketSize {
					t.Fatalf("packet of %d bytes", len(p))
				}
			}
		}
	})
}

func TestHugeOpusTagsAreSkippedWithoutBuffering(t *testing.T) {
	w := newOggWriter(255)
	w.packet(opusHead(2, 312), 0, true)
	tags := append(opusTags(), patterned(3*MaxPacketSize, 5)...) // "cover art"
	w.packet(tags, 0, true)
	w.packet([]byte{0xfc, 7, 7}, 960, true)
	w.flush(960, true)
	r, err := NewPacketReader(bytes.NewReader(w.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if cap(r.pkt) > 4096 {
		t.Fatalf("tags were buffered: %d bytes", cap(r.pkt))
	}
	if p, _, err := r.Next(); err != nil || !bytes.Equal(p, []byte{0xfc, 7, 7}) {
		t.Fatalf("first audio packet %x, %v", p, err)
	}
}

// TestStartGranule: RFC 7845 §4.5's starting offset is the first page's granule position less
// the samples its packets decode to; it is fixed from then on; a first page counting fewer
// samples than it holds (end trimming of a one-page stream) starts at 0.
func TestStartGranule(t *testing.T) {
	for _, c := range []struct{ start, granule, decoded, want int64 }{
		{StartGranuleUnknown, 960 * 50, 960 * 50, 0},                   // an ordinary stream
		{StartGranuleUnknown, 172800123 + 960*50, 960 * 50, 172800123}, // cut from a live stream
		{StartGranuleUnknown, 1000, 1920, 0},                           // a one-page stream trimmed at its end
		{172800123, 5000, 960 * 60, 172800123},                         // later pages do not move it
	} {
		if got := StartGranule(c.start, c.granule, c.decoded); got != c.want {
			t.Errorf("StartGranule(%d, %d, %d) = %d, want %d", c.start, c.granule, c.decoded, got, c.want)
		}
	}
}

// TestParseHeadChannelMappingTable: a family 1 (or other non-zero family) OpusHead's table is
// read into StreamCount, CoupledCount and Mapping, and a table RFC 7845 §5.1.1 forbids is
// ErrNotOpus with a line saying what is wrong; family 0 gets its implied table.
func TestParseHeadChannelMappingTable(t *testing.T) {
	head := func(channels int, family byte, table ...byte) []byte {
		h := opusHead(channels, 312)
		h[18] = family
		return append(h, table...)
	}
	for _, c := range []struct {
		name             string
		pkt              []byte
		streams, coupled int
		mapping          []byte
	}{
		{"family 0 mono", head(1, 0), 1, 0, []byte{0}},
		{"family 0 stereo", head(2, 0), 1, 1, []byte{0, 1}},
		{"family 1 mono", head(1, 1, 1, 0, 0), 1, 0, []byte{0}},
		{"family 1 stereo", head(2, 1, 1, 1, 0, 1), 1, 1, []byte{0, 1}},
		{"family 1 stereo, channels swapped", head(2, 1, 1, 1, 1, 0), 1, 1, []byte{1, 0}},
		{"family 1 stereo from a mono stream", head(2, 1, 1, 0, 0, 0), 1, 0, []byte{0, 0}},
		{"family 1 stereo, right silent", head(2, 1, 1, 0, 0, 255), 1, 0, []byte{0, 255}},
		{"family 1 5.1 (multistream)", head(6, 1, 4, 2, 0, 4, 1, 2, 3, 5), 4, 2, []byte{0, 4, 1, 2, 3, 5}},
		{"family 255, 3 unidentified channels", head(3, 255, 2, 1, 0, 1, 2), 2, 1, []byte{0, 1, 2}},
		{"trailing bytes after the table", append(head(1, 1, 1, 0, 0), 9, 9), 1, 0, []byte{0}},
	} {
		h, err := ParseHead(c.pkt)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if h.StreamCount != c.streams || h.CoupledCount != c.coupled || !bytes.Equal(h.Mapping[:h.Channels], c.mapping) {
			t.Errorf("%s: %d streams, %d coupled, mapping %v; want %d, %d, %v", c.name, h.StreamCount, h.CoupledCount, h.Mapping[:h.Channels], c.streams, c.coupled, c.mapping)
		}
		if h.PreSkip != 312 || h.InputSampleRate != 48000 {
			t.Errorf("%s: %+v", c.name, h)
		}
	}
	for _, c := range []struct {
		name, says string
		pkt        []byte
	}{
		{"no streams", "no streams", head(1, 1, 0, 0, 0)},
		{"more coupled than streams", "2 coupled of 1 streams", head(2, 1, 1, 2, 0, 1)},
		{"mapping past the decoded channels", "output channel 1 to decoded channel 1", head(2, 1, 1, 0, 0, 1)},
		{"mapping past a coupled stream's channels", "output channel 0 to decoded channel 2", head(1, 1, 1, 1, 2)},
		{"streams and coupled past 255 channels", "decodes to 256 channels", head(1, 255, 128, 128, 0)},
		{"family 1 with 9 channels", "at most 8", head(9, 1, 9, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8)},
		{"table cut short", "truncated", head(2, 1, 1, 1, 0)},
		{"no table", "truncated", head(1, 1)},
	} {
		_, err := ParseHead(c.pkt)
		if !errors.Is(err, ErrNotOpus) || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want ErrNotOpus saying %q on one line", c.name, err, c.says)
		}
	}
}

// FixChecksums restores a file whose page checksums were all broken, byte for byte, and stops at
// a page cut short; PageChecksum agrees with what the reader checks.
func TestFixChecksumsRestoresAFile(t *testing.T) {
	orig, err := os.ReadFile("../../../testdata/opus/silk_wb_mono_16k.opus")
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Clone(orig)
	pages := 0
	for pos := 0; pos+27 <= len(broken); {
		end := pos + 27 + int(broken[pos+26])
		for _, l := range broken[pos+27 : pos+27+int(broken[pos+26])] {
			end += int(l)
		}
		if got, want := PageChecksum(orig[pos:end]), binary.LittleEndian.Uint32(orig[pos+22:]); got != want {
			t.Fatalf("page %d: PageChecksum %08x, the file says %08x", pages, got, want)
		}
		broken[pos+22] ^= 0xff
		pos, pages = end, pages+1
	}
	if pages < 2 {
		t.Fatalf("only %d pages", pages)
	}
	if !bytes.Equal(FixChecksums(broken), orig) {
		t.Fatal("FixChecksums did not restore the file")
	}
	cut := broken[:len(broken)-1]
	if fixed := FixChecksums(cut); !bytes.Equal(fixed[len(fixed)-100:], cut[len(cut)-100:]) {
		t.Fatal("FixChecksums changed a page cut short")
	}
}

// PacketSamples returns the duration of an Opus packet in samples per channel at 48 kHz, from
// its TOC byte and frame count (RFC 6716 §3.1–3.2): what an RTP sender adds to the timestamp
// per packet. Only the tests and the example need it, so it lives here.
func PacketSamples(pkt []byte) (int, error) {
	if len(pkt) == 0 {
		return 0, errors.New("ogg: empty Opus packet")
	}
	toc := pkt[0]
	cfg := toc >> 3
	var frame int // samples at 48 kHz
	switch {
	case cfg < 12: // SILK 10/20/40/60 ms
		frame = [4]int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // hybrid 10/20 ms
		frame = [2]int{480, 960}[cfg&1]
	default: // CELT 2.5/5/10/20 ms
		frame = [4]int{120, 240, 480, 960}[cfg&3]
	}
	var frames int
	switch toc & 3 {
	case 0:
		frames = 1
	case 1, 2:
		frames = 2
	case 3:
		if len(pkt) < 2 {
			return 0, errors.New("ogg: Opus code 3 packet without frame count byte")
		}
		frames = int(pkt[1] & 0x3f)
		if frames == 0 {
			return 0, errors.New("ogg: Opus code 3 packet with zero frames")
		}
	}
	if d := frames * frame; d <= 5760 {
		return d, nil
	}
	return 0, errors.New("ogg: Opus packet longer than 120 ms")
}
