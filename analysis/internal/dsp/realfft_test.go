package dsp

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// TestRealFFTMatchesFFTPACK compares the packed transform with gonum's FFTPACK real FFT, for
// lengths whose half is a power of four (radix-4) and of two only (radix-2).
func TestRealFFTMatchesFFTPACK(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{4, 8, 16, 32, 64, 128, 512, 1024, 4096} {
		seq := make([]float64, n)
		for i := range seq {
			seq[i] = rng.NormFloat64() + 3*math.Sin(0.37*float64(i))
		}
		want := fourier.NewFFT(n).Coefficients(nil, seq)
		got := make([]complex128, n/2+1)
		NewRealFFT(n).Coefficients(got, seq)
		scale := 0.0
		for _, c := range want {
			scale = max(scale, cmplx.Abs(c))
		}
		for k := range want {
			if d := cmplx.Abs(got[k] - want[k]); d > 1e-13*scale {
				t.Errorf("n=%d: X[%d] = %v, FFTPACK %v (|diff| %.3g, scale %.3g)", n, k, got[k], want[k], d, scale)
			}
		}
	}
}

// TestRealFFTSinusoid checks a sinusoid on bin 5 lands there with amplitude n/2 and nowhere else.
func TestRealFFTSinusoid(t *testing.T) {
	const n = 512
	seq := make([]float64, n)
	for i := range seq {
		seq[i] = math.Cos(2*math.Pi*5*float64(i)/n + 0.3)
	}
	got := make([]complex128, n/2+1)
	NewRealFFT(n).Coefficients(got, seq)
	for k, c := range got {
		want := 0.0
		if k == 5 {
			want = n / 2
		}
		if math.Abs(cmplx.Abs(c)-want) > 1e-9 {
			t.Errorf("|X[%d]| = %g, want %g", k, cmplx.Abs(c), want)
		}
	}
	if p := cmplx.Phase(got[5]); math.Abs(p-0.3) > 1e-9 {
		t.Errorf("phase of X[5] = %g, want 0.3", p)
	}
}

// TestWindowedCoefficients: windowing inside the transform is exactly the transform of the
// windowed sequence.
func TestWindowedCoefficients(t *testing.T) {
	const n = 256
	rng := rand.New(rand.NewPCG(3, 4))
	seq, win, prod := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range seq {
		seq[i], win[i] = rng.NormFloat64(), rng.Float64()
		prod[i] = seq[i] * win[i]
	}
	f := NewRealFFT(n)
	a, b := make([]complex128, n/2+1), make([]complex128, n/2+1)
	f.WindowedCoefficients(a, seq, win)
	f.Coefficients(b, prod)
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("X[%d]: windowed %v, pre-multiplied %v", k, a[k], b[k])
		}
	}
	if allocs := testing.AllocsPerRun(10, func() { f.WindowedCoefficients(a, seq, win) }); allocs != 0 {
		t.Errorf("WindowedCoefficients allocates %v times", allocs)
	}
}

func TestNewRealFFTRejectsBadLengths(t *testing.T) {
	for _, n := range []int{0, 2, 3, 6, 100} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewRealFFT(%d) did not panic", n)
				}
			}()
			NewRealFFT(n)
		}()
	}
}

// TestWindowedMagnitudes: the fused magnitudes are bit for bit those of the coefficients, with
// each square rounded before the sum. The explicit float64 conversions keep the compiler from
// fusing re*re+im*im into a multiply-add (it does on arm64, and on amd64 built with GOAMD64=v3),
// which rounds once instead of twice and so differs in the last bit; .ci/crossarch runs this
// test on arm64 under qemu and on amd64 v3.
func TestWindowedMagnitudes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{4, 8, 512, 1024} {
		seq, win := make([]float64, n), make([]float64, n)
		for i := range seq {
			seq[i], win[i] = rng.NormFloat64(), rng.Float64()
		}
		f := NewRealFFT(n)
		coef, mag := make([]complex128, n/2+1), make([]float64, n/2+1)
		f.WindowedCoefficients(coef, seq, win)
		f.WindowedMagnitudes(mag, seq, win, 0.37)
		for k, c := range coef {
			if want := math.Sqrt(float64(real(c)*real(c))+float64(imag(c)*imag(c))) * 0.37; mag[k] != want {
				t.Fatalf("n=%d: mag[%d] = %v, want %v", n, k, mag[k], want)
			}
		}
		if allocs := testing.AllocsPerRun(10, func() { f.WindowedMagnitudes(mag, seq, win, 1) }); allocs != 0 {
			t.Errorf("WindowedMagnitudes allocates %v times", allocs)
		}
	}
}
