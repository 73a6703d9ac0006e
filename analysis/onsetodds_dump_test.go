//go:build onsetdump

// The training dump for the onset odds (onsetodds.go): not a test, and not
// built without the onsetdump tag. It runs the analyser over every WAV of a
// notebench corpus with the odds turned off (the event stream the weights
// were fitted on) and writes each judged event with its features, one CSV
// per clip, for testdata/notebench-train/fit_onset_odds.py:
//
//	go test -tags onsetdump -run TestDumpOnsetEvents -count=1 ./analysis/ \
//	    -args -corpus /work/nb/set-T -out /tmp/onset-events/set-T

package analysis

import (
	"bufio"
	"fmt"
	"testing"
)

func TestDumpOnsetEvents(t *testing.T) {
	dumpEachClip(t, ".csv", dumpClip)
}

// dumpClip feeds the clip one tick at a time, as `ledbridge analyze` does,
// and writes: kind (0 birth, 1 re-attack flag), frame time, MIDI, the
// event's probability under the current weights, then its features in the
// order of birthWeights or reattackWeights.
func dumpClip(wav, csv string) error {
	a, err := New(Config{})
	if err != nil {
		return err
	}
	a.tracker.minReattackP, a.tracker.minBirthP = 0, 0
	a.tracker.events = make([]onsetEvent, 0, 256)
	return dumpTicks(wav, csv, a, func(f *Features, w *bufio.Writer) error {
		for _, e := range a.tracker.events {
			kind, nf := 0, birthFeatures
			if e.reattack {
				kind, nf = 1, reattackFeatures
			}
			fmt.Fprintf(w, "%d,%.6f,%d,%.6g", kind, f.T, e.midi, e.p)
			for _, x := range e.features[:nf] {
				fmt.Fprintf(w, ",%.6g", x)
			}
			fmt.Fprintln(w)
		}
		a.tracker.events = a.tracker.events[:0]
		return nil
	})
}
