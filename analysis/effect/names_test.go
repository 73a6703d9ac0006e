package effect

import (
	"slices"
	"testing"
)

// The name lists are what the parsers read: every name parses to a value that prints as it, and
// every value prints as a listed name (bridge/config offers the lists as a key's choices).
func TestNamesAreWhatTheParsersRead(t *testing.T) {
	for _, n := range EffectNames {
		if e, err := ParseEffect(n); err != nil || e.String() != n {
			t.Errorf("ParseEffect(%q) = %v, %v", n, e, err)
		}
	}
	for _, e := range []Effect{EffectNotes, EffectPulse, EffectSpectrum} {
		if !slices.Contains(EffectNames, e.String()) {
			t.Errorf("EffectNames lacks %q", e)
		}
	}
	for _, n := range IdleLookNames {
		if l, err := ParseIdleLook(n); err != nil || l.String() != n {
			t.Errorf("ParseIdleLook(%q) = %v, %v", n, l, err)
		}
	}
	for _, l := range []IdleLook{IdleBreathing, IdleOff, IdleSolid} {
		if !slices.Contains(IdleLookNames, l.String()) {
			t.Errorf("IdleLookNames lacks %q", l)
		}
	}
	for _, n := range ResampleNames {
		if r, err := ParseResample(n); err != nil || r.String() != n {
			t.Errorf("ParseResample(%q) = %v, %v", n, r, err)
		}
	}
	for _, r := range []Resample{ResampleNearest, ResampleLinear} {
		if !slices.Contains(ResampleNames, r.String()) {
			t.Errorf("ResampleNames lacks %q", r)
		}
	}
}
