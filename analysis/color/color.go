// Package color turns analysed notes into colours for LED strips: the note,
// musician and spectrum colour modes, attack/decay envelopes, gamma correction,
// RGB→RGBW white extraction, a WLED-style current (ABL) estimate and limiter,
// and the parser for the room's led-update colour arrays.
//
// Colours inside the pipeline are RGBF values in perceptual units (0–1, what a
// screen would show); Gamma turns them into the linear PWM duty an LED needs.
package color

import "math"

// RGB is an 8-bit colour as it appears on the wire ("#rrggbb", DDP bytes).
type RGB struct{ R, G, B uint8 }

// RGBF is a colour with float channels, nominally 0–1, used for mixing.
type RGBF struct{ R, G, B float32 }

// Scale returns c with every channel multiplied by k.
func (c RGBF) Scale(k float32) RGBF { return RGBF{c.R * k, c.G * k, c.B * k} }

// Float converts an 8-bit colour to 0–1 channels.
func (c RGB) Float() RGBF {
	return RGBF{float32(c.R) / 255, float32(c.G) / 255, float32(c.B) / 255}
}

// RGB8 rounds c to 8 bits, clamping each channel to 0–1 first (NaN → 0).
func (c RGBF) RGB8() RGB {
	return RGB{to8(c.R), to8(c.G), to8(c.B)}
}

// Hex formats c as "#rrggbb", the form the web app and led-update use.
func (c RGB) Hex() string {
	const digits = "0123456789abcdef"
	return string([]byte{'#',
		digits[c.R>>4], digits[c.R&15],
		digits[c.G>>4], digits[c.G&15],
		digits[c.B>>4], digits[c.B&15]})
}

// Clamp01 limits v to 0–1; NaN becomes 0 so that a bad input never lights a strip.
func Clamp01(v float32) float32 {
	if v > 0 {
		if v > 1 {
			return 1
		}
		return v
	}
	return 0 // also NaN
}

func to8(v float32) uint8 { return uint8(Clamp01(v)*255 + 0.5) }

// HSV converts hue h (degrees, any value; wrapped to 0–360), saturation s and
// value v (both 0–1) to RGB.
func HSV(h, s, v float32) RGBF {
	h = wrapHue(h)
	s, v = Clamp01(s), Clamp01(v)
	c := v * s
	return hueChroma(h, c, v-c)
}

// HSL converts hue h (degrees), saturation s and lightness l (both 0–1) to RGB.
// Lightness 0.5 is the pure hue; above it the colour whitens, below it darkens.
func HSL(h, s, l float32) RGBF {
	h = wrapHue(h)
	s, l = Clamp01(s), Clamp01(l)
	c := (1 - float32(math.Abs(float64(2*l-1)))) * s
	return hueChroma(h, c, l-c/2)
}

// hueChroma builds the colour with chroma c at hue h (0–360), lifted by m.
func hueChroma(h, c, m float32) RGBF {
	hp := h / 60
	x := c * (1 - float32(math.Abs(math.Mod(float64(hp), 2)-1)))
	var r, g, b float32
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	return RGBF{r + m, g + m, b + m}
}

func wrapHue(h float32) float32 {
	if h != h || math.IsInf(float64(h), 0) { // NaN or ±Inf: no meaningful hue
		return 0
	}
	h = float32(math.Mod(float64(h), 360))
	if h < 0 {
		h += 360
	}
	if h >= 360 { // float rounding of a tiny negative value
		h = 0
	}
	return h
}

// HueOf returns the HSV hue (degrees) and saturation of c; tests and the status
// page use it to check what colour a pixel shows.
func HueOf(c RGBF) (hue, sat float32) {
	maxc := max(c.R, c.G, c.B)
	minc := min(c.R, c.G, c.B)
	d := maxc - minc
	if maxc <= 0 || d <= 0 {
		return 0, 0
	}
	switch maxc {
	case c.R:
		hue = 60 * float32(math.Mod(float64((c.G-c.B)/d), 6))
	case c.G:
		hue = 60 * ((c.B-c.R)/d + 2)
	default:
		hue = 60 * ((c.R-c.G)/d + 4)
	}
	return wrapHue(hue), d / maxc
}
