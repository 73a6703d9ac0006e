package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
)

// Ogg files with more than one logical stream: a chained file (`cat a.opus b.opus`) and Opus
// multiplexed after a video track. They are built from the checked-in opusenc fixtures.

func readOpusFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata/opus", name))
	if err != nil {
		requireOrSkip(t, "fixture "+name+" not present: "+err.Error())
	}
	return data
}

// otherStreamPage is a one-packet Ogg page of a logical stream that is not Opus.
func otherStreamPage(serial uint32, flags byte, seq uint32, pkt []byte) []byte {
	p := make([]byte, 27, 28+len(pkt))
	copy(p, "OggS")
	p[5] = flags
	binary.LittleEndian.PutUint32(p[14:], serial)
	binary.LittleEndian.PutUint32(p[18:], seq)
	p[26] = 1
	p = append(append(p, byte(len(pkt))), pkt...) // len(pkt) < 255 here
	binary.LittleEndian.PutUint32(p[22:], ogg.PageChecksum(p))
	return p
}

// decodeEach is what opusdec's rules give for each file alone, one after the other.
func decodeEach(t *testing.T, files ...[]byte) []float32 {
	t.Helper()
	var want []float32
	for _, f := range files {
		pcm, err := decodeOggOpus(f, 1)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, pcm...)
	}
	return want
}

func requireSamePCM(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d (each link decoded alone)", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d is %v, want %v", i, got[i], want[i])
		}
	}
}

// TestAnalyzeChainedOggOpus: a chained file is every link's audio, one after the other, each
// link decoded as it would be alone (its own channels, pre-skip, output gain and end
// trimming), not the first link's and a silent stop.
func TestAnalyzeChainedOggOpus(t *testing.T) {
	a3 := readOpusFixture(t, "a3_220hz.opus")
	stereo := readOpusFixture(t, "celt_fb_stereo_128k.opus")
	louder := withOutputGain(t, readOpusFixture(t, "silk_wb_mono_16k.opus"), 3*256)
	links := [][]byte{a3, stereo, louder, a3}
	src, err := openAudio(bytes.NewReader(bytes.Join(links, nil)))
	if err != nil {
		t.Fatal(err)
	}
	requireSamePCM(t, readAllPCM(t, src), decodeEach(t, links...))
}

// TestAnalyzeOggOpusAfterAVideoStream: a Theora + Opus .ogv puts the video's BOS page first;
// the Opus stream is analysed whole and the video's pages skipped.
func TestAnalyzeOggOpusAfterAVideoStream(t *testing.T) {
	a3 := readOpusFixture(t, "a3_220hz.opus")
	const video = 0xfeed
	var f bytes.Buffer
	f.Write(otherStreamPage(video, 0x02, 0, []byte("\x80theora identification header")))
	seq := uint32(1)
	for pos := 0; pos < len(a3); seq++ {
		end := pos + 27 + int(a3[pos+26])
		for _, l := range a3[pos+27 : end] {
			end += int(l)
		}
		f.Write(a3[pos:end])
		if pos > 0 { // the video's data pages come after every BOS page
			f.Write(otherStreamPage(video, 0, seq, bytes.Repeat([]byte{byte(seq)}, 200)))
		}
		pos = end
	}
	f.Write(otherStreamPage(video, 0x04, seq, nil))
	src, err := openAudio(&f)
	if err != nil {
		t.Fatal(err)
	}
	requireSamePCM(t, readAllPCM(t, src), decodeEach(t, a3))
}

// TestAnalyzeBadChainedLinkExitsOneWithOneLine: a chained file whose later link cannot be read
// (a surround link, a Vorbis link) fails with one line and exit status 1 after the frames
// of the first link, rather than stopping there as if the file had ended.
func TestAnalyzeBadChainedLinkExitsOneWithOneLine(t *testing.T) {
	a3 := readOpusFixture(t, "a3_220hz.opus")
	stereo := readOpusFixture(t, "celt_fb_stereo_128k.opus")
	vorbis := append(otherStreamPage(0x55, 0x02, 0, []byte("\x01vorbis")), otherStreamPage(0x55, 0x04, 1, []byte("\x05vorbis"))...)
	bin := buildBinary(t)
	for name, c := range map[string]struct {
		link []byte
		says string
	}{
		"two-stream link": {withChannelMapping(t, stereo, 2, 1, 2, 0, 0, 1), "multistream decoder"},
		"vorbis link":     {vorbis, "not Ogg Opus"},
	} {
		path := filepath.Join(t.TempDir(), "chained.opus")
		if err := os.WriteFile(path, append(bytes.Clone(a3), c.link...), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "analyze", path)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("%s: exit status %d, want 1", name, code)
		}
		if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.Contains(stderr.String(), c.says) {
			t.Errorf("%s: want one line on stderr saying %q, got %q", name, c.says, stderr.String())
		}
	}
}

// decodeOggOpus decodes a whole Ogg Opus file with audio.OggOpusReader, channels (1 or 2)
// channels interleaved: what analyze's frames must be made of.
func decodeOggOpus(file []byte, channels int) ([]float32, error) {
	r, err := audio.NewOggOpusReader(bytes.NewReader(file), channels)
	if err != nil {
		return nil, err
	}
	var pcm []float32
	buf := make([]float32, audio.MaxPacketSamples*channels)
	for {
		n, err := r.Read(buf)
		pcm = append(pcm, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return pcm, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
