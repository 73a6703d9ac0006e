package analysis

import (
	"encoding/binary"
	"math"
	"testing"
)

// fuzzConfigs are the configurations FuzzAnalyzer picks from: the defaults, the extremes of
// every range Validate allows, and SpectrumOnly.
var fuzzConfigs = []Config{
	{},
	{SpectrumOnly: true},
	{ShortFFT: 128, MidFFT: 512, LongFFT: 1024, WindowTail: 0.5},
	{MinHz: 20, MaxHz: 12000, Harmonics: maxHarmonics, MaxPolyphony: MaxNotes, HoldFrames: 60, ConfirmFrames: 30},
	{PeakProminence: 1, RelThreshold: 1e-9, MinNoteDB: -120, MinNoteRelDB: -120, OnsetSensitivity: 0.1, ReattackRatio: 0.1},
	{TuningHz: 480, MinHz: 1000, MaxHz: 1001, WindowTail: 0.02, PeakProminence: 100, MaxPolyphony: 1, Harmonics: 1},
}

// specialSamples are the values a broken source can hand the analyser.
var specialSamples = []float32{
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, 4, -4, 4.0001,
	1, -1, math.SmallestNonzeroFloat32, math.MaxFloat32, 0.5, // 0.5 repeated is DC
}

// FuzzAnalyzer writes arbitrary PCM (16-bit values, with NaN, ±Inf, huge, clipped and DC samples
// spliced in) in blocks of arbitrary sizes, 0 included, under every extreme configuration, and
// checks that every Frame is well formed: finite, in range, notes sorted within MaxNotes.
//
// Each input runs whole files or seconds of audio, so minimising the first interesting input
// takes the default minute; run it with a short minimisation:
//
//	go test -run XXX -fuzz '^FuzzAnalyzer$' -fuzztime 60s -fuzzminimizetime 1s -parallel 1 ./analysis/
func FuzzAnalyzer(f *testing.F) {
	f.Add([]byte{0x00, 0x40, 0x00, 0xc0}, []byte{0, 3, 7}, uint16(800), uint8(0), uint8(40))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, []byte{12, 12, 12, 12}, uint16(1), uint8(1), uint8(200))
	f.Add([]byte{}, []byte{}, uint16(0), uint8(2), uint8(10))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{0, 1, 2}, uint16(48000), uint8(3), uint8(255))
	f.Add([]byte{0x10, 0x20}, []byte{9}, uint16(257), uint8(4), uint8(100))
	f.Add([]byte{0x10, 0x20}, []byte{5}, uint16(3), uint8(5), uint8(100))
	// Tonal seeds, so that mutations start from audio that reaches the pitch tracker.
	tone := make([]float32, seconds(0.25))
	addPiano(tone, 0, 60, 0.3)
	addPiano(tone, 600, 64, 0.3)
	addBass(tone, 0, len(tone), 28, 0.3)
	f.Add(int16Bytes(tone), []byte{}, uint16(800), uint8(0), uint8(0))
	f.Add(int16Bytes(tone), []byte{3, 0, 200, 1}, uint16(801), uint8(3), uint8(1))
	f.Add(int16Bytes(drumLoop(seconds(0.25))), []byte{}, uint16(4000), uint8(4), uint8(1))
	f.Fuzz(func(t *testing.T, raw, specials []byte, blockSeed uint16, cfgIdx, repeat uint8) {
		a, err := New(fuzzConfigs[int(cfgIdx)%len(fuzzConfigs)])
		if err != nil {
			t.Fatal(err)
		}
		// The audio: raw as 16-bit samples, repeated to at most 0.5 s, with special values
		// at positions the second input picks.
		n := min((len(raw)/2)*(1+int(repeat)), SampleRate/2)
		pcm := make([]float32, n)
		for i := range pcm {
			j := 2 * (i % (len(raw) / 2))
			pcm[i] = float32(int16(binary.LittleEndian.Uint16(raw[j:]))) / 32768
		}
		for i := 0; i+1 < len(specials) && n > 0; i += 2 {
			pcm[int(specials[i])*int(specials[i+1]+1)*37%n] = specialSamples[int(specials[i+1])%len(specialSamples)]
		}
		var feat Features
		size := uint32(blockSeed)
		for {
			block := min(int(size%4801), len(pcm)) // 0 to 100 ms
			a.Write(pcm[:block])
			pcm = pcm[block:]
			a.Frame(&feat)
			checkFeatures(t, &feat)
			if len(pcm) == 0 {
				break
			}
			size = size*1103515245 + 12345
		}
		a.Write(nil)
		a.Frame(&feat)
		checkFeatures(t, &feat)
	})
}

func checkFeatures(t *testing.T, f *Features) {
	t.Helper()
	finite01 := func(what string, v float32) {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("%s = %v, want 0–1: %+v", what, v, f)
		}
	}
	if f.NumNotes < 0 || f.NumNotes > MaxNotes || math.IsNaN(f.T) || f.T < 0 {
		t.Fatalf("malformed frame %+v", f)
	}
	finite01("Level", f.Level)
	finite01("AttackLevel", f.AttackLevel)
	for i, b := range f.Bands {
		finite01("Bands["+string(rune('0'+i%10))+"]", b)
	}
	if !(f.PeakHz >= 0 && f.PeakHz <= SampleRate/2) {
		t.Fatalf("PeakHz %v: %+v", f.PeakHz, f)
	}
	for i, n := range f.ActiveNotes() {
		if n.MIDI < 0 || n.MIDI > 127 || !(n.Hz > 0 && n.Hz < SampleRate/2) {
			t.Fatalf("note %d %+v", i, n)
		}
		finite01("Velocity", n.Velocity)
		if i > 0 && n.Velocity > f.Notes[i-1].Velocity {
			t.Fatalf("notes not loudest first: %+v", f.ActiveNotes())
		}
	}
}

func int16Bytes(pcm []float32) []byte {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(max(-1, min(1, v))*32767)))
	}
	return b
}
