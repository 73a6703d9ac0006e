package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// oggPage is one page of an Ogg file, split so a test can edit it; joinOggPages puts the pages
// back together with their lacing counts and checksums recomputed.
type oggPage struct {
	hdr    [27]byte
	lacing []byte
	body   []byte
}

func (p *oggPage) granule() int64     { return int64(binary.LittleEndian.Uint64(p.hdr[6:14])) }
func (p *oggPage) setGranule(g int64) { binary.LittleEndian.PutUint64(p.hdr[6:14], uint64(g)) }

func splitOggPages(t testing.TB, data []byte) []oggPage {
	t.Helper()
	var pages []oggPage
	for off := 0; off < len(data); {
		if len(data)-off < 27 || string(data[off:off+4]) != "OggS" {
			t.Fatalf("no Ogg page at byte %d", off)
		}
		var p oggPage
		copy(p.hdr[:], data[off:])
		nsegs := int(p.hdr[26])
		p.lacing = bytes.Clone(data[off+27 : off+27+nsegs])
		size := 0
		for _, l := range p.lacing {
			size += int(l)
		}
		start := off + 27 + nsegs
		p.body = bytes.Clone(data[start : start+size])
		pages = append(pages, p)
		off = start + size
	}
	return pages
}

func joinOggPages(pages []oggPage) []byte {
	var out []byte
	for _, p := range pages {
		start := len(out)
		p.hdr[26] = byte(len(p.lacing))
		binary.LittleEndian.PutUint32(p.hdr[22:], 0)
		out = append(out, p.hdr[:]...)
		out = append(out, p.lacing...)
		out = append(out, p.body...)
		binary.LittleEndian.PutUint32(out[start+22:], oggCRC(out[start:]))
	}
	return out
}

// oggCRC is the Ogg page checksum: CRC-32, polynomial 0x04c11db7, MSB first, no final xor.
func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc ^= uint32(c) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decodeOggOpus(t testing.TB, data []byte, channels int) []float32 {
	t.Helper()
	pcm, _, err := DecodeOggOpus(bytes.NewReader(data), channels, 0)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

func requireSamePCM(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: sample %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestDecodeOggOpusStreamStartingMidway: a stream cut from a live one starts at a non-zero
// granule position (RFC 7845 §4.5): the first page's granule position less the samples of its
// packets is the start, and the last page's granule position counts from there. Shifting every
// granule position of a fixture by an hour and a bit must decode to the same samples, the
// last packet's padding trimmed; it used to be kept (the end granule looked past the end).
func TestDecodeOggOpusStreamStartingMidway(t *testing.T) {
	const shift = 3600*SampleRate + 123
	for _, c := range []struct {
		name     string
		channels int
	}{{"a3_220hz.opus", 1}, {"celt_fb_stereo_128k.opus", 2}, {"celt_fb_stereo_128k.opus", 1}} {
		data := readFixture(t, c.name)
		pages := splitOggPages(t, data)
		shifted := 0
		for i := range pages {
			if g := pages[i].granule(); g > 0 { // not the headers (0), nor a page without a packet end (-1)
				pages[i].setGranule(g + shift)
				shifted++
			}
		}
		if shifted < 2 {
			t.Fatalf("%s: only %d audio pages", c.name, shifted)
		}
		want := decodeOggOpus(t, data, c.channels)
		got := decodeOggOpus(t, joinOggPages(pages), c.channels)
		requireSamePCM(t, fmt.Sprintf("%s, %d ch, granule positions + %d", c.name, c.channels, shift), got, want)
	}
}
