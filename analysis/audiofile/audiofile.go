// Package audiofile reads WAV files as 48 kHz mono float32 PCM, the form the
// analysis engine takes. (Ogg Opus is decoded by bridge/audio; the analyze
// command picks the reader by the file's first bytes.)
package audiofile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrUnsupported reports a file that is valid but in a format this
	// package does not read (another container, codec or sample format).
	ErrUnsupported = errors.New("unsupported audio format")
	// ErrMalformed reports a file whose structure is broken or truncated.
	ErrMalformed = errors.New("malformed audio file")
)

// TargetRate is the sample rate every Reader produces.
const TargetRate = 48000

// Format describes the source file.
type Format struct {
	Container     string // "wav"
	SampleRate    int    // Hz, of the file
	Channels      int
	BitsPerSample int // 0 for compressed formats
	Float         bool
}

func (f Format) String() string {
	switch {
	case f.Container == "wav" && f.Float:
		return fmt.Sprintf("WAV %d Hz, %d ch, 32-bit float", f.SampleRate, f.Channels)
	case f.Container == "wav":
		return fmt.Sprintf("WAV %d Hz, %d ch, %d-bit", f.SampleRate, f.Channels, f.BitsPerSample)
	default:
		return fmt.Sprintf("%s %d Hz, %d ch", f.Container, f.SampleRate, f.Channels)
	}
}

// source yields mono samples at its own rate.
type source interface {
	Read(dst []float32) (int, error)
}

// Reader yields a file's audio as 48 kHz mono float32.
type Reader struct {
	format Format
	src    source
}

// Format describes the file being read.
func (r *Reader) Format() Format { return r.format }

// Read fills dst with up to len(dst) samples; it returns io.EOF at the end.
func (r *Reader) Read(dst []float32) (int, error) { return r.src.Read(dst) }

// Open reads a WAV header and prepares to decode the samples, resampled to
// 48 kHz when the file has another rate.
func Open(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: file too short to be audio", ErrUnsupported)
	}
	if err != nil { // a directory, an I/O error: say so rather than blame the format
		return nil, fmt.Errorf("audiofile: %w", err)
	}
	var src source
	var format Format
	switch string(magic) {
	case "RIFF":
		w, err := openWAV(br)
		if err != nil {
			return nil, err
		}
		src, format = w, w.format
	default:
		return nil, fmt.Errorf("%w: not a WAV file", ErrUnsupported)
	}
	if format.SampleRate != TargetRate {
		src = newResampler(src, format.SampleRate, TargetRate)
	}
	return &Reader{format: format, src: src}, nil
}
