package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
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

// setPacket makes the page hold exactly one whole packet.
func (p *oggPage) setPacket(pkt []byte) {
	p.body = bytes.Clone(pkt)
	p.lacing = p.lacing[:0]
	for n := len(pkt); ; n -= 255 {
		p.lacing = append(p.lacing, byte(min(n, 255)))
		if n < 255 {
			return
		}
	}
}

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
		binary.LittleEndian.PutUint32(out[start+22:], ogg.PageChecksum(out[start:]))
	}
	return out
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
	pcm, _, err := decodeWholeOggOpus(bytes.NewReader(data), channels, 0)
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

// withChannelMapping returns the Ogg Opus file with its OpusHead rewritten to the given channel
// count, mapping family and table (stream count, coupled count, one mapping byte per channel).
func withChannelMapping(t testing.TB, data []byte, channels int, family byte, table ...byte) []byte {
	t.Helper()
	pages := splitOggPages(t, data)
	head := pages[0].body
	if len(pages[0].lacing) != 1 || !bytes.HasPrefix(head, []byte("OpusHead")) || len(head) != 19 {
		t.Fatal("the first page is not a lone family 0 OpusHead")
	}
	head = bytes.Clone(head)
	head[9], head[18] = byte(channels), family
	pages[0].setPacket(append(head, table...))
	return joinOggPages(pages)
}

// TestDecodeOggOpusChannelMappingFamily1: RFC 7845 lets a mono or stereo file use channel
// mapping family 1 with one stream (some encoders write it); it decodes like family 0 with
// the table honoured (channels swapped, one duplicated, one silent, a decoded channel left
// out), exactly the samples the family 0 original gives, rearranged. These used to be refused
// as multistream; what needs a multistream decoder, or a stereo downmix of a wider layout,
// still is, in one line.
func TestDecodeOggOpusChannelMappingFamily1(t *testing.T) {
	mono, stereo := readFixture(t, "a3_220hz.opus"), readFixture(t, "celt_fb_stereo_128k.opus")
	monoPCM := decodeOggOpus(t, mono, 1)
	stereoPCM := decodeOggOpus(t, stereo, 2)
	stereoAsMono := decodeOggOpus(t, stereo, 1)
	// frames builds the expected interleaved output from the original's per-frame samples.
	frames := func(n, channels int, f func(i int) []float32) []float32 {
		out := make([]float32, 0, n*channels)
		for i := range n {
			out = append(out, f(i)...)
		}
		return out
	}
	nm, ns := len(monoPCM), len(stereoPCM)/2
	third := float32(1) / 3
	for _, c := range []struct {
		name     string
		file     []byte
		channels int
		want     []float32
	}{
		{"mono stream, mono table", withChannelMapping(t, mono, 1, 1, 1, 0, 0), 1, monoPCM},
		{"mono stream, mono table, as stereo", withChannelMapping(t, mono, 1, 1, 1, 0, 0), 2,
			frames(nm, 2, func(i int) []float32 { return []float32{monoPCM[i], monoPCM[i]} })},
		{"mono stream in both channels", withChannelMapping(t, mono, 2, 1, 1, 0, 0, 0), 1, monoPCM},
		{"mono stream, right silent", withChannelMapping(t, mono, 2, 1, 1, 0, 0, 255), 2,
			frames(nm, 2, func(i int) []float32 { return []float32{monoPCM[i], 0} })},
		{"mono stream, right silent, as mono", withChannelMapping(t, mono, 2, 1, 1, 0, 0, 255), 1,
			frames(nm, 1, func(i int) []float32 { return []float32{monoPCM[i] * 0.5} })},
		{"stereo stream, stereo table", withChannelMapping(t, stereo, 2, 1, 1, 1, 0, 1), 2, stereoPCM},
		{"stereo stream, stereo table, as mono", withChannelMapping(t, stereo, 2, 1, 1, 1, 0, 1), 1, stereoAsMono},
		{"stereo stream, channels swapped", withChannelMapping(t, stereo, 2, 1, 1, 1, 1, 0), 2,
			frames(ns, 2, func(i int) []float32 { return []float32{stereoPCM[2*i+1], stereoPCM[2*i]} })},
		{"stereo stream, channels swapped, as mono", withChannelMapping(t, stereo, 2, 1, 1, 1, 1, 0), 1, stereoAsMono},
		{"stereo stream, left only", withChannelMapping(t, stereo, 1, 1, 1, 1, 0), 1,
			frames(ns, 1, func(i int) []float32 { return []float32{stereoPCM[2*i]} })},
		{"stereo stream, right in both", withChannelMapping(t, stereo, 2, 1, 1, 1, 1, 1), 2,
			frames(ns, 2, func(i int) []float32 { return []float32{stereoPCM[2*i+1], stereoPCM[2*i+1]} })},
		{"stereo stream as L, C (silent), R, as mono", withChannelMapping(t, stereo, 3, 1, 1, 1, 0, 255, 1), 1,
			frames(ns, 1, func(i int) []float32 { return []float32{third*stereoPCM[2*i] + third*stereoPCM[2*i+1]} })},
	} {
		requireSamePCM(t, fmt.Sprintf("%s (%d ch)", c.name, c.channels), decodeOggOpus(t, c.file, c.channels), c.want)
	}

	for _, c := range []struct {
		name     string
		file     []byte
		channels int
		want     error
		says     string
	}{
		{"two streams", withChannelMapping(t, stereo, 2, 1, 2, 0, 0, 1), 1, ErrUnsupportedCodec, "2 Opus streams per packet (channel mapping family 1, 2 channels) need a multistream decoder"},
		{"5.1", withChannelMapping(t, stereo, 6, 1, 4, 2, 0, 4, 1, 2, 3, 5), 1, ErrUnsupportedCodec, "multistream decoder"},
		{"three channels to stereo", withChannelMapping(t, stereo, 3, 1, 1, 1, 0, 255, 1), 2, ErrUnsupportedCodec, "no stereo downmix"},
		{"ambisonics", withChannelMapping(t, mono, 1, 2, 1, 0, 0), 1, ErrUnsupportedCodec, "family 2"},
		{"mapping past the stream's channels", withChannelMapping(t, mono, 2, 1, 1, 0, 0, 1), 1, ogg.ErrNotOpus, "decoded channel 1"},
		{"more coupled than streams", withChannelMapping(t, stereo, 2, 1, 1, 2, 0, 1), 1, ogg.ErrNotOpus, "coupled"},
	} {
		_, _, err := decodeWholeOggOpus(bytes.NewReader(c.file), c.channels, 0)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want %v saying %q on one line", c.name, err, c.want, c.says)
		}
	}
}

// TestChannelMappingFamily1MatchesOpusdec: libopus (opusdec, Debian's opus-tools, which CI
// installs for bridge/audio) reads the same hand-made family 1 files, and OggOpusReader agrees
// with it to the decoder's usual accuracy: the tables mean what this package takes them to.
func TestChannelMappingFamily1MatchesOpusdec(t *testing.T) {
	opusdec, err := exec.LookPath("opusdec")
	if err != nil {
		requireOrSkip(t, "opusdec (Debian package opus-tools) is not installed")
		return
	}
	mono, stereo := readFixture(t, "a3_220hz.opus"), readFixture(t, "celt_fb_stereo_128k.opus")
	for _, c := range []struct {
		name     string
		file     []byte
		channels int // opusdec writes the OpusHead's channel count
	}{
		{"mono stream, mono table", withChannelMapping(t, mono, 1, 1, 1, 0, 0), 1},
		{"mono stream, right silent", withChannelMapping(t, mono, 2, 1, 1, 0, 0, 255), 2},
		{"stereo stream, channels swapped", withChannelMapping(t, stereo, 2, 1, 1, 1, 1, 0), 2},
		{"stereo stream, left only", withChannelMapping(t, stereo, 1, 1, 1, 1, 0), 1},
	} {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.opus"), filepath.Join(dir, "out.f32")
		if err := os.WriteFile(in, c.file, 0o600); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command(opusdec, "--quiet", "--float", "--rate", "48000", in, out).CombinedOutput(); err != nil {
			t.Fatalf("%s: opusdec: %v: %s", c.name, err, msg)
		}
		want := readF32(t, out)
		got := decodeOggOpus(t, c.file, c.channels)
		if len(got) != len(want) {
			t.Fatalf("%s: %d samples, opusdec %d", c.name, len(got), len(want))
		}
		if snr := snrDB(want, got); snr < 100 {
			t.Errorf("%s: SNR %.1f dB against opusdec", c.name, snr)
		}
	}
}

// TestOggOpusDecoderMappingAllocatesNothing: applying a channel mapping table (the weighted
// path: here the stereo stream's channels swapped, and a left channel alone) allocates nothing
// per packet once the decoder is warm.
func TestOggOpusDecoderMappingAllocatesNothing(t *testing.T) {
	pkts, _ := readOpusPackets(t, "celt_fb_stereo_128k.opus")
	for _, c := range []struct {
		channels int
		mapping  []byte
	}{{2, []byte{1, 0}}, {1, []byte{0}}} {
		head := ogg.Head{Channels: len(c.mapping), MappingFamily: 1, StreamCount: 1, CoupledCount: 1}
		copy(head.Mapping[:], c.mapping)
		dec, err := NewOggOpusDecoder(head, c.channels)
		if err != nil {
			t.Fatal(err)
		}
		if dec.weights == nil {
			t.Fatalf("mapping %v to %d ch: the plain decoder, not the mapping path", c.mapping, c.channels)
		}
		pcm := make([]float32, MaxPacketSamples*c.channels)
		i := 0
		decode := func() {
			if _, err := dec.Decode(pkts[i%len(pkts)], pcm); err != nil {
				t.Fatal(err)
			}
			i++
		}
		for range len(pkts) {
			decode()
		}
		if a := testing.AllocsPerRun(len(pkts), decode); a != 0 {
			t.Errorf("mapping %v to %d ch: %.3f allocs per packet", c.mapping, c.channels, a)
		}
	}
}
