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
				want += float64(pf.weight[h] * pf.residual[p+1]) // rounded, as score rounds it
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

// matchReference is match as it was written before it kept the strongest
// amplitude and the list of matched peaks as it went: the straightforward
// form, for TestMatchMatchesReference.
func matchReference(pf *pitchFinder, w *window, m int) (candidate, bool) {
	c := candidate{midi: m, partial: noPartials}
	nominal := pf.midiHz(m)
	est := nominal
	sumW, sumF := 0.0, 0.0
	next := 0
	for h := 1; h <= pf.harmonics; h++ {
		target := float64(h) * est
		if target > w.peakHi {
			break
		}
		c.nh = h
		for next < w.nPeaks && w.peakHz[next] < target {
			next++
		}
		p := next
		if p == w.nPeaks || (p > 0 && target-w.peakHz[p-1] < w.peakHz[p]-target) {
			p--
		}
		if p < 0 {
			continue
		}
		tol := max(partialTolerance*target, binTolerance*w.binHz)
		if math.Abs(w.peakHz[p]-target) > tol || c.partial[h-1] == int8(p) {
			continue
		}
		c.partial[h] = int8(p)
		c.matched++
		est = w.peakHz[p] / float64(h)
		sumW += w.peakAmp[p]
		sumF += w.peakAmp[p] * est
	}
	if c.matched == 0 || sumW == 0 {
		return c, false
	}
	strongest := 0.0
	for h := 1; h <= c.nh; h++ {
		if p := c.partial[h]; p >= 0 {
			strongest = max(strongest, w.peakAmp[p])
		}
	}
	c.matched = 0
	for h := 1; h <= c.nh; h++ {
		if p := c.partial[h]; p >= 0 && w.peakAmp[p] >= strongPartialRatio*strongest && w.peakPro[p] >= pf.prominence {
			c.matched++
		}
	}
	c.hz = sumF / sumW
	if c.matched < pf.minStrong {
		return c, false
	}
	if c.matched < 2 && (c.hz < lowNoteHz || c.partial[1] < 0 || w.peakPro[c.partial[1]] < singlePartialProminence) {
		return c, false
	}
	cents := 1200 / math.Ln2 * fastLn(c.hz/nominal)
	c.fit = math.Exp(-(cents * cents) / (2 * pitchFitCents * pitchFitCents))
	return c, true
}

// match must find the candidates matchReference finds, bit for bit, over
// windows of harmonic, inharmonic and random peaks.
func TestMatchMatchesReference(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := a.mid
	pf := &a.finders[0]
	seed := uint64(1)
	rnd := func() float64 {
		seed = seed*6364136223846793005 + 1442695040888963407
		return float64(seed>>11) / (1 << 53)
	}
	kept := 0
	for trial := range 3000 {
		pf.minStrong = 1 + 2*(trial%2)
		f0 := 60 * math.Exp2(5*rnd())
		n := 0
		for hz := f0 * (0.9 + 0.2*rnd()); hz < w.peakHi && n < maxPeaks; hz += f0 * (0.3 + 1.4*rnd()) {
			w.peakHz[n], w.peakAmp[n], w.peakPro[n] = hz*(1+0.02*(rnd()-0.5)), math.Exp(-4*rnd()), 20*rnd()
			n++
		}
		w.nPeaks = n
		for m := 24; m < 100; m++ {
			want, wantOK := matchReference(pf, w, m)
			pf.nCands = 0
			gotOK := pf.match(w, m)
			if gotOK != wantOK {
				t.Fatalf("trial %d, MIDI %d: match kept %v, want %v", trial, m, gotOK, wantOK)
			}
			if !gotOK {
				continue
			}
			kept++
			got := pf.cands[0]
			if got.midi != want.midi || got.partial != want.partial || got.nh != want.nh || got.matched != want.matched ||
				math.Float64bits(got.hz) != math.Float64bits(want.hz) || math.Float64bits(got.fit) != math.Float64bits(want.fit) {
				t.Fatalf("trial %d, MIDI %d: candidate %+v, want %+v", trial, m, got, want)
			}
		}
	}
	if kept == 0 {
		t.Fatal("no candidate was kept: the test checks nothing")
	}
}
