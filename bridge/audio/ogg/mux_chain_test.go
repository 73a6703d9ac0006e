package ogg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Tests of files that hold more than one Opus-less or Opus logical stream: Opus multiplexed
// after other streams (RFC 3533 §4 grouping), and chained files (one link after another).
// They are built from the checked-in opusenc fixtures' own pages, and their packets are
// checked against the packets of the fixtures read alone.

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../../testdata/opus", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// splitPages returns the pages of an Ogg file, each a slice of data.
func splitPages(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var pages [][]byte
	for pos := 0; pos < len(data); {
		if pos+27 > len(data) || string(data[pos:pos+4]) != "OggS" {
			t.Fatalf("no page at %d", pos)
		}
		end := pos + 27 + int(data[pos+26])
		for _, l := range data[pos+27 : end] {
			end += int(l)
		}
		pages = append(pages, data[pos:end])
		pos = end
	}
	return pages
}

// foreignPage is a one-packet page of another logical stream (a video or Skeleton track).
func foreignPage(serial uint32, flags byte, seq uint32, pkt []byte) []byte {
	var lacing []byte
	n := len(pkt)
	for ; n >= 255; n -= 255 {
		lacing = append(lacing, 255)
	}
	lacing = append(lacing, byte(n))
	p := make([]byte, 27, 27+len(lacing)+len(pkt))
	copy(p, "OggS")
	p[5] = flags
	binary.LittleEndian.PutUint32(p[14:], serial)
	binary.LittleEndian.PutUint32(p[18:], seq)
	p[26] = byte(len(lacing))
	p = append(append(p, lacing...), pkt...)
	binary.LittleEndian.PutUint32(p[22:], PageChecksum(p))
	return p
}

type readPacket struct {
	data    []byte
	granule int64
}

// allPackets reads r to io.EOF; each ErrNewLink is recorded as a nil packet with the new
// link's pre-skip as its granule.
func allPackets(t *testing.T, r *PacketReader) []readPacket {
	t.Helper()
	var out []readPacket
	for {
		p, g, err := r.Next()
		switch {
		case errors.Is(err, io.EOF):
			return out
		case errors.Is(err, ErrNewLink):
			out = append(out, readPacket{nil, int64(r.Head().PreSkip)})
		case err != nil:
			t.Fatalf("after %d packets: %v", len(out), err)
		default:
			out = append(out, readPacket{bytes.Clone(p), g})
		}
	}
}

func fixturePackets(t *testing.T, data []byte) ([]readPacket, Head) {
	t.Helper()
	r, err := NewPacketReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return allPackets(t, r), r.Head()
}

func equalPackets(t *testing.T, got, want []readPacket) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].data, want[i].data) || (got[i].data == nil) != (want[i].data == nil) || got[i].granule != want[i].granule {
			t.Fatalf("packet %d: %d bytes granule %d, want %d bytes granule %d", i, len(got[i].data), got[i].granule, len(want[i].data), want[i].granule)
		}
	}
}

// TestOpusAfterOtherLogicalStreams: a Theora + Opus .ogv, a Skeleton track or a FLAC + Opus
// file puts another stream's BOS page before the Opus one's; the Opus stream is read whole and
// the other streams' pages, before, among and after its own, are skipped.
func TestOpusAfterOtherLogicalStreams(t *testing.T) {
	opus := readFixture(t, "a3_220hz.opus")
	want, wantHead := fixturePackets(t, opus)
	pages := splitPages(t, opus)
	const video, skeleton = 0x7ee0, 0x5e1e
	var f bytes.Buffer
	f.Write(foreignPage(skeleton, 0x02, 0, []byte("fishead\x00 skeleton header")))
	f.Write(foreignPage(video, 0x02, 0, []byte("\x80theora identification header")))
	f.Write(pages[0]) // OpusHead, the last BOS page
	f.Write(foreignPage(skeleton, 0x04, 1, nil))
	seq := uint32(1)
	for i, pg := range pages[1:] {
		if i%2 == 0 {
			f.Write(foreignPage(video, 0, seq, patterned(700, byte(i))))
			seq++
		}
		f.Write(pg)
	}
	f.Write(foreignPage(video, 0x04, seq, []byte("last frame")))
	r, err := NewPacketReader(&f)
	if err != nil {
		t.Fatalf("NewPacketReader: %v", err)
	}
	if r.Head() != wantHead {
		t.Fatalf("head %+v, want %+v", r.Head(), wantHead)
	}
	equalPackets(t, allPackets(t, r), want)
}

// TestNoOpusAmongTheStreams: a file whose BOS pages hold no OpusHead is refused as not Ogg
// Opus at its first page that is not a BOS page, not read to its end.
func TestNoOpusAmongTheStreams(t *testing.T) {
	var f bytes.Buffer
	f.Write(foreignPage(1, 0x02, 0, []byte("\x80theora")))
	f.Write(foreignPage(2, 0x02, 0, []byte("\x7fFLAC")))
	f.Write(foreignPage(1, 0, 1, []byte("frame")))
	_, err := NewPacketReader(&f)
	if !errors.Is(err, ErrNotOpus) {
		t.Fatalf("err = %v, want ErrNotOpus", err)
	}
	if f.Len() != 0 {
		t.Fatalf("%d bytes left unread: the reader should stop at the first page that is not a BOS page", f.Len())
	}
}

// TestChainedFileIsReadLinkByLink: `cat a.opus b.opus` (RFC 3533 §4 chaining) gives a's
// packets, ErrNewLink with b's head, then b's packets, then io.EOF.
func TestChainedFileIsReadLinkByLink(t *testing.T) {
	a, b := readFixture(t, "a3_220hz.opus"), readFixture(t, "celt_fb_stereo_128k.opus")
	wantA, headA := fixturePackets(t, a)
	wantB, headB := fixturePackets(t, b)
	if headA == headB {
		t.Fatal("fixtures with the same head: the test could not tell the links apart")
	}
	want := append(append(append([]readPacket(nil), wantA...), readPacket{nil, int64(headB.PreSkip)}), wantB...)
	want = append(want, readPacket{nil, int64(headA.PreSkip)})
	want = append(want, wantA...)
	r, err := NewPacketReader(bytes.NewReader(bytes.Join([][]byte{a, b, a}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Head() != headA {
		t.Fatalf("first head %+v, want %+v", r.Head(), headA)
	}
	got := allPackets(t, r)
	equalPackets(t, got, want)
	if r.Head() != headA {
		t.Fatalf("last head %+v, want %+v", r.Head(), headA)
	}
}

// TestChainedLinkWithOtherStreamsFirst: a later link may also have Opus after another
// stream's BOS page, and the ended link's other streams may go on after its Opus stream ends.
func TestChainedLinkWithOtherStreamsFirst(t *testing.T) {
	a, b := readFixture(t, "silk_wb_mono_16k.opus"), readFixture(t, "hybrid_fec_mono_32k.opus")
	wantA, _ := fixturePackets(t, a)
	wantB, headB := fixturePackets(t, b)
	var f bytes.Buffer
	f.Write(a)
	f.Write(foreignPage(0x77, 0x00, 9, []byte("the first link's video goes on")))
	f.Write(foreignPage(0x77, 0x04, 10, nil))
	f.Write(foreignPage(0x88, 0x02, 0, []byte("\x80theora")))
	f.Write(b)
	f.Write(foreignPage(0x88, 0x04, 1, []byte("frame")))
	r, err := NewPacketReader(&f)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]readPacket(nil), wantA...), readPacket{nil, int64(headB.PreSkip)}), wantB...)
	equalPackets(t, allPackets(t, r), want)
}

// TestBadChainedLinks: a later link that is not Opus, or whose headers are broken, is a clear
// error after the first link's packets, not a silent end of the file.
func TestBadChainedLinks(t *testing.T) {
	a := readFixture(t, "silk_wb_mono_16k.opus")
	wantA, _ := fixturePackets(t, a)
	w := newOggWriter(255)
	w.serial = 0x4242
	w.packet(opusHead(1, 0), 0, true)
	w.flush(0, true) // OpusHead and the end of the stream: no OpusTags
	noTags := w.buf.Bytes()
	w = newOggWriter(255)
	w.serial = 0x4343
	w.packet(opusHead(3, 0), 0, true) // family 0 with 3 channels
	badHead := w.buf.Bytes()
	var vorbis bytes.Buffer
	vorbis.Write(foreignPage(0x55, 0x02, 0, []byte("\x01vorbis")))
	vorbis.Write(foreignPage(0x55, 0x04, 1, []byte("\x03vorbis")))
	for _, c := range []struct {
		name string
		link []byte
		want error
	}{
		{"vorbis link", vorbis.Bytes(), ErrNotOpus},
		{"link without OpusTags", noTags, ErrMissingTags},
		{"link with a bad OpusHead", badHead, ErrNotOpus},
		{"link cut in its header", noTags[:40], io.ErrUnexpectedEOF},
	} {
		r, err := NewPacketReader(bytes.NewReader(append(bytes.Clone(a), c.link...)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range wantA {
			if p, _, err := r.Next(); err != nil || !bytes.Equal(p, wantA[i].data) {
				t.Fatalf("%s: packet %d: %v", c.name, i, err)
			}
		}
		if _, _, err := r.Next(); !errors.Is(err, c.want) || errors.Is(err, ErrNewLink) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

// withoutEndOfStream returns an Ogg Opus file with its last page's end-of-stream flag cleared
// (a recorder killed before it wrote the flag, a tool that leaves it out).
func withoutEndOfStream(t testing.TB, data []byte) []byte {
	t.Helper()
	out := bytes.Clone(data)
	pages := splitPages(t, out)
	last := pages[len(pages)-1]
	if last[5]&0x04 == 0 {
		t.Fatal("the fixture's last page has no end-of-stream flag to clear")
	}
	last[5] &^= 0x04
	binary.LittleEndian.PutUint32(last[22:], PageChecksum(last))
	return out
}

// TestChainedLinkWithoutEndOfStream: a link whose last page lacks the end-of-stream flag ends
// where the next link's OpusHead BOS page begins, as a link with the flag does (ErrNewLink,
// then the new link's packets), instead of the next links' pages being skipped as another
// logical stream's; also when the next link reuses the serial number (the same file twice).
func TestChainedLinkWithoutEndOfStream(t *testing.T) {
	a, b := readFixture(t, "a3_220hz.opus"), readFixture(t, "celt_fb_stereo_128k.opus")
	wantA, headA := fixturePackets(t, a)
	wantB, headB := fixturePackets(t, b)
	noEOSA, noEOSB := withoutEndOfStream(t, a), withoutEndOfStream(t, b)
	newLink := func(h Head) readPacket { return readPacket{nil, int64(h.PreSkip)} }
	var want []readPacket
	for _, part := range [][]readPacket{wantA, {newLink(headB)}, wantB, {newLink(headA)}, wantA, {newLink(headA)}, wantA} {
		want = append(want, part...)
	}
	r, err := NewPacketReader(bytes.NewReader(bytes.Join([][]byte{noEOSA, noEOSB, noEOSA, a}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	equalPackets(t, allPackets(t, r), want)
}

// TestTwoMultiplexedOpusStreamsReadTheFirst: two Opus streams multiplexed in one link (both
// BOS pages first, then their pages interleaved) are not a chain: the first is read whole and
// the second's pages, its OpusHead BOS page included, are skipped.
func TestTwoMultiplexedOpusStreamsReadTheFirst(t *testing.T) {
	a, b := readFixture(t, "a3_220hz.opus"), withoutEndOfStream(t, readFixture(t, "silk_wb_mono_16k.opus"))
	want, headA := fixturePackets(t, a)
	pa, pb := splitPages(t, a), splitPages(t, b)
	if binary.LittleEndian.Uint32(pa[0][14:]) == binary.LittleEndian.Uint32(pb[0][14:]) {
		t.Fatal("fixtures with the same serial number")
	}
	var f bytes.Buffer
	f.Write(pa[0])
	f.Write(pb[0])
	for i := 1; i < max(len(pa), len(pb)); i++ {
		if i < len(pa) {
			f.Write(pa[i])
		}
		if i < len(pb) {
			f.Write(pb[i])
		}
	}
	r, err := NewPacketReader(&f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Head() != headA {
		t.Fatalf("head %+v, want the first stream's %+v", r.Head(), headA)
	}
	equalPackets(t, allPackets(t, r), want)
}

// TestLinkWithoutOpusAfterALinkWithoutEndOfStream: after a link without its end-of-stream page,
// a link that is not Opus (another stream's BOS page, then that stream to the end of the file)
// is the error it is after a link that has the flag, once the file ends without another page of
// the Opus stream, not a silent end; the Opus link's packets come first.
func TestLinkWithoutOpusAfterALinkWithoutEndOfStream(t *testing.T) {
	a := readFixture(t, "silk_wb_mono_16k.opus")
	wantA, _ := fixturePackets(t, a)
	var vorbis bytes.Buffer
	vorbis.Write(foreignPage(0x55, 0x02, 0, []byte("\x01vorbis")))
	vorbis.Write(foreignPage(0x55, 0x00, 1, []byte("\x03vorbis")))
	vorbis.Write(foreignPage(0x55, 0x04, 2, []byte("\x05vorbis")))
	for name, file := range map[string][]byte{
		"vorbis link":          append(withoutEndOfStream(t, a), vorbis.Bytes()...),
		"vorbis BOS page only": append(withoutEndOfStream(t, a), foreignPage(0x55, 0x02, 0, []byte("\x01vorbis"))...),
	} {
		r, err := NewPacketReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		for i := range wantA {
			if p, _, err := r.Next(); err != nil || !bytes.Equal(p, wantA[i].data) {
				t.Fatalf("%s: packet %d: %v", name, i, err)
			}
		}
		if _, _, err := r.Next(); !errors.Is(err, ErrNotOpus) {
			t.Errorf("%s: err = %v, want ErrNotOpus", name, err)
		}
	}
}
