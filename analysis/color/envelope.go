package color

import (
	"math"
	"time"
)

// Envelope smooths a level towards a target with separate attack (rise) and
// decay (fall) time constants, like LedFx's ExpFilter(alpha_rise, alpha_decay)
// but in time units so that it behaves the same at any frame rate.
// A time constant ≤ 0 makes that direction instant.
type Envelope struct {
	Attack time.Duration
	Decay  time.Duration
}

// EnvelopeStep holds the smoothing factors of one Envelope for one frame
// interval; computing it once per frame keeps exp() out of per-note loops.
type EnvelopeStep struct{ Rise, Fall float32 }

// Step returns the factors for a frame interval dt.
func (e Envelope) Step(dt time.Duration) EnvelopeStep {
	return EnvelopeStep{Rise: alpha(e.Attack, dt), Fall: alpha(e.Decay, dt)}
}

// alpha is the fraction of the remaining distance covered in dt by an
// exponential approach with time constant tau.
func alpha(tau, dt time.Duration) float32 {
	if tau <= 0 {
		return 1
	}
	if dt <= 0 {
		return 0
	}
	return float32(1 - math.Exp(-float64(dt)/float64(tau)))
}

// Apply moves value towards target by one frame and returns the new value.
func (s EnvelopeStep) Apply(value, target float32) float32 {
	if value != value { // NaN state must not stick
		value = 0
	}
	if target != target {
		target = 0
	}
	if target > value {
		return value + s.Rise*(target-value)
	}
	return value + s.Fall*(target-value)
}
