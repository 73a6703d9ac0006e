package analysis

import (
	"math"
	"testing"
)

// score and maxResidual add every partial, a missing one through the
// residual's zero slot: they must equal the sums over the partials found,
// bit for bit.
func TestScoreSkipsMissingPartialsExactly(t *testing.T) {
	pf := newPitchFinder(Config{}.withDefaults())
	for p := range maxPeaks {
		pf.residual[p+1] = math.Abs(math.Sin(float64(p))) * float64(p%5)
	}
	for trial := range 200 {
		c := candidate{nh: 1 + trial%maxHarmonics, fit: 0.5 + float64(trial%3)/4, partial: noPartials}
		for h := 1; h <= c.nh; h++ {
			if (trial*7+h*3)%4 != 0 {
				c.partial[h] = int8((trial*5 + h*11) % maxPeaks)
			}
		}
		want, wantMax := 0.0, 0.0
		for h := 1; h <= c.nh; h++ {
			if p := c.partial[h]; p >= 0 {
				want += pf.weight[h] * pf.residual[p+1]
				wantMax = max(wantMax, pf.residual[p+1])
			}
		}
		want *= c.fit
		if got := pf.score(&c, nil); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("trial %d: score %v, want %v", trial, got, want)
		}
		if got := pf.maxResidual(&c); math.Float64bits(got) != math.Float64bits(wantMax) {
			t.Fatalf("trial %d: maxResidual %v, want %v", trial, got, wantMax)
		}
	}
}
