//go:build notenetdump

// The training dump for the note net (notenet.go): not a test, and not
// built without the notenetdump tag. It runs the analyser over every WAV of
// a notebench corpus and writes, per clip, one record of float32 values per
// 60 fps frame (layout in testdata/notebench-train/notenet.py):
//
//	go test -tags notenetdump -run TestDumpNoteNet -count=1 ./analysis/ \
//	    -args -corpus /work/nb/set-T -out /tmp/notenet/set-T

package analysis

import (
	"bufio"
	"encoding/binary"
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
	netCorpus = flag.String("corpus", "", "notebench corpus folder (WAV files)")
	netOut    = flag.String("out", "", "folder for one <clip>.f32 per WAV")
)

func TestDumpNoteNet(t *testing.T) {
	if *netCorpus == "" || *netOut == "" {
		t.Fatal("give -args -corpus DIR -out DIR")
	}
	wavs, err := filepath.Glob(filepath.Join(*netCorpus, "*.wav"))
	if err != nil || len(wavs) == 0 {
		t.Fatalf("no WAV files in %s (%v)", *netCorpus, err)
	}
	if err := os.MkdirAll(*netOut, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, wav := range wavs {
		id := strings.TrimSuffix(filepath.Base(wav), ".wav")
		if err := dumpNetClip(wav, filepath.Join(*netOut, id+".f32")); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

func dumpNetClip(wav, path string) error {
	in, err := os.Open(wav)
	if err != nil {
		return err
	}
	defer in.Close()
	src, err := audiofile.Open(in)
	if err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	a, err := New(Config{})
	if err != nil {
		return err
	}
	block := make([]float32, SampleRate/FrameRate)
	var f Features
	rec := make([]float32, 0, 1024)
	det := func(pf *pitchFinder) {
		var d [netPitches]float32
		for _, n := range pf.notes[:pf.nNotes] {
			if n.midi >= netLoMIDI && n.midi <= netHiMIDI {
				d[n.midi-netLoMIDI] = float32(n.amp)
			}
		}
		rec = append(rec, d[:]...)
	}
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
			rec = rec[:0]
			on := float32(0)
			if f.Onset {
				on = 1
			}
			rec = append(rec, float32(f.T), float32(a.onset.flux), f.Level, float32(a.loudness), on, float32(a.sinceOnset), f.AttackLevel)
			for i := range netWindows {
				rec = append(rec, a.net.spec.cur[i][:]...)
			}
			det(&a.fastFinder)
			det(&a.finders[0])
			det(&a.finders[1])
			for m := netLoMIDI; m <= netHiMIDI; m++ {
				v := float32(0)
				if a.tracker.on[m] {
					v = 1
				}
				rec = append(rec, v)
			}
			for m := netLoMIDI; m <= netHiMIDI; m++ {
				rec = append(rec, float32(a.tracker.age[m]))
			}
			// the tracker's onset flags, which the net replaced in f
			for _, fl := range a.net.oldFlag {
				v := float32(0)
				if fl {
					v = 1
				}
				rec = append(rec, v)
			}
			if err := binary.Write(w, binary.LittleEndian, rec); err != nil {
				return err
			}
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

// BenchmarkAnalyzeClip analyses every WAV of -corpus, tick by tick, for a
// CPU profile of real material (`-bench AnalyzeClip -cpuprofile`).
func BenchmarkAnalyzeClip(b *testing.B) { benchClip(b, Config{}) }

func BenchmarkAnalyzeClipRules(b *testing.B) { benchClip(b, Config{RuleNotes: true}) }

func benchClip(b *testing.B, cfg Config) {
	wavs, _ := filepath.Glob(filepath.Join(*netCorpus, "*.wav"))
	var pcm []float32
	for _, wav := range wavs[:min(len(wavs), 12)] {
		in, err := os.Open(wav)
		if err != nil {
			b.Fatal(err)
		}
		src, err := audiofile.Open(in)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]float32, 4096)
		for {
			n, err := src.Read(buf)
			pcm = append(pcm, buf[:n]...)
			if err != nil {
				break
			}
		}
		in.Close()
	}
	a, _ := New(cfg)
	block := SampleRate / FrameRate
	var f Features
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off := (i * block) % (len(pcm) - block)
		a.Write(pcm[off : off+block])
		a.Frame(&f)
	}
}
