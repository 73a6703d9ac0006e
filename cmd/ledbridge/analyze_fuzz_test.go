package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
)

// FuzzOpenAudio feeds `analyze`'s reader (format sniffing, WAV via audiofile, Ogg Opus through
// the page reader, the decoder, pre-skip, end trimming and gain) arbitrary files: every one must
// end in samples and io.EOF or an error, never a panic; the samples must be finite (within ±1
// from Opus; WAV samples are clipped to ±1 as the live path clips, and resampling can at most
// multiply that by its kernel's L1 norm, 2.39 at the worst rate, still well inside the ±4 the
// analyser takes as audio) and their count bounded by the input (an Opus packet of at least a
// byte decodes to at most 120 ms).
//
// Each input runs whole files or seconds of audio, so minimising the first interesting input
// takes the default minute; run it with a short minimisation:
//
//	go test -run XXX -fuzz '^FuzzOpenAudio$' -fuzztime 60s -fuzzminimizetime 1s -parallel 1 ./cmd/ledbridge/
func FuzzOpenAudio(f *testing.F) {
	for _, name := range []string{"silk_wb_mono_16k.opus", "hybrid_fec_mono_32k.opus"} {
		if data, err := os.ReadFile("../../testdata/opus/" + name); err == nil {
			f.Add(data)
			f.Add(data[:min(len(data), 1500)])
			// Family 1, one mono stream, the right channel silent: the weighted mapping path.
			f.Add(withChannelMapping(f, data, 2, 1, 1, 0, 0, 255)[:min(len(data), 1500)])
		}
	}
	// Pages of 2.5 ms packets, the last one's end trimmed by more than a packet, in a link
	// without its end-of-stream page, chained to another.
	f.Add(append(encodeOggOpus(f, 0xa, 0.1, 120, 30, 300, false), encodeOggOpus(f, 0xb, 0.05, 480, 4, 0, true)...))
	// An empty data chunk, then a LIST chunk.
	f.Add([]byte("RIFF\x2e\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00\x88\x58\x01\x00\x02\x00\x10\x00data\x00\x00\x00\x00LIST\x02\x00\x00\x00ab"))
	f.Add([]byte("RIFF\x2c\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00\x88\x58\x01\x00\x02\x00\x10\x00data\x08\x00\x00\x00\x01\x00\xff\x7f\x00\x80\x10\x00"))
	f.Add([]byte("OggS"))
	f.Fuzz(func(t *testing.T, file []byte) {
		for _, in := range [][]byte{file, ogg.FixChecksums(file)} {
			src, err := openAudio(bytes.NewReader(in))
			if err != nil {
				continue
			}
			bound := float32(2.5)
			if bytes.HasPrefix(in, []byte("OggS")) {
				bound = 1
			}
			buf := make([]float32, 800)
			total, limit := 0, audio.MaxPacketSamples*len(in)+6*len(in)+1000
			for {
				n, err := src.Read(buf)
				for _, v := range buf[:n] {
					if !(v >= -bound && v <= bound) {
						t.Fatalf("sample %v out of ±%v", v, bound)
					}
				}
				total += n
				if total > limit {
					t.Fatalf("%d samples from a %d-byte file", total, len(in))
				}
				if err != nil {
					break
				}
			}
		}
	})
}
