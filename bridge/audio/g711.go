package audio

import "fmt"

// g711Decoder decodes PCMU (µ-law) or PCMA (A-law), 8 kHz mono, to 48 kHz mono.
type g711Decoder struct {
	alaw  bool
	table [256]float32
	up    *upsampler
	tmp   [MaxPacketSamples / 6]float32
	plc   pitchConcealer
}

func newG711Decoder(alaw bool) *g711Decoder {
	d := &g711Decoder{alaw: alaw, up: newUpsampler(6, 12), plc: newPitchConcealer(8000)}
	for i := range 256 {
		if alaw {
			d.table[i] = float32(alawToLinear(byte(i))) / 32768
		} else {
			d.table[i] = float32(ulawToLinear(byte(i))) / 32768
		}
	}
	return d
}

// ulawToLinear is ITU-T G.711 µ-law expansion to 14-bit linear, scaled to 16 bits.
func ulawToLinear(code byte) int16 {
	u := ^code
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// alawToLinear is ITU-T G.711 A-law expansion to 13-bit linear, scaled to 16 bits.
func alawToLinear(code byte) int16 {
	a := code ^ 0x55
	t := int(a&0x0f) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

func (d *g711Decoder) Channels() int { return 1 }
func (d *g711Decoder) Reset()        { d.up.reset(); d.plc.reset() }
func (d *g711Decoder) String() string {
	if d.alaw {
		return "PCMA(decode 8kHz -> 48kHz)"
	}
	return "PCMU(decode 8kHz -> 48kHz)"
}

func (d *g711Decoder) Decode(payload []byte, pcm []float32) (int, error) {
	if len(payload) == 0 {
		return 0, ErrEmptyPayload
	}
	if len(payload) > len(d.tmp) {
		return 0, fmt.Errorf("g711 decode %d bytes: %w", len(payload), ErrPacketTooLong)
	}
	if len(pcm) < MaxPacketSamples {
		return 0, ErrBufferTooSmall
	}
	in := d.tmp[:len(payload)]
	for i, c := range payload {
		in[i] = d.table[c]
	}
	d.plc.decoded(in)
	return upsampleOut(d.up, in, pcm), nil
}

func (d *g711Decoder) DecodeFEC(_ []byte, pcm []float32, samples int) (int, bool, error) {
	n, err := d.Conceal(pcm, samples)
	return n, false, err
}

func (d *g711Decoder) Conceal(pcm []float32, samples int) (int, error) {
	k := (samples + 5) / 6 // at 8 kHz
	if err := checkConceal(pcm, samples, k*6); err != nil {
		return 0, err
	}
	in := d.tmp[:k]
	d.plc.conceal(in)
	return upsampleOut(d.up, in, pcm), nil
}

// upsampleOut brings a packet's audio (decoded or concealed) from the codec's rate to pcm at
// 48 kHz and returns how many samples it wrote.
func upsampleOut(up *upsampler, in, pcm []float32) int {
	n := up.process(in, pcm)
	sanitize(pcm[:n]) // the interpolator can overshoot full-scale input slightly
	return n
}

// checkConceal refuses a concealment length out of range, or a buffer too small for the out
// samples it makes of it (samples rounded up to whole samples of the codec's rate).
func checkConceal(pcm []float32, samples, out int) error {
	if samples <= 0 || samples > MaxPacketSamples {
		return fmt.Errorf("conceal %d samples: %w", samples, ErrPacketTooLong)
	}
	if len(pcm) < out {
		return ErrBufferTooSmall
	}
	return nil
}
