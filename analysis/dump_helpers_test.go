//go:build onsetdump || notenetdump

// What the training dumps (onsetodds_dump_test.go, notenet_dump_test.go)
// share: the corpus and output flags, the walk over a corpus's WAV files,
// and feeding one file to an Analyzer a tick at a time, as `ledbridge
// analyze` does.

package analysis

import (
	"bufio"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/audiofile"
)

var (
	dumpCorpus = flag.String("corpus", "", "notebench corpus folder (WAV files)")
	dumpOut    = flag.String("out", "", "folder for one output file per WAV")
)

// dumpEachClip calls dump(wav, out) for every WAV of -corpus, out being
// <-out>/<clip id><ext>.
func dumpEachClip(t *testing.T, ext string, dump func(wav, out string) error) {
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
		if err := dump(wav, filepath.Join(*dumpOut, id+ext)); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

// dumpTicks feeds wav to a a tick (800 samples) at a time and calls tick
// after each Frame, writing into out through a buffered writer.
func dumpTicks(wav, out string, a *Analyzer, tick func(f *Features, w *bufio.Writer) error) error {
	in, err := os.Open(wav)
	if err != nil {
		return err
	}
	defer in.Close()
	src, err := audiofile.Open(in)
	if err != nil {
		return err
	}
	file, err := os.Create(out)
	if err != nil {
		return err
	}
	defer file.Close()
	w := bufio.NewWriter(file)
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
			if terr := tick(&f, w); terr != nil {
				return terr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return file.Close()
}
