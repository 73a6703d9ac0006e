package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
	"github.com/ledbridge/ledbridge/bridge/audio/ogg/oggtest"
)

// A page whose header has no granule position (-1) ends no packet, so a stream of such pages is
// invalid; holding back "the page" until its granule is known then held the whole file: 79 KB of
// 120 ms packets made 2 GB. At most one page's packets are held back: past that, the samples go
// on untrimmed.
func TestOggOpusReaderHoldsAtMostOnePage(t *testing.T) {
	head := []byte("OpusHead\x01\x02")
	head = binary.LittleEndian.AppendUint16(head, 312)
	head = binary.LittleEndian.AppendUint32(head, SampleRate)
	head = append(head, 0, 0, 0)
	tags := binary.LittleEndian.AppendUint32([]byte("OpusTags"), 4)
	tags = binary.LittleEndian.AppendUint32(append(tags, "test"...), 0)
	file := append(oggtest.Page(t, 7, 0x02, 0, 0, head), oggtest.Page(t, 7, 0, 1, 0, tags)...)
	packets := make([][]byte, 255)
	for i := range packets {
		packets[i] = []byte{0xFB, 6} // CELT 20 ms stereo, code 3: six empty frames, 120 ms
	}
	const pages = 8
	for seq := uint32(2); seq < 2+pages; seq++ {
		file = append(file, oggtest.Page(t, 7, 0, seq, -1, packets...)...)
	}
	r, err := NewOggOpusReader(bytes.NewReader(file), 1)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 4096)
	var total, held int
	for {
		n, err := r.Read(dst)
		total += n
		held = max(held, cap(r.page))
		if err != nil {
			break
		}
	}
	if want := pages * 255 * 6 * 960; total < want-312 {
		t.Errorf("read %d samples, want the %d the packets hold (less the pre-skip)", total, want)
	}
	// One page's samples, and the headroom append's growth leaves above them.
	if limit := 2 * 256 * MaxPacketSamples; held > limit {
		t.Errorf("held %d samples (%.0f MB) at once, want at most one page's, %d with growth headroom", held, float64(held)*4/1e6, limit)
	}
}

// maxFileSamples bounds decodeWholeOggOpus's output: 10 minutes per channel at 48 kHz.
const maxFileSamples = 10 * 60 * SampleRate

// errFileTooLong is decodeWholeOggOpus's error for a file longer than its sample limit.
var errFileTooLong = errors.New("audio: file longer than the sample limit")

// decodeWholeOggOpus reads a whole Ogg Opus stream with OggOpusReader, channels channels
// interleaved, and returns it with the first link's header. maxSamples (per channel; 0 means
// maxFileSamples) bounds memory.
func decodeWholeOggOpus(r io.Reader, channels, maxSamples int) ([]float32, ogg.Head, error) {
	if maxSamples <= 0 {
		maxSamples = maxFileSamples
	}
	or, err := NewOggOpusReader(r, channels)
	if err != nil {
		return nil, ogg.Head{}, fmt.Errorf("decode ogg opus: %w", err)
	}
	head := or.Head()
	var out []float32
	buf := make([]float32, MaxPacketSamples*channels)
	for {
		n, err := or.Read(buf)
		out = append(out, buf[:n]...)
		if len(out) > maxSamples*channels {
			return nil, head, fmt.Errorf("decode ogg opus: %w (%d samples)", errFileTooLong, maxSamples)
		}
		if errors.Is(err, io.EOF) {
			return out, head, nil
		}
		if err != nil {
			return nil, head, fmt.Errorf("decode ogg opus: %w", err)
		}
	}
}
