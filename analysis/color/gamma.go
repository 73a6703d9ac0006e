package color

import (
	"errors"
	"fmt"
	"math"
)

// DefaultGamma is the exponent used when a configuration leaves gamma at zero.
// WLED's own colour gamma is 2.8; 2.2 keeps quiet notes visible on a dark stage.
const DefaultGamma = 2.2

// gammaSteps is the resolution of the precomputed table: finer than 8 bits on
// the input side so that dim colours do not band before they are quantised.
const gammaSteps = 4096

// ErrBadGamma indicates a gamma exponent outside 0.1–5.
var ErrBadGamma = errors.New("gamma must be between 0.1 and 5")

// Gamma converts perceptual brightness (what a screen shows, 0–1) into the
// linear PWM duty an LED needs to look the same (0–1), through a table
// computed once. LEDs are linear in duty while eyes are not, so without it
// every mid colour looks washed out.
type Gamma struct {
	exponent float32
	table    [gammaSteps + 1]float32
}

// NewGamma precomputes the table for exponent g (0 means DefaultGamma, 1 is linear).
func NewGamma(g float32) (*Gamma, error) {
	if g == 0 {
		g = DefaultGamma
	}
	if err := CheckGamma(g); err != nil {
		return nil, err
	}
	t := &Gamma{exponent: g}
	for i := range t.table {
		t.table[i] = float32(math.Pow(float64(i)/gammaSteps, float64(g)))
	}
	return t, nil
}

// CheckGamma returns the error NewGamma gives for exponent g (not 0), without the table's 4 097
// powers: a configuration check does not need them.
func CheckGamma(g float32) error {
	if !(g >= 0.1 && g <= 5) {
		return fmt.Errorf("color: new gamma %v: %w", g, ErrBadGamma)
	}
	return nil
}

// Exponent returns the gamma exponent of the table.
func (t *Gamma) Exponent() float32 { return t.exponent }

// Linear returns the LED duty (0–1) for perceptual brightness v (clamped to 0–1).
func (t *Gamma) Linear(v float32) float32 {
	return t.table[int(Clamp01(v)*gammaSteps+0.5)]
}

// Apply8 is Linear on 8-bit values: 0 → 0 and 255 → 255.
func (t *Gamma) Apply8(v uint8) uint8 {
	return uint8(t.table[(int(v)*gammaSteps+127)/255]*255 + 0.5)
}
