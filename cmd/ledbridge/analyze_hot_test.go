package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFloatWAV writes a mono 32-bit float WAV at rate.
func writeFloatWAV(t *testing.T, rate int, pcm []float32) string {
	t.Helper()
	var f bytes.Buffer
	f.WriteString("RIFF")
	binary.Write(&f, binary.LittleEndian, uint32(36+4*len(pcm)))
	f.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(3), uint16(1), uint32(rate), uint32(rate * 4), uint16(4), uint16(32)} {
		binary.Write(&f, binary.LittleEndian, v)
	}
	f.WriteString("data")
	binary.Write(&f, binary.LittleEndian, uint32(4*len(pcm)))
	binary.Write(&f, binary.LittleEndian, pcm)
	path := filepath.Join(t.TempDir(), "hot.wav")
	if err := os.WriteFile(path, f.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAnalyzeHotFloatWAVIsClippedLikeTheLivePath: a float WAV mixed past full scale (a 440 Hz
// sine at +6, +20 and +60 dB, at 48 and 44.1 kHz) is analysed exactly as the same sine clipped
// to ±1 beforehand, since the live path clips every decoder's output so; and the analyser hears
// the clipped A4 and nothing else. Zeroing the samples past some bound instead leaves a
// waveform full of holes, and passing them on lets the analyser zero those past ±4.
func TestAnalyzeHotFloatWAVIsClippedLikeTheLivePath(t *testing.T) {
	for _, rate := range []int{48000, 44100} {
		for _, db := range []float64{6, 20, 60} {
			gain := math.Pow(10, db/20)
			hot, clipped := make([]float32, rate), make([]float32, rate)
			for i := range hot {
				v := gain * math.Sin(2*math.Pi*440*float64(i)/float64(rate))
				hot[i], clipped[i] = float32(v), float32(min(max(v, -1), 1))
			}
			var got, want bytes.Buffer
			if err := runAnalyze(&got, writeFloatWAV(t, rate, hot), analysisConfigZero(), false); err != nil {
				t.Fatal(err)
			}
			if err := runAnalyze(&want, writeFloatWAV(t, rate, clipped), analysisConfigZero(), false); err != nil {
				t.Fatal(err)
			}
			gotLines, wantLines := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
			if len(gotLines) != len(wantLines) {
				t.Fatalf("%d Hz, +%.0f dB: %d lines, the clipped sine gives %d", rate, db, len(gotLines), len(wantLines))
			}
			for k := range gotLines {
				if gotLines[k] != wantLines[k] {
					t.Fatalf("%d Hz, +%.0f dB: frame %d is\n%s\nthe sine clipped beforehand gives\n%s", rate, db, k, gotLines[k], wantLines[k])
				}
			}
			a4 := 0
			for _, line := range wantLines[:len(wantLines)-1] {
				var f frameLine
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				for _, n := range f.Notes {
					if n.Name != "A4" {
						t.Fatalf("%d Hz, +%.0f dB: t=%.3f: %s (%.1f Hz) in a clipped 440 Hz sine", rate, db, f.T, n.Name, n.Hz)
					}
					a4++
				}
			}
			if a4 < len(wantLines)/2 {
				t.Fatalf("%d Hz, +%.0f dB: A4 in %d of %d frames", rate, db, a4, len(wantLines)-1)
			}
		}
	}
}
