package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/audio/ogg/oggtest"
	"github.com/thesyncim/gopus"
)

// encodeOggOpus encodes seconds of a 440 Hz tone with gopus in frames of frameSize samples and
// lays the packets perPage to a page, as opusenc --framesize does: the last page's granule
// position marks the end of the tone (the rest of the last packet is padding), less trim
// samples (the reviewer's "granule lowered by 1000"), and the page is flagged end-of-stream
// when eos.
func encodeOggOpus(t testing.TB, serial uint32, seconds float64, frameSize, perPage int, trim int64, eos bool) []byte {
	t.Helper()
	const preSkip = 312
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: audio.SampleRate, Channels: 1, Application: gopus.ApplicationRestrictedCelt})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetFrameSize(frameSize); err != nil {
		t.Fatal(err)
	}
	head := []byte("OpusHead\x01\x01")
	head = binary.LittleEndian.AppendUint16(head, preSkip)
	head = binary.LittleEndian.AppendUint32(head, audio.SampleRate)
	head = append(head, 0, 0, 0) // output gain 0, mapping family 0
	tags := binary.LittleEndian.AppendUint32([]byte("OpusTags"), 4)
	tags = binary.LittleEndian.AppendUint32(append(tags, "test"...), 0)
	file := append(oggtest.Page(t, serial, 0x02, 0, 0, head), oggtest.Page(t, serial, 0, 1, 0, tags)...)
	samples := int64(math.Round(seconds * audio.SampleRate))
	frames := int((samples + preSkip + int64(frameSize) - 1) / int64(frameSize))
	pcm := make([]float32, frameSize)
	var page [][]byte
	granule, seq := int64(0), uint32(2)
	for f := range frames {
		for i := range pcm {
			pcm[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(f*frameSize+i)/audio.SampleRate))
		}
		pkt := make([]byte, 1500)
		n, err := enc.Encode(pcm, pkt)
		if err != nil {
			t.Fatal(err)
		}
		page = append(page, pkt[:n])
		granule += int64(frameSize)
		if last := f == frames-1; last || len(page) == perPage {
			flags := byte(0)
			g := granule
			if last {
				g = preSkip + samples - trim
				if eos {
					flags = 0x04
				}
			}
			file = append(file, oggtest.Page(t, serial, flags, seq, g, page...)...)
			page, seq = page[:0], seq+1
		}
	}
	return file
}

// TestAnalyzeTrimsTheEndAcrossPackets: end trimming may reach back over several packets of the
// last page (2.5 ms packets, 1000 samples trimmed); the samples analysed are exactly those
// audio.OggOpusReader (opusdec's rules, read whole) gives, not those of every packet but the last one.
func TestAnalyzeTrimsTheEndAcrossPackets(t *testing.T) {
	for _, c := range []struct {
		frameSize, perPage int
		trim               int64
	}{
		// 1 s and the 312-sample pre-skip in 120-sample packets: 403 of them, the last page
		// 201 packets; in 240: 202 packets; in 480: 101, the last page 50 packets.
		{120, 202, 1000}, // 8⅓ packets of the last page, as in the review
		{240, 50, 0},     // the last packet's padding only
		{480, 51, 480 * 6},
		{120, 135, 3000}, // 25 of the last page's 133 packets
	} {
		file := encodeOggOpus(t, 0x1e57, 1, c.frameSize, c.perPage, c.trim, true)
		want, err := decodeOggOpus(file, 1)
		if err != nil {
			t.Fatal(err)
		}
		src, err := openAudio(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("frame %d, %d per page, trim %d: %d samples", c.frameSize, c.perPage, c.trim, len(want))
		requireSamePCM(t, readAllPCM(t, src), want)
	}
}

// TestAnalyzeChainedLinkWithoutEndOfStream: `cat noeos.opus b.opus`, the first link's last page
// without its end-of-stream flag, is both links' audio, each decoded (and end-trimmed) as it
// would be alone, not the first link's and a silent stop.
func TestAnalyzeChainedLinkWithoutEndOfStream(t *testing.T) {
	first := encodeOggOpus(t, 0xa, 1, 960, 50, 0, false)
	second := encodeOggOpus(t, 0xb, 1.5, 480, 40, 0, true)
	again := encodeOggOpus(t, 0xa, 0.5, 120, 100, 0, false) // the first one's serial, no EOS either
	links := [][]byte{first, second, first, again}
	src, err := openAudio(bytes.NewReader(bytes.Join(links, nil)))
	if err != nil {
		t.Fatal(err)
	}
	requireSamePCM(t, readAllPCM(t, src), decodeEach(t, links...))
}

// TestAnalyzeTrimsTheEndBeforeABadLink: an Opus link followed by one that cannot be read (a
// Vorbis link) gives the Opus link's frames, its end trimmed as at the end of the file (60
// frames for 1 s, not 61 with the encoder's padding), then the one error line and exit 1.
func TestAnalyzeTrimsTheEndBeforeABadLink(t *testing.T) {
	opus := encodeOggOpus(t, 0xc, 1, 960, 50, 0, true)
	want, err := decodeOggOpus(opus, 1)
	if err != nil {
		t.Fatal(err)
	}
	frameLen := audio.SampleRate / 60
	wantFrames := (len(want) + frameLen - 1) / frameLen
	vorbis := append(otherStreamPage(0x55, 0x02, 0, []byte("\x01vorbis")), otherStreamPage(0x55, 0x04, 1, []byte("\x05vorbis"))...)
	for name, file := range map[string][]byte{
		"vorbis link":         append(bytes.Clone(opus), vorbis...),
		"opus link cut short": append(bytes.Clone(opus), encodeOggOpus(t, 0xd, 1, 960, 50, 0, true)[:300]...),
		"vorbis link after a link without end-of-stream": append(encodeOggOpus(t, 0xc, 1, 960, 50, 0, false), vorbis...),
	} {
		path := filepath.Join(t.TempDir(), "chained.ogg")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(buildBinary(t), "analyze", path)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("%s: exit status %d, want 1", name, code)
		}
		if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 {
			t.Errorf("%s: want one line on stderr, got %q", name, stderr.String())
		}
		if got := strings.Count(stdout.String(), "\n"); got != wantFrames {
			t.Errorf("%s: %d frames before the error, want %d (%d samples, the Opus link's end trimmed)", name, got, wantFrames, len(want))
		}
	}
}

// TestOggOpusReaderAllocatesNothingPerFrame: holding a page's samples back costs one buffer,
// grown to a page's worth on the first pages and reused; reading frame after frame allocates
// nothing.
func TestOggOpusReaderAllocatesNothingPerFrame(t *testing.T) {
	file := encodeOggOpus(t, 0xe, 3, 120, 100, 0, true) // pages of 100 packets, 12000 samples
	src, err := openAudio(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]float32, audio.SampleRate/60)
	for range 30 { // the first pages: the buffer grows to a page
		if _, err := readFull(src, frame); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := readFull(src, frame); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per frame", allocs)
	}
}
