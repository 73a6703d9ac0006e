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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/audiofile"
)

var (
	dumpCorpus = flag.String("corpus", "", "notebench corpus folder (WAV files)")
	dumpOut    = flag.String("out", "", "folder for one <clip>.csv per WAV")
)

func TestDumpOnsetEvents(t *testing.T) {
	if *dumpCorpus == "" || *dumpOut == "" {
		t.Fatal("give -args -corpus DIR -out DIR")
	}
	wavs, err := filepath.Glob(filepath.Join(*dumpCorpus, "*.wav"))
	if err != nil || len(wavs) == 0 {
		t.Fatalf("no WAV files in %s (%v)", *dumpCorpus, err)
	}
	if err := os.MkdirAll(*dumpOut, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, wav := range wavs {
		id := strings.TrimSuffix(filepath.Base(wav), ".wav")
		if err := dumpClip(wav, filepath.Join(*dumpOut, id+".csv")); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

// dumpClip feeds the clip one tick at a time, as `ledbridge analyze` does,
// and writes: kind (0 birth, 1 re-attack flag), frame time, MIDI, the
// event's probability under the current weights, then its features in the
// order of birthWeights or reattackWeights.
func dumpClip(wav, csv string) error {
	in, err := os.Open(wav)
	if err != nil {
		return err
	}
	defer in.Close()
	src, err := audiofile.Open(in)
	if err != nil {
		return err
	}
	out, err := os.Create(csv)
	if err != nil {
		return err
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	a, err := New(Config{})
	if err != nil {
		return err
	}
	a.tracker.minReattackP, a.tracker.minBirthP = 0, 0
	a.tracker.events = make([]onsetEvent, 0, 256)
	block := make([]float32, SampleRate/FrameRate)
	var f Features
	for {
		n := 0
		for n < len(block) {
			m, rerr := src.Read(block[n:])
			n += m
			if rerr != nil {
				err = rerr
				break
			}
		}
		if n > 0 {
			a.Write(block[:n])
			a.Frame(&f)
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
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	return w.Flush()
}
