package audio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

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
// DefaultMaxFileSamples) bounds memory. A corrupt packet is an error, not concealed. The
// streams it decodes are those NewOggOpusDecoder takes.
func DecodeOggOpus(r io.Reader, channels, maxSamples int) ([]float32, ogg.Head, error) {
	if maxSamples <= 0 {
		maxSamples = DefaultMaxFileSamples
	}
	pr, err := ogg.NewPacketReader(r)
	if err != nil {
		return nil, ogg.Head{}, fmt.Errorf("decode ogg opus: %w", err)
	}
	head := pr.Head()
	dec, err := NewOggOpusDecoder(head, channels)
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

// OggOpusDecoder decodes the packets of an Ogg Opus stream made of one Opus stream to
// interleaved PCM at 48 kHz, honouring the OpusHead's channel mapping table. It is not safe
// for concurrent use.
type OggOpusDecoder struct {
	dec      Decoder
	channels int
	// weights[j][d] is how much decoded channel d contributes to output channel j; nil when
	// dec already produces the output channels (family 0, and every table that amounts to it).
	weights [][2]float32
	decoded []float32 // the stream's own channels, when weights is set
}

// NewOggOpusDecoder returns a decoder for the stream head describes, producing channels
// (1 or 2) channels. It takes channel mapping family 0 and family 1 (RFC 7845 §5.1.1.2) with a
// stream count of 1, which some encoders write for mono and stereo: output channel c plays
// decoded channel head.Mapping[c] or silence, then the output channels are averaged to mono,
// or, for stereo, mono is duplicated. Stereo output from a family 1 layout of more than two
// channels, and more than one stream (surround), which needs a multistream decoder, are
// ErrUnsupportedCodec; so are the ambisonics families and family 255.
func NewOggOpusDecoder(head ogg.Head, channels int) (*OggOpusDecoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("new Ogg Opus decoder: %d channels: %w", channels, ErrInvalidChannels)
	}
	switch {
	case head.MappingFamily != 0 && head.MappingFamily != 1:
		return nil, fmt.Errorf("channel mapping family %d is not read here (only 0 and 1): %w", head.MappingFamily, ErrUnsupportedCodec)
	case head.StreamCount != 1:
		return nil, fmt.Errorf("%d Opus streams per packet (channel mapping family %d, %d channels) need a multistream decoder: %w",
			head.StreamCount, head.MappingFamily, head.Channels, ErrUnsupportedCodec)
	case channels == 2 && head.Channels > 2:
		return nil, fmt.Errorf("%d channels (channel mapping family %d) have no stereo downmix here: %w", head.Channels, head.MappingFamily, ErrUnsupportedCodec)
	}
	streamChannels := 1 + head.CoupledCount // ParseHead checked CoupledCount ≤ StreamCount = 1
	// The weights the table asks for: each output channel takes one decoded channel (or none);
	// mono averages the output channels, stereo from one output channel duplicates it.
	weights := make([][2]float32, channels)
	for c, m := range head.Mapping[:head.Channels] {
		if m == ogg.SilentChannel {
			continue
		}
		switch {
		case channels == 1:
			weights[0][m] += 1 / float32(head.Channels)
		case head.Channels == 1:
			weights[0][m], weights[1][m] = 1, 1
		default:
			weights[c][m] = 1
		}
	}
	// What a plain decoder producing channels channels from this stream does by itself: copy
	// its channels, average stereo to mono, duplicate mono to stereo. When the table asks for
	// just that, use it as it is, so that such a file decodes exactly as its family 0 twin.
	native := make([][2]float32, channels)
	for j := range native {
		switch {
		case channels == streamChannels:
			native[j][j] = 1
		case channels == 1:
			native[0] = [2]float32{0.5, 0.5}
		default:
			native[j][0] = 1
		}
	}
	d := &OggOpusDecoder{channels: channels}
	var err error
	if slices.Equal(weights, native) {
		d.dec, err = NewDecoder(MimeTypeOpus, channels)
	} else {
		d.weights = weights
		d.decoded = make([]float32, MaxPacketSamples*streamChannels)
		d.dec, err = NewDecoder(MimeTypeOpus, streamChannels)
	}
	if err != nil {
		return nil, fmt.Errorf("new Ogg Opus decoder: %w", err)
	}
	return d, nil
}

// Channels is the interleaved channel count of the output.
func (d *OggOpusDecoder) Channels() int { return d.channels }

// Decode decodes one packet into pcm, which must hold MaxPacketSamples × Channels() samples,
// and returns the samples per channel written.
func (d *OggOpusDecoder) Decode(pkt []byte, pcm []float32) (int, error) {
	if d.weights == nil {
		return d.dec.Decode(pkt, pcm)
	}
	if len(pcm) < MaxPacketSamples*d.channels {
		return 0, ErrBufferTooSmall
	}
	n, err := d.dec.Decode(pkt, d.decoded)
	if err != nil {
		return 0, err
	}
	in := d.dec.Channels()
	for i := range n {
		frame := d.decoded[i*in : i*in+in]
		for j, w := range d.weights {
			v := float32(0)
			for k, x := range frame {
				v += w[k] * x
			}
			pcm[i*d.channels+j] = v
		}
	}
	return n, nil
}
