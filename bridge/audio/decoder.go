package audio

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SampleRate is the output rate of every Decoder, in Hz.
const SampleRate = 48000

// MaxPacketSamples is the longest packet any decoder emits, in samples per channel at
// 48 kHz: 120 ms, the Opus maximum. PCM buffers handed to Decode must hold this many
// samples per channel (STYLE §8: livekit sizes for 20 ms, which breaks on long packets).
const MaxPacketSamples = 5760

// Codec MIME types, spelled as pion's webrtc.MimeType* constants; matching is case-insensitive.
const (
	MimeTypeOpus = "audio/opus"
	MimeTypeG722 = "audio/G722"
	MimeTypePCMU = "audio/PCMU"
	MimeTypePCMA = "audio/PCMA"
)

// Sentinel errors.
var (
	// ErrUnsupportedCodec indicates a codec this package cannot decode.
	ErrUnsupportedCodec = errors.New("audio: unsupported codec")
	// ErrInvalidChannels indicates a channel count other than 1 or 2 (or 2 for a mono-only codec).
	ErrInvalidChannels = errors.New("audio: invalid channel count")
	// ErrEmptyPayload indicates a packet with no codec payload (padding-only RTP, for example).
	ErrEmptyPayload = errors.New("audio: empty payload")
	// ErrPacketTooLong indicates a payload that decodes to more than MaxPacketSamples.
	ErrPacketTooLong = errors.New("audio: packet longer than 120 ms")
	// ErrBufferTooSmall indicates a PCM buffer shorter than MaxPacketSamples × Channels().
	ErrBufferTooSmall = errors.New("audio: PCM buffer smaller than 120 ms")
	// ErrInvalidPacket indicates a payload the codec rejected as malformed.
	ErrInvalidPacket = errors.New("audio: invalid packet")
)

// Decoder decodes one RTP stream's payloads to interleaved float32 PCM at 48 kHz.
// Output samples are finite and within [-1, 1]: corrupt packets can make codecs emit
// NaN or |x| > 4, and nothing downstream should have to care. A Decoder is not safe for
// concurrent use. pcm buffers must hold MaxPacketSamples × Channels() samples.
type Decoder interface {
	// Decode decodes one payload into pcm and returns the samples per channel written.
	Decode(payload []byte, pcm []float32) (samplesPerChannel int, err error)
	// DecodeFEC reconstructs the packet lost just before next, from next's in-band
	// forward error correction when the codec and packet carry it, otherwise by
	// concealment. samples is the lost packet's duration in samples per channel.
	// It reports whether real FEC data was used.
	DecodeFEC(next []byte, pcm []float32, samples int) (samplesPerChannel int, usedFEC bool, err error)
	// Conceal synthesises samples per channel of audio for a lost packet (PLC).
	Conceal(pcm []float32, samples int) (samplesPerChannel int, err error)
	// Reset forgets all decoder state, as after a stream restart.
	Reset()
	// Channels is the interleaved channel count of the output.
	Channels() int
	// String names the pipeline stage, e.g. "OPUS(decode 2ch 48kHz)".
	String() string
}

// NewDecoder returns a decoder for codec (a MIME type such as "audio/opus") producing
// channels interleaved channels at 48 kHz. Opus takes 1 or 2 channels (a stereo decoder
// duplicates mono packets and vice versa downmixes); G.722 and G.711 are mono only.
func NewDecoder(codec string, channels int) (Decoder, error) {
	idx := codecIndex(codec)
	if idx < 0 {
		return nil, fmt.Errorf("new decoder for %q: %w", codec, ErrUnsupportedCodec)
	}
	if idx > 0 && channels != 1 { // G.722 and G.711
		return nil, fmt.Errorf("new %s decoder: %d channels: %w", codec, channels, ErrInvalidChannels)
	}
	switch supportedCodecs[idx] {
	case MimeTypeOpus:
		return newOpusDecoder(channels)
	case MimeTypeG722:
		return newG722Decoder(), nil
	case MimeTypePCMU:
		return newG711Decoder(false), nil
	default: // MimeTypePCMA
		return newG711Decoder(true), nil
	}
}

// sanitize clamps samples to [-1, 1] and replaces NaN with 0, in place.
func sanitize(pcm []float32) {
	for i, v := range pcm {
		switch {
		case v > 1:
			pcm[i] = 1
		case v < -1:
			pcm[i] = -1
		case v != v: // NaN
			pcm[i] = 0
		}
	}
}

// SupportedCodecs lists the MIME types NewDecoder accepts, in ledbridge's order of
// preference: Opus, G.722, PCMU, PCMA. bridge/peer registers exactly these, in this order,
// in pion's MediaEngine (a peer test holds the two lists together).
func SupportedCodecs() []string { return slices.Clone(supportedCodecs[:]) }

// supportedCodecs are the MIME types NewDecoder accepts, in SupportedCodecs' order.
var supportedCodecs = [...]string{MimeTypeOpus, MimeTypeG722, MimeTypePCMU, MimeTypePCMA}

// codecIndex is codec's index in supportedCodecs (MIME types match case-insensitively), or -1.
func codecIndex(codec string) int {
	for i, c := range supportedCodecs {
		if strings.EqualFold(codec, c) {
			return i
		}
	}
	return -1
}
