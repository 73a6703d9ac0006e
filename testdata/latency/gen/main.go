// Command gen writes note_bursts.wav: the source audio of the processing-latency fixture. It is a
// series of piano-like note bursts separated by silence, so that every burst is one clean onset:
// 125 cycles of 803 ms (500 ms of digital silence, then a 303 ms note), 48 kHz mono 16-bit.
// The cycle is not a multiple of the 20 ms Opus packet, so the onsets fall at every 1 ms offset
// inside a packet in turn (803 mod 20 = 3 ms). Deterministic: no randomness.
//
// Usage: go run ./testdata/latency/gen OUT.wav
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

const (
	rate      = 48000
	bursts    = 125
	silenceMS = 500
	noteMS    = 303
	harmonics = 8
	attackMS  = 3    // linear rise: a hammer, not a click
	decayTau  = 0.25 // seconds, exponential decay of the note
	releaseMS = 20   // linear fade to zero at the end of the note
	amplitude = 0.5
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen OUT.wav")
		os.Exit(2)
	}
	silence := rate * silenceMS / 1000
	note := rate * noteMS / 1000
	pcm := make([]int16, 0, bursts*(silence+note))
	for b := 0; b < bursts; b++ {
		pcm = append(pcm, make([]int16, silence)...)
		// MIDI 48 (C3) to 84 (C6), stepping by a fifth so consecutive notes differ in colour.
		midi := 48 + (b*7)%37
		f0 := 440 * math.Pow(2, float64(midi-69)/12)
		for i := 0; i < note; i++ {
			t := float64(i) / rate
			env := math.Exp(-t / decayTau)
			if a := float64(i) / (rate * attackMS / 1000); a < 1 {
				env *= a
			}
			if r := float64(note-i) / (rate * releaseMS / 1000); r < 1 {
				env *= r
			}
			var v float64
			for k := 1; k <= harmonics; k++ {
				if float64(k)*f0 >= rate/2 {
					break
				}
				v += math.Sin(2*math.Pi*float64(k)*f0*t) / float64(k)
			}
			pcm = append(pcm, int16(math.Round(32767*amplitude*env*v/2)))
		}
	}
	if err := writeWAV(os.Args[1], pcm); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func writeWAV(path string, pcm []int16) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	n := uint32(2 * len(pcm))
	hdr := []any{
		[4]byte{'R', 'I', 'F', 'F'}, 36 + n, [4]byte{'W', 'A', 'V', 'E'},
		[4]byte{'f', 'm', 't', ' '}, uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16),
		[4]byte{'d', 'a', 't', 'a'}, n,
	}
	for _, v := range hdr {
		if err := binary.Write(f, binary.LittleEndian, v); err != nil {
			f.Close()
			return err
		}
	}
	if err := binary.Write(f, binary.LittleEndian, pcm); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
