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
	"os"
	"path/filepath"
	"testing"

	"github.com/ledbridge/ledbridge/analysis/audiofile"
)

func TestDumpNoteNet(t *testing.T) {
	dumpEachClip(t, ".f32", dumpNetClip)
}

func dumpNetClip(wav, out string) error {
	a, err := New(Config{})
	if err != nil {
		return err
	}
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
	flag01 := func(b bool) float32 {
		if b {
			return 1
		}
		return 0
	}
	return dumpTicks(wav, out, a, func(f *Features, w *bufio.Writer) error {
		rec = rec[:0]
		rec = append(rec, float32(f.T), float32(a.onset.flux), f.Level, float32(a.loudness), flag01(f.Onset), float32(a.sinceOnset), f.AttackLevel)
		for i := range netWindows {
			rec = append(rec, a.net.spec.cur[i][:]...)
		}
		det(&a.fastFinder)
		det(&a.finders[0])
		det(&a.finders[1])
		for m := netLoMIDI; m <= netHiMIDI; m++ {
			rec = append(rec, flag01(a.tracker.on[m]))
		}
		for m := netLoMIDI; m <= netHiMIDI; m++ {
			rec = append(rec, float32(a.tracker.age[m]))
		}
		// the tracker's onset flags, which the net replaced in f
		for _, fl := range a.net.oldFlag {
			rec = append(rec, flag01(fl))
		}
		return binary.Write(w, binary.LittleEndian, rec)
	})
}

// BenchmarkAnalyzeClip analyses every WAV of -corpus, tick by tick, for a
// CPU profile of real material (`-bench AnalyzeClip -cpuprofile`).
func BenchmarkAnalyzeClip(b *testing.B) { benchClip(b, Config{}) }

func BenchmarkAnalyzeClipRules(b *testing.B) { benchClip(b, Config{RuleNotes: true}) }

func benchClip(b *testing.B, cfg Config) {
	wavs, _ := filepath.Glob(filepath.Join(*dumpCorpus, "*.wav"))
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
