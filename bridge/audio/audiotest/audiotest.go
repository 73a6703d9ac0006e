// Package audiotest is what the receive path's tests share to make audio a sender would send:
// G.711 µ-law encoding, as a browser encodes PCMU.
package audiotest

// MuLaw is the G.711 µ-law code of a 16-bit sample (ITU-T G.711, the bias-and-segment form).
func MuLaw(x int16) byte {
	const bias, clip = 0x84, 32635
	v, sign := int(x), 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	return ^byte(sign | exp<<4 | (v>>(exp+3))&0x0f)
}
