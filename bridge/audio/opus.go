package audio

import (
	"errors"
	"fmt"

	"github.com/thesyncim/gopus"
)

// opusDecoder wraps gopus (pure Go, 136–142 dB from libopus, SILK bit-exact; see docs/benchmarks/audio.md).
//
// A mono decoder conceals a packet lost after a SILK or hybrid one with the pitch concealer
// (see pitchConcealer), at 48 kHz, instead of with Opus's own concealment, and crossfades it
// into the packet decoded next; after CELT it keeps Opus's.
// Opus's SILK concealment (gopus's port of libopus's) dips a held note by a few dB and changes
// its timbre, and the analyser read the way back to decoded audio as the note struck again
// (smoothing the level back alone did not help): one packet lost in 25 on a held A3 made 9
// false note onsets in 6.5 s of 12 kbit/s SILK, 8 of 16 kbit/s hybrid and 4 of 32 kbit/s hybrid
// with FEC (browsers' voice settings send SILK and hybrid), none with the period repeated. The
// decoder is still asked to conceal, its output dropped, so that its state steps over the
// loss as the next packet expects. The audio feeds the lights only: the concealment that keeps
// a note one note is the better one here.
//
// After CELT neither concealment keeps music clean. On a held tone CELT's makes no false onset,
// but on music it does: notebench set B as 32 kbit/s mono CELT through a Stream at 10 % random
// loss fell from 43.0 to 36.0 onset F1 (945 new false onsets, 69 % of them within 50 ms after a
// lost packet), and to 35.5 with the pitch concealer after CELT too (review 281). In-band FEC
// (SILK and hybrid packets only), when the sender sends it, recovers most of it: a browser's
// VoIP encoder with FEC scored 40.6 at 32 kbit/s under the same loss (35.4 without FEC, 43.2
// without loss), 41.5 at 64 kbit/s.
type opusDecoder struct {
	dec      *gopus.Decoder
	channels int
	lastMode gopus.Mode // mode of the last decoded packet: FEC cannot follow CELT
	decoded  bool
	plc      pitchConcealer // mono only
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
	return &opusDecoder{dec: dec, channels: channels, plc: newPitchConcealer(SampleRate)}, nil
}

func (d *opusDecoder) Channels() int  { return d.channels }
func (d *opusDecoder) Reset()         { d.dec.Reset(); d.decoded = false; d.plc.reset() }
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
	d.recordDecoded(pcm[:n*d.channels])
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
	d.recordDecoded(pcm[:n*d.channels])
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
	if d.channels == 1 && d.decoded && d.lastMode != gopus.ModeCELT {
		d.plc.conceal(pcm[:n]) // replaces the decoder's (see opusDecoder)
		return n, nil
	}
	sanitize(pcm[:n*d.channels])
	return n, nil
}

// recordDecoded crossfades from the pitch concealment, if a loss was just concealed with it,
// into pcm, audio decoded, and keeps pcm as the history the next concealment repeats.
func (d *opusDecoder) recordDecoded(pcm []float32) {
	if d.channels == 1 {
		d.plc.decoded(pcm)
	}
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
