package audiofile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Limits that keep a hostile header from steering memory use or loops.
const (
	maxChannels   = 8
	minRate       = 8000
	maxRate       = 384000
	maxFmtChunk   = 1024
	maxSkipChunks = 1000
	readFrames    = 4096 // frames decoded per underlying read
)

// WAVE format tags.
const (
	wavePCM        = 1
	waveFloat      = 3
	waveExtensible = 0xFFFE
)

// wavReader decodes the data chunk of a RIFF/WAVE stream to mono float32 at
// the file's own sample rate, averaging the channels.
type wavReader struct {
	r         *bufio.Reader
	format    Format
	remaining int64 // bytes left in the data chunk; -1 when unknown (read to EOF)
	frameSize int
	frames    int64 // frames decoded so far
	raw       []byte
}

func openWAV(br *bufio.Reader) (*wavReader, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: WAV header: %v", ErrMalformed, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrUnsupported)
	}
	w := &wavReader{r: br}
	riffSize := int64(binary.LittleEndian.Uint32(hdr[4:8]))
	pos := int64(len(hdr)) // bytes of the file consumed so far
	haveFmt := false
	for i := 0; ; i++ {
		if i > maxSkipChunks {
			return nil, fmt.Errorf("%w: WAV: no data chunk in the first %d chunks", ErrMalformed, maxSkipChunks)
		}
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: WAV: no data chunk (%v)", ErrMalformed, err)
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		pos += int64(len(ch))
		switch id {
		case "fmt ":
			if size < 16 || size > maxFmtChunk {
				return nil, fmt.Errorf("%w: WAV fmt chunk of %d bytes", ErrMalformed, size)
			}
			buf := make([]byte, size+size&1)
			if _, err := io.ReadFull(br, buf); err != nil {
				return nil, fmt.Errorf("%w: WAV fmt chunk: %v", ErrMalformed, err)
			}
			if err := w.parseFmt(buf[:size]); err != nil {
				return nil, err
			}
			haveFmt = true
			pos += int64(len(buf))
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: WAV data chunk before fmt chunk", ErrMalformed)
			}
			w.remaining = size
			switch {
			case !sizeUnknown(size):
			case sizeUnknown(riffSize) || !chunkFollows(br, pos, riffSize):
				// A streaming recorder cannot know the size when it writes the header, so
				// the samples run to the end of the file.
				w.remaining = -1
			default:
				// Another chunk follows inside the RIFF: the data chunk really is empty
				// (0xFFFFFFFF bytes could not fit before it either).
				w.remaining = 0
			}
			w.raw = make([]byte, readFrames*w.frameSize)
			return w, nil
		default:
			if _, err := io.CopyN(io.Discard, br, size+size&1); err != nil {
				return nil, fmt.Errorf("%w: WAV chunk %q: %v", ErrMalformed, id, err)
			}
			pos += size + size&1
		}
	}
}

// sizeUnknown reports whether a RIFF or data chunk size is one of the placeholders streaming
// writers put in a header they never come back to fix: 0 or 0xFFFFFFFF.
func sizeUnknown(size int64) bool { return size == 0 || size == 0xFFFFFFFF }

// chunkFollows reports whether the 8 bytes at br (file offset pos, just past a data chunk's
// header) are the header of another chunk that fits inside the RIFF size: an ID of four
// printable ASCII characters (RIFF's FOURCC) and a size that ends at or before the RIFF's end.
// Audio samples are rarely four printable characters in a row, and never also a size that
// lands inside the RIFF, so this tells "an empty data chunk, then LIST" from "a streamed data
// chunk whose size was never written".
func chunkFollows(br *bufio.Reader, pos, riffSize int64) bool {
	next, err := br.Peek(8)
	if err != nil { // the file ends within 8 bytes: nothing follows the data chunk
		return false
	}
	for _, c := range next[:4] {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	size := int64(binary.LittleEndian.Uint32(next[4:8]))
	return pos+8+size <= 8+riffSize
}

// ksDataFormatBase is the sub-format GUID of WAVE_FORMAT_EXTENSIBLE after its 16-bit format code:
// xxxx0000-0000-0010-8000-00aa00389b71, as stored (little-endian fields).
var ksDataFormatBase = []byte{0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71}

func (w *wavReader) parseFmt(b []byte) error {
	tag := binary.LittleEndian.Uint16(b[0:2])
	channels := int(binary.LittleEndian.Uint16(b[2:4]))
	rate32 := binary.LittleEndian.Uint32(b[4:8]) // checked as read: int is 32 bits on ARM
	blockAlign := int(binary.LittleEndian.Uint16(b[12:14]))
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if tag == waveExtensible {
		if len(b) < 40 {
			return fmt.Errorf("%w: WAV extensible fmt chunk too short", ErrMalformed)
		}
		// The sub-format GUID is a format code in Microsoft's base GUID. Another GUID that starts
		// with a PCM code (ambisonic B-format's) holds something else, and must not be read as PCM.
		if !bytes.Equal(b[26:40], ksDataFormatBase) {
			return fmt.Errorf("%w: WAV extensible with sub-format %x (want PCM or IEEE float)", ErrUnsupported, b[24:40])
		}
		tag = binary.LittleEndian.Uint16(b[24:26])
	}
	switch {
	case tag == wavePCM && (bits == 16 || bits == 24 || bits == 32):
	case tag == waveFloat && bits == 32:
	default:
		return fmt.Errorf("%w: WAV format %d with %d bits per sample (want 16/24/32-bit integer or 32-bit float)", ErrUnsupported, tag, bits)
	}
	if channels < 1 || channels > maxChannels {
		return fmt.Errorf("%w: WAV with %d channels (want 1 to %d)", ErrUnsupported, channels, maxChannels)
	}
	if rate32 < minRate || rate32 > maxRate {
		return fmt.Errorf("%w: WAV sample rate %d Hz (want %d to %d)", ErrUnsupported, rate32, minRate, maxRate)
	}
	if blockAlign != channels*bits/8 {
		return fmt.Errorf("%w: WAV block align %d does not match %d channels of %d bits", ErrMalformed, blockAlign, channels, bits)
	}
	w.format = Format{Container: "wav", SampleRate: int(rate32), Channels: channels, BitsPerSample: bits, Float: tag == waveFloat}
	w.frameSize = blockAlign
	return nil
}

// Read decodes up to len(dst) mono samples. A data chunk the file ends inside (a recording
// cut short) yields the whole frames that are there, then io.EOF, wherever the cut falls; only
// a data chunk without one whole frame is an error.
func (w *wavReader) Read(dst []float32) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	if w.remaining == 0 {
		return 0, io.EOF
	}
	frames := min(len(dst), readFrames)
	want := int64(frames * w.frameSize)
	if w.remaining > 0 {
		want = min(want, w.remaining)
	}
	n, err := io.ReadFull(w.r, w.raw[:want])
	n -= n % w.frameSize
	if w.remaining > 0 {
		w.remaining -= int64(n)
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if n == 0 && w.frames == 0 && w.remaining > 0 {
			return 0, fmt.Errorf("%w: WAV data ends before its first sample", ErrMalformed)
		}
		w.remaining = 0 // keep what was there; EOF comes next
		err = nil
	case err != nil && n == 0:
		return 0, err
	}
	if n == 0 { // only a partial frame was left
		w.remaining = 0
		return 0, io.EOF
	}
	w.frames += int64(n / w.frameSize)
	return w.decode(w.raw[:n], dst), err
}

func (w *wavReader) decode(raw []byte, dst []float32) int {
	ch := w.format.Channels
	frames := len(raw) / w.frameSize
	// One loop per sample format keeps the per-sample work to a load and a
	// multiply; channels are averaged.
	scale := float32(1) / float32(ch)
	switch {
	case w.format.Float:
		for f := 0; f < frames; f++ {
			sum := float32(0)
			for c := 0; c < ch; c++ {
				sum += clampSample(math.Float32frombits(binary.LittleEndian.Uint32(raw[(f*ch+c)*4:])))
			}
			dst[f] = sum * scale
		}
	case w.format.BitsPerSample == 16 && ch == 1:
		// The common case (and notebench's): one load and one multiply per sample, no channel
		// loop; float32(int32(v)) * scale is what the general loop computes for one channel.
		scale /= 1 << 15
		raw, dst := raw[:2*frames], dst[:frames]
		for f := range dst {
			dst[f] = float32(int32(int16(binary.LittleEndian.Uint16(raw[2*f:])))) * scale
		}
	case w.format.BitsPerSample == 16:
		scale /= 1 << 15
		for f := 0; f < frames; f++ {
			sum := int32(0)
			for c := 0; c < ch; c++ {
				sum += int32(int16(binary.LittleEndian.Uint16(raw[(f*ch+c)*2:])))
			}
			dst[f] = float32(sum) * scale
		}
	case w.format.BitsPerSample == 24:
		scale /= 1 << 23
		for f := 0; f < frames; f++ {
			sum := int32(0)
			for c := 0; c < ch; c++ {
				b := raw[(f*ch+c)*3:]
				sum += int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			}
			dst[f] = float32(sum) * scale
		}
	default: // 32-bit integer
		scale /= 1 << 31
		for f := 0; f < frames; f++ {
			sum := float32(0)
			for c := 0; c < ch; c++ {
				sum += float32(int32(binary.LittleEndian.Uint32(raw[(f*ch+c)*4:])))
			}
			dst[f] = sum * scale
		}
	}
	return frames
}

// clampSample is the live path's rule for a decoded sample (bridge/audio's sanitize, applied to
// every decoder's output before the mix): beyond full scale is full scale (±Inf included), NaN is
// silence. A float WAV may hold samples past ±1 (a mix rendered hot); clipping them as the live
// path clips a hot input keeps the waveform whole, where zeroing them (or passing them to the
// analyser, which zeroes anything past ±4) would punch holes in it that read as notes or hide one.
func clampSample(v float32) float32 {
	switch {
	case v > 1:
		return 1
	case v < -1:
		return -1
	case v != v: // NaN
		return 0
	}
	return v
}
