package analysis

import "math"

// wledBinHz is the bin width of WLED audio-reactive's FFT (512 points at
// 22050 Hz); its 16 GEQ channels are defined as ranges of those bins.
const wledBinHz = 22050.0 / 512

// wledBands lists, per GEQ channel, the first and last WLED FFT bin averaged
// and the damping WLED applies (usermods/audioreactive, fftAddAvg calls):
// channel 0 is 43–86 Hz, channel 7 is centred on 1 kHz, channel 15 ends at
// 9.26 kHz.
var wledBands = [NumBands]struct {
	from, to int
	gain     float64
}{
	{1, 2, 1}, {2, 3, 1}, {3, 5, 1}, {5, 7, 1}, {7, 10, 1}, {10, 13, 1}, {13, 19, 1}, {19, 26, 1},
	{26, 33, 1}, {33, 44, 1}, {44, 56, 1}, {56, 70, 1}, {70, 86, 1}, {86, 104, 1}, {104, 165, 0.88}, {165, 215, 0.70},
}

// wledPink is WLED's pink-noise correction per channel (fftResultPink), so
// that music, whose energy falls with frequency, lights all channels.
var wledPink = [NumBands]float64{1.70, 1.71, 1.73, 1.78, 1.68, 1.56, 1.55, 1.63, 1.79, 1.62, 1.80, 2.06, 2.47, 3.35, 6.83, 9.55}

// bandMapper averages the short window's magnitudes into WLED's channels.
type bandMapper struct {
	lo, hi [NumBands]int // bin range in the short window, inclusive
}

func newBandMapper(w *window) bandMapper {
	var b bandMapper
	for i, band := range wledBands {
		loHz := (float64(band.from) - 0.5) * wledBinHz
		hiHz := (float64(band.to) + 0.5) * wledBinHz
		lo := int(math.Ceil(loHz / w.binHz))
		hi := int(math.Floor(hiHz / w.binHz))
		if hi < lo { // narrower than one of our bins: take the nearest
			lo = int(math.Round((loHz + hiHz) / 2 / w.binHz))
			hi = lo
		}
		b.lo[i], b.hi[i] = lo, min(hi, len(w.mag)-1)
	}
	return b
}

// fill writes each channel as 0–1 on a dB scale: 0 at -60 dBFS, 1 at 0 dBFS
// (after WLED's pink-noise weighting).
func (b *bandMapper) fill(w *window, dst *[NumBands]float32) {
	for i := range dst {
		s := 0.0
		for k := b.lo[i]; k <= b.hi[i]; k++ {
			s += w.mag[k]
		}
		avg := s / float64(b.hi[i]-b.lo[i]+1) * wledPink[i] * wledBands[i].gain
		v := 0.0
		if avg > 0 {
			v = 1 + 20*math.Log10(avg)/60
		}
		dst[i] = float32(max(0, min(1, v)))
	}
}
