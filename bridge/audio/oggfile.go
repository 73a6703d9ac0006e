package audio

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
)

// DefaultMaxFileSamples bounds DecodeOggOpus's output: 10 minutes per channel at 48 kHz.
const DefaultMaxFileSamples = 10 * 60 * SampleRate

// ErrFileTooLong indicates an Ogg Opus file longer than the caller's sample limit.
var ErrFileTooLong = errors.New("audio: file longer than the sample limit")

// DecodeOggOpus decodes a whole Ogg Opus stream (for `ledbridge analyze` and tests) to
// interleaved float32 PCM at 48 kHz with channels channels (1 downmixes stereo), exactly as
// opusdec does: the OpusHead pre-skip is dropped, the output gain applied, and the end
// trimmed to the last granule position. maxSamples (per channel; 0 means
// DefaultMaxFileSamples) bounds memory. A corrupt packet is an error, not concealed.
func DecodeOggOpus(r io.Reader, channels, maxSamples int) ([]float32, ogg.Head, error) {
	if maxSamples <= 0 {
		maxSamples = DefaultMaxFileSamples
	}
	pr, err := ogg.NewPacketReader(r)
	if err != nil {
		return nil, ogg.Head{}, fmt.Errorf("decode ogg opus: %w", err)
	}
	head := pr.Head()
	if head.MappingFamily != 0 {
		return nil, head, fmt.Errorf("decode ogg opus: channel mapping family %d: %w", head.MappingFamily, ErrUnsupportedCodec)
	}
	dec, err := NewDecoder(MimeTypeOpus, channels)
	if err != nil {
		return nil, head, fmt.Errorf("decode ogg opus: %w", err)
	}
	pcm := make([]float32, MaxPacketSamples*channels)
	var out []float32
	total := 0
	// lastGranule counts decoded samples: the granule position less the stream's start.
	lastGranule, startGranule := int64(-1), ogg.StartGranuleUnknown
	for i := 0; ; i++ {
		pkt, granule, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, head, fmt.Errorf("decode ogg opus: packet %d: %w", i, err)
		}
		n, err := dec.Decode(pkt, pcm)
		if err != nil {
			return nil, head, fmt.Errorf("decode ogg opus: packet %d: %w", i, err)
		}
		if total+n > maxSamples+head.PreSkip {
			return nil, head, fmt.Errorf("decode ogg opus: %w (%d samples)", ErrFileTooLong, maxSamples)
		}
		out = append(out, pcm[:n*channels]...)
		total += n
		if granule >= 0 {
			startGranule = ogg.StartGranule(startGranule, granule, int64(total))
			lastGranule = granule - startGranule
		}
	}
	end := total
	if lastGranule >= 0 && lastGranule < int64(end) {
		end = int(lastGranule) // the encoder's padding after the real end
	}
	start := min(head.PreSkip, end)
	out = out[start*channels : end*channels]
	if head.OutputGain != 0 {
		g := float32(math.Pow(10, float64(head.OutputGain)/(20*256)))
		for i := range out {
			out[i] *= g
		}
		sanitize(out)
	}
	return out, head, nil
}
