package audio

import "fmt"

// ITU-T G.722 (sub-band ADPCM, 64 kbit/s mode) decoder, written from the Recommendation's
// block descriptions (blocks 2–6 per band, then the receive QMF). Each payload byte carries
// a 6-bit low-band and a 2-bit high-band code and decodes to two 16 kHz samples. It is
// checked bit-exactly against FFmpeg's decoder (testdata/opus/g722_*). RTP quirk (RFC 3551):
// the RTP clock is 8000 Hz although the audio is 16 kHz.

var (
	g722QMF = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
	g722QM2 = [4]int32{-7408, -1616, 7408, 1616}
	g722QM4 = [16]int32{
		0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
		20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
	}
	g722QM6 = [64]int32{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	g722ILB = [32]int32{
		2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543,
		2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228,
		3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
	}
	g722RL42 = [16]int32{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	g722WL   = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722RH2  = [4]int32{2, 1, 2, 1}
	g722WH   = [3]int32{0, -214, 798}
)

// g722Band is one sub-band's adaptive predictor and quantiser scale state.
type g722Band struct {
	s, sp, sz int32
	r, a, ap  [3]int32
	p         [3]int32
	d, b, bp  [7]int32
	sg        [7]int32
	nb, det   int32
}

func sat16(v int32) int32 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

// update runs block 4 (RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ,
// PREDIC) with the quantised difference dx.
func (s *g722Band) update(dx int32) {
	s.d[0] = dx
	s.r[0] = sat16(s.s + dx)
	s.p[0] = sat16(s.sz + dx)

	// UPPOL2
	for i := range 3 {
		s.sg[i] = s.p[i] >> 15
	}
	wd1 := sat16(s.a[1] << 2)
	wd2 := wd1
	if s.sg[0] == s.sg[1] {
		wd2 = -wd1
	}
	if wd2 > 32767 {
		wd2 = 32767
	}
	wd3 := wd2 >> 7
	if s.sg[0] == s.sg[2] {
		wd3 += 128
	} else {
		wd3 -= 128
	}
	wd3 += (s.a[2] * 32512) >> 15
	wd3 = max(-12288, min(12288, wd3))
	s.ap[2] = wd3

	// UPPOL1
	s.sg[0] = s.p[0] >> 15
	s.sg[1] = s.p[1] >> 15
	wd1 = -192
	if s.sg[0] == s.sg[1] {
		wd1 = 192
	}
	wd2 = (s.a[1] * 32640) >> 15
	s.ap[1] = sat16(wd1 + wd2)
	wd3 = sat16(15360 - s.ap[2])
	s.ap[1] = max(-wd3, min(wd3, s.ap[1]))

	// UPZERO
	wd1 = 128
	if dx == 0 {
		wd1 = 0
	}
	s.sg[0] = dx >> 15
	for i := 1; i < 7; i++ {
		s.sg[i] = s.d[i] >> 15
		wd2 = -wd1
		if s.sg[i] == s.sg[0] {
			wd2 = wd1
		}
		wd3 = (s.b[i] * 32640) >> 15
		s.bp[i] = sat16(wd2 + wd3)
	}

	// DELAYA
	for i := 6; i > 0; i-- {
		s.d[i] = s.d[i-1]
		s.b[i] = s.bp[i]
	}
	for i := 2; i > 0; i-- {
		s.r[i] = s.r[i-1]
		s.p[i] = s.p[i-1]
		s.a[i] = s.ap[i]
	}

	// FILTEP
	wd1 = sat16(s.r[1] + s.r[1])
	wd1 = (s.a[1] * wd1) >> 15
	wd2 = sat16(s.r[2] + s.r[2])
	wd2 = (s.a[2] * wd2) >> 15
	s.sp = sat16(wd1 + wd2)

	// FILTEZ
	s.sz = 0
	for i := 6; i > 0; i-- {
		wd1 = sat16(s.d[i] + s.d[i])
		s.sz += (s.b[i] * wd1) >> 15
	}
	s.sz = sat16(s.sz)

	// PREDIC
	s.s = sat16(s.sp + s.sz)
}

// g722Core is the bit-exact 16 kHz G.722 decoder state.
type g722Core struct {
	band [2]g722Band
	x    [24]int32 // receive QMF delay line
}

func newG722Core() g722Core {
	var c g722Core
	c.band[0].det = 32
	c.band[1].det = 8
	return c
}

// decode turns 64 kbit/s G.722 bytes into 16-bit linear samples at 16 kHz (2 per byte).
func (c *g722Core) decode(codes []byte, out []int16) int {
	n := 0
	for _, code := range codes {
		ilow := int32(code & 0x3f)
		ihigh := int32(code>>6) & 0x03

		// Low band: INVQBL, RECONS, LIMIT.
		lo := &c.band[0]
		wd2 := (lo.det * g722QM6[ilow]) >> 15
		rlow := max(-16384, min(16383, lo.s+wd2))
		// INVQAL (4-bit quantiser for the predictor), LOGSCL, SCALEL.
		ilow4 := ilow >> 2
		dlow := (lo.det * g722QM4[ilow4]) >> 15
		wd1 := (lo.nb*127)>>7 + g722WL[g722RL42[ilow4]]
		lo.nb = max(0, min(18432, wd1))
		wd1 = (lo.nb >> 6) & 31
		shift := 8 - (lo.nb >> 11)
		if shift < 0 {
			lo.det = (g722ILB[wd1] << -shift) << 2
		} else {
			lo.det = (g722ILB[wd1] >> shift) << 2
		}
		lo.update(dlow)

		// High band: INVQAH, RECONS, LIMIT, LOGSCH, SCALEH.
		hi := &c.band[1]
		dhigh := (hi.det * g722QM2[ihigh]) >> 15
		rhigh := max(-16384, min(16383, dhigh+hi.s))
		wd1 = (hi.nb*127)>>7 + g722WH[g722RH2[ihigh]]
		hi.nb = max(0, min(22528, wd1))
		wd1 = (hi.nb >> 6) & 31
		shift = 10 - (hi.nb >> 11)
		if shift < 0 {
			hi.det = (g722ILB[wd1] << -shift) << 2
		} else {
			hi.det = (g722ILB[wd1] >> shift) << 2
		}
		hi.update(dhigh)

		// Receive QMF: two output samples per input pair.
		copy(c.x[:22], c.x[2:])
		c.x[22] = rlow + rhigh
		c.x[23] = rlow - rhigh
		var xout1, xout2 int32
		for i := range 12 {
			xout2 += c.x[2*i] * g722QMF[i]
			xout1 += c.x[2*i+1] * g722QMF[11-i]
		}
		out[n] = int16(sat16(xout1 >> 11))
		out[n+1] = int16(sat16(xout2 >> 11))
		n += 2
	}
	return n
}

// g722Decoder decodes G.722 to 48 kHz mono (16 kHz core, ×3 interpolation).
type g722Decoder struct {
	core g722Core
	up   *upsampler
	s16  [MaxPacketSamples / 3]int16
	tmp  [MaxPacketSamples / 3]float32
	plc  pitchConcealer
}

func newG722Decoder() *g722Decoder {
	return &g722Decoder{core: newG722Core(), up: newUpsampler(3, 16), plc: newPitchConcealer(16000)}
}

func (d *g722Decoder) Channels() int  { return 1 }
func (d *g722Decoder) String() string { return "G722(decode 16kHz -> 48kHz)" }
func (d *g722Decoder) Reset() {
	d.core = newG722Core()
	d.up.reset()
	d.plc.reset()
}

func (d *g722Decoder) Decode(payload []byte, pcm []float32) (int, error) {
	if len(payload) == 0 {
		return 0, ErrEmptyPayload
	}
	if 2*len(payload) > len(d.s16) {
		return 0, fmt.Errorf("g722 decode %d bytes: %w", len(payload), ErrPacketTooLong)
	}
	if len(pcm) < MaxPacketSamples {
		return 0, ErrBufferTooSmall
	}
	k := d.core.decode(payload, d.s16[:])
	for i, v := range d.s16[:k] {
		d.tmp[i] = float32(v) / 32768
	}
	d.plc.decoded(d.tmp[:k])
	return upsampleOut(d.up, d.tmp[:k], pcm), nil
}

func (d *g722Decoder) DecodeFEC(_ []byte, pcm []float32, samples int) (int, bool, error) {
	n, err := d.Conceal(pcm, samples)
	return n, false, err
}

// Conceal fills a lost packet (see pitchConcealer). The ADPCM predictors and scale factors
// stay where the last packet left them: the packets after a loss decode with an error that
// dies away within about 100 ms. (Running the concealment through a G.722 encoder to bring
// them along, as G.722 Appendix III does, was tried and did not shorten it measurably.)
func (d *g722Decoder) Conceal(pcm []float32, samples int) (int, error) {
	k := (samples + 5) / 6 * 2 // at 16 kHz, in whole pairs
	if err := checkConceal(pcm, samples, k*3); err != nil {
		return 0, err
	}
	in := d.tmp[:k]
	d.plc.conceal(in)
	return upsampleOut(d.up, in, pcm), nil
}
