package audio

import (
	"errors"
	"fmt"

	"github.com/thesyncim/gopus"
)

// opusDecoder wraps gopus (pure Go, 138–148 dB from libopus; see docs/benchmarks/audio.md).
type opusDecoder struct {
	dec      *gopus.Decoder
	channels int
	lastMode gopus.Mode // mode of the last decoded packet: FEC cannot follow CELT
	decoded  bool
}

// maxOpusPacketBytes is the largest Opus packet without padding (RFC 6716 §3.2.5: 48 frames of
// at most 1275 bytes, their lengths and two header bytes). gopus's default, 1500, suits RTP but
// refuses what opusenc and ffmpeg write at 60 or 120 ms and high bitrates; the decoder keeps one
// buffer of this size for FEC, 60 KB a musician.
const maxOpusPacketBytes = 2 + 47*2 + 48*1275

func newOpusDecoder(channels int) (*opusDecoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("new opus decoder: %d channels: %w", channels, ErrInvalidChannels)
	}
	cfg := gopus.DefaultDecoderConfig(SampleRate, channels)
	cfg.MaxPacketBytes = maxOpusPacketBytes
	dec, err := gopus.NewDecoder(cfg)
	if err != nil {
		return nil, fmt.Errorf("new opus decoder: %w", err)
	}
	return &opusDecoder{dec: dec, channels: channels}, nil
}

func (d *opusDecoder) Channels() int  { return d.channels }
func (d *opusDecoder) Reset()         { d.dec.Reset(); d.decoded = false }
func (d *opusDecoder) String() string { return fmt.Sprintf("OPUS(decode %dch 48kHz)", d.channels) }

func (d *opusDecoder) Decode(payload []byte, pcm []float32) (int, error) {
	if len(payload) == 0 {
		return 0, ErrEmptyPayload
	}
	if len(pcm) < MaxPacketSamples*d.channels {
		return 0, ErrBufferTooSmall
	}
	n, err := d.dec.Decode(payload, pcm[:MaxPacketSamples*d.channels])
	if err != nil {
		return 0, opusError("decode", err)
	}
	d.lastMode, d.decoded = gopus.ParseTOC(payload[0]).Mode, true
	sanitize(pcm[:n*d.channels])
	return n, nil
}

func (d *opusDecoder) DecodeFEC(next []byte, pcm []float32, samples int) (int, bool, error) {
	if err := d.checkConceal(pcm, samples); err != nil {
		return 0, false, err
	}
	if len(next) == 0 {
		n, err := d.Conceal(pcm, samples)
		return n, false, err
	}
	// libopus (and gopus) use the LBRR data only when the next packet is SILK or hybrid,
	// the previous one was not CELT, and the lost span is at least one frame long;
	// otherwise DecodeWithFEC silently conceals. Report which one happened.
	toc := gopus.ParseTOC(next[0])
	usedFEC := gopus.PacketHasLBRR(next) && toc.Mode != gopus.ModeCELT &&
		!(d.decoded && d.lastMode == gopus.ModeCELT) && samples >= toc.FrameSize
	if !usedFEC {
		// Plain concealment is what DecodeWithFEC would fall back to, minus its packet
		// parsing (which allocates in gopus v0.1.1).
		n, err := d.Conceal(pcm, samples)
		return n, false, err
	}
	n, err := d.dec.DecodeWithFEC(next, pcm[:samples*d.channels], true)
	if err != nil {
		return 0, false, opusError("decode FEC", err)
	}
	sanitize(pcm[:n*d.channels])
	return n, usedFEC, nil
}

func (d *opusDecoder) Conceal(pcm []float32, samples int) (int, error) {
	if err := d.checkConceal(pcm, samples); err != nil {
		return 0, err
	}
	n, err := d.dec.Decode(nil, pcm[:samples*d.channels])
	if err != nil {
		return 0, opusError("conceal", err)
	}
	sanitize(pcm[:n*d.channels])
	return n, nil
}

// checkConceal validates a concealment length: Opus conceals in multiples of 2.5 ms.
func (d *opusDecoder) checkConceal(pcm []float32, samples int) error {
	if samples <= 0 || samples > MaxPacketSamples || samples%(SampleRate/400) != 0 {
		return fmt.Errorf("opus conceal %d samples: %w", samples, ErrPacketTooLong)
	}
	if len(pcm) < samples*d.channels {
		return ErrBufferTooSmall
	}
	return nil
}

// opusError maps gopus's errors onto ErrInvalidPacket (the payload's fault) while keeping
// the original text.
func opusError(op string, err error) error {
	if errors.Is(err, gopus.ErrBufferTooSmall) {
		return fmt.Errorf("opus %s: %w: %w", op, ErrBufferTooSmall, err)
	}
	return fmt.Errorf("opus %s: %w: %w", op, ErrInvalidPacket, err)
}
