package audiofile

import (
	"io"
	"math"

	"github.com/ledbridge/ledbridge/analysis/internal/dsp"
)

const (
	// sincZeros is the kernel's half-width in zero crossings: 16 keeps
	// images and aliases below about -80 dB, ample for analysis.
	sincZeros = 16
	// sincPhases is the table resolution per zero crossing; the kernel is
	// linearly interpolated between entries.
	sincPhases = 256
	kaiserBeta = 8.0
)

// resampler converts a mono stream to another rate with a Kaiser-windowed
// sinc kernel, band-limited to the lower of the two Nyquist frequencies.
type resampler struct {
	src     source
	step    float64 // input samples per output sample
	cutoff  float64 // kernel cut-off relative to the input Nyquist
	half    int     // kernel half-width in input samples
	table   []float64
	buf     []float32 // input history; buf[0] is input sample base
	base    int64
	pos     float64 // position of the next output, in input samples
	nOut    int64   // outputs produced
	readBuf []float32
	eof     bool
	inLen   int64 // input samples read so far
}

func newResampler(src source, from, to int) *resampler {
	r := &resampler{src: src, step: float64(from) / float64(to)}
	r.cutoff = math.Min(1, 1/r.step)
	r.half = int(math.Ceil(sincZeros / r.cutoff))
	r.table = make([]float64, sincZeros*sincPhases+2)
	for i := range r.table {
		x := float64(i) / sincPhases // in zero crossings
		v := 1.0
		if x > 0 {
			v = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		u := x / sincZeros
		if u < 1 {
			v *= dsp.Kaiser(kaiserBeta, u)
		} else {
			v = 0
		}
		r.table[i] = v
	}
	r.readBuf = make([]float32, 4096)
	// Start with half a kernel of silence so the first output is centred on input 0.
	r.buf = make([]float32, r.half, 1<<16)
	r.base = -int64(r.half)
	return r
}

func (r *resampler) kernel(d float64) float64 {
	x := math.Abs(d) * r.cutoff * sincPhases
	i := int(x)
	if i >= len(r.table)-1 {
		return 0
	}
	f := x - float64(i)
	return r.table[i]*(1-f) + r.table[i+1]*f
}

// fill reads input until sample index need is buffered; after the input
// ends it pads with silence.
func (r *resampler) fill(need int64) error {
	for r.base+int64(len(r.buf)) <= need {
		if r.eof {
			r.buf = append(r.buf, 0)
			continue
		}
		n, err := r.src.Read(r.readBuf)
		r.buf = append(r.buf, r.readBuf[:n]...)
		r.inLen += int64(n)
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (r *resampler) Read(dst []float32) (int, error) {
	// Drop history no output can reach any more, keeping the buffer bounded.
	if drop := int64(r.pos) - int64(r.half) - 1 - r.base; drop > 4096 {
		n := copy(r.buf, r.buf[drop:])
		r.buf = r.buf[:n]
		r.base += drop
	}
	for i := range dst {
		center := int64(math.Floor(r.pos))
		if err := r.fill(center + int64(r.half)); err != nil {
			return i, err
		}
		if r.eof && r.pos >= float64(r.inLen) {
			if i > 0 {
				return i, nil
			}
			return 0, io.EOF
		}
		sum := 0.0
		for k := center - int64(r.half) + 1; k <= center+int64(r.half); k++ {
			sum += float64(r.buf[k-r.base]) * r.kernel(r.pos-float64(k))
		}
		dst[i] = float32(sum * r.cutoff)
		r.nOut++
		r.pos = float64(r.nOut) * r.step // no drift from summing steps
	}
	return len(dst), nil
}
