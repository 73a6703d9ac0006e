package audiofile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wavFile builds a WAV file of a sine at hz (amplitude amp) in the given
// sample format, with the same signal in every channel.
func wavFile(t testing.TB, rate, channels, bits int, float bool, extensible bool, hz, amp float64, frames int) []byte {
	t.Helper()
	var data bytes.Buffer
	for i := 0; i < frames; i++ {
		v := amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))
		for c := 0; c < channels; c++ {
			switch {
			case float:
				binary.Write(&data, binary.LittleEndian, float32(v))
			case bits == 16:
				binary.Write(&data, binary.LittleEndian, int16(math.Round(v*32767)))
			case bits == 24:
				x := int32(math.Round(v * (1<<23 - 1)))
				data.Write([]byte{byte(x), byte(x >> 8), byte(x >> 16)})
			default:
				binary.Write(&data, binary.LittleEndian, int32(math.Round(v*(1<<31-1))))
			}
		}
	}
	tag := uint16(wavePCM)
	if float {
		tag = waveFloat
	}
	var fmtChunk bytes.Buffer
	if extensible {
		binary.Write(&fmtChunk, binary.LittleEndian, uint16(waveExtensible))
	} else {
		binary.Write(&fmtChunk, binary.LittleEndian, tag)
	}
	binary.Write(&fmtChunk, binary.LittleEndian, uint16(channels))
	binary.Write(&fmtChunk, binary.LittleEndian, uint32(rate))
	binary.Write(&fmtChunk, binary.LittleEndian, uint32(rate*channels*bits/8))
	binary.Write(&fmtChunk, binary.LittleEndian, uint16(channels*bits/8))
	binary.Write(&fmtChunk, binary.LittleEndian, uint16(bits))
	if extensible {
		binary.Write(&fmtChunk, binary.LittleEndian, uint16(22))
		binary.Write(&fmtChunk, binary.LittleEndian, uint16(bits))
		binary.Write(&fmtChunk, binary.LittleEndian, uint32(0))
		binary.Write(&fmtChunk, binary.LittleEndian, tag) // sub-format GUID starts with the tag
		fmtChunk.Write([]byte{0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71})
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+fmtChunk.Len()+8+3+1+8+data.Len()))
	out.WriteString("WAVE")
	out.WriteString("fmt ")
	binary.Write(&out, binary.LittleEndian, uint32(fmtChunk.Len()))
	out.Write(fmtChunk.Bytes())
	out.WriteString("LIST") // an odd-sized chunk to skip, with its pad byte
	binary.Write(&out, binary.LittleEndian, uint32(3))
	out.Write([]byte{1, 2, 3, 0})
	out.WriteString("data")
	binary.Write(&out, binary.LittleEndian, uint32(data.Len()))
	out.Write(data.Bytes())
	return out.Bytes()
}

func readAll(t testing.TB, r *Reader) []float32 {
	t.Helper()
	var out []float32
	buf := make([]float32, 1000)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// measure returns the amplitude of the hz component of pcm, by correlation.
func measure(pcm []float32, hz float64) (amp float64) {
	var s, c float64
	for i, v := range pcm {
		ph := 2 * math.Pi * hz * float64(i) / TargetRate
		s += float64(v) * math.Sin(ph)
		c += float64(v) * math.Cos(ph)
	}
	return 2 * math.Hypot(s, c) / float64(len(pcm))
}

func TestWAVFormats(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		rate, channels, bits int
		float, ext           bool
	}{
		{"16-bit mono 48k", 48000, 1, 16, false, false},
		{"24-bit stereo 48k", 48000, 2, 24, false, false},
		{"32-bit mono 48k", 48000, 1, 32, false, false},
		{"float stereo 48k", 48000, 2, 32, true, false},
		{"16-bit stereo 44.1k", 44100, 2, 16, false, false},
		{"24-bit extensible 96k", 96000, 1, 24, false, true},
		{"float extensible 22.05k", 22050, 2, 32, true, true},
		{"16-bit mono 8k", 8000, 1, 16, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := wavFile(t, tc.rate, tc.channels, tc.bits, tc.float, tc.ext, 440, 0.5, tc.rate) // 1 s
			r, err := Open(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if f := r.Format(); f.SampleRate != tc.rate || f.Channels != tc.channels || f.BitsPerSample != tc.bits || f.Float != tc.float {
				t.Fatalf("format %+v", f)
			}
			pcm := readAll(t, r)
			if d := len(pcm) - TargetRate; d < -2 || d > 2 {
				t.Fatalf("%d samples for 1 s, want %d", len(pcm), TargetRate)
			}
			// Skip the resampler's edges; the sine must come out at 440 Hz, amplitude 0.5.
			mid := pcm[2400 : len(pcm)-2400]
			if a := measure(mid, 440); math.Abs(a-0.5) > 0.005 {
				t.Errorf("440 Hz amplitude %.4f after decoding, want 0.5", a)
			}
			if a := measure(mid, 452); a > 0.02 {
				t.Errorf("energy at 452 Hz %.4f: wrong rate conversion?", a)
			}
		})
	}
}

func TestRejectsBadFiles(t *testing.T) {
	good := wavFile(t, 48000, 1, 16, false, false, 440, 0.5, 100)
	patch := func(off int, b ...byte) []byte {
		c := bytes.Clone(good)
		copy(c[off:], b)
		return c
	}
	ext := wavFile(t, 48000, 1, 16, false, true, 440, 0.5, 100)
	// fmt chunk at 12 (its data at 20), the sub-format GUID at 20+24; its last 14 bytes are the base.
	ambisonic := bytes.Clone(ext)
	copy(ambisonic[20+24:], []byte{1, 0, 0, 0, 0x21, 0x07, 0xd3, 0x11, 0x86, 0x44, 0xc8, 0xc1, 0xca, 0, 0, 0})
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrUnsupported},
		{"extensible, ambisonic B-format sub-format", ambisonic, ErrUnsupported},
		{"extensible, fmt too short for its GUID", append(append(append(bytes.Clone(ext[:16]), 32, 0, 0, 0), ext[20:52]...), ext[60:]...), ErrMalformed},
		{"text", []byte("hello, this is not audio"), ErrUnsupported},
		{"ogg vorbis-ish", []byte("OggS\x00\x02garbage"), ErrUnsupported},
		{"RIFF but AVI", patch(8, 'A', 'V', 'I', ' '), ErrUnsupported},
		{"truncated header", good[:20], ErrMalformed},
		{"8-bit", patch(34, 8, 0), ErrUnsupported},
		{"ADPCM", patch(20, 2, 0), ErrUnsupported},
		{"0 channels", patch(22, 0, 0), ErrUnsupported},
		{"rate 1 Hz", patch(24, 1, 0, 0, 0), ErrUnsupported},
		{"block align lies", patch(32, 7, 0), ErrMalformed},
		{"huge fmt chunk", patch(16, 0xff, 0xff, 0xff, 0x7f), ErrMalformed},
		{"no data chunk", good[:36+12], ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(bytes.NewReader(tc.file))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTruncatedDataKeepsWhatIsThere(t *testing.T) {
	file := wavFile(t, 48000, 1, 16, false, false, 440, 0.5, 1000)
	r, err := Open(bytes.NewReader(file[:len(file)-501])) // cut inside a sample
	if err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, r)); n != 1000-251 {
		t.Fatalf("read %d samples from a file cut after 749.5", n)
	}
}

func TestStreamingDataSize(t *testing.T) {
	// Recorders that stream write 0 or 0xFFFFFFFF as the data size: read to EOF.
	file := wavFile(t, 48000, 1, 16, false, false, 440, 0.5, 480)
	i := bytes.Index(file, []byte("data"))
	binary.LittleEndian.PutUint32(file[i+4:], 0xFFFFFFFF)
	r, err := Open(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, r)); n != 480 {
		t.Fatalf("read %d samples, want 480", n)
	}
}

func TestFloatGarbageIsSilenced(t *testing.T) {
	file := wavFile(t, 48000, 1, 32, true, false, 440, 0.5, 4)
	i := bytes.Index(file, []byte("data")) + 8
	binary.LittleEndian.PutUint32(file[i:], math.Float32bits(float32(math.NaN())))
	binary.LittleEndian.PutUint32(file[i+4:], math.Float32bits(float32(math.Inf(1))))
	r, err := Open(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range readAll(t, r) {
		if v != v || v > 1 || v < -1 {
			t.Fatalf("sample %v passed through", v)
		}
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(wavFile(f, 48000, 1, 16, false, false, 440, 0.5, 64))
	f.Add(wavFile(f, 44100, 2, 24, false, true, 440, 0.5, 64))
	f.Add(wavFile(f, 22050, 1, 32, true, false, 440, 0.5, 64))
	f.Fuzz(func(t *testing.T, file []byte) {
		r, err := Open(bytes.NewReader(file))
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		buf := make([]float32, 512)
		total := 0
		for {
			n, err := r.Read(buf)
			total += n
			if err != nil {
				break
			}
			// Output is bounded by the input: at most 384 kHz → 48 kHz is
			// a 6× upsampling of at most len(file)/2 frames, plus a kernel.
			if total > 6*len(file)+1000 {
				t.Fatalf("%d samples from %d bytes", total, len(file))
			}
		}
	})
}

// TestDecode16BitExact: 16-bit samples decode to v/32768 exactly, through the mono fast path and
// the general (stereo) loop alike.
func TestDecode16BitExact(t *testing.T) {
	values := []int16{0, 1, -1, 32767, -32768, 12345, -20000}
	for _, ch := range []int{1, 2} {
		w := &wavReader{format: Format{Channels: ch, BitsPerSample: 16}, frameSize: 2 * ch}
		raw := make([]byte, 0, 2*ch*len(values))
		for _, v := range values {
			for range ch {
				raw = append(raw, byte(uint16(v)), byte(uint16(v)>>8))
			}
		}
		dst := make([]float32, len(values))
		if n := w.decode(raw, dst); n != len(values) {
			t.Fatalf("%d channels: decoded %d frames, want %d", ch, n, len(values))
		}
		for i, v := range values {
			if want := float32(v) / 32768; dst[i] != want {
				t.Errorf("%d channels: sample %d = %v, want %v", ch, v, dst[i], want)
			}
		}
	}
}

// TestTruncatedDataWhereverTheCutFalls: a data chunk cut short yields its whole frames and then
// io.EOF whether the cut falls inside a read, on a frame boundary, or exactly where a read ends
// (readAll reads 1000 frames at a time, Read at most readFrames; such a cut used to be an error
// while a cut one byte later was not); a cut before the first whole frame is ErrMalformed.
func TestTruncatedDataWhereverTheCutFalls(t *testing.T) {
	const frames = 2*readFrames + 100
	for _, channels := range []int{1, 2} {
		file := wavFile(t, 48000, channels, 16, false, false, 440, 0.5, frames)
		data := bytes.Index(file, []byte("data")) + 8
		frameSize := 2 * channels
		for _, cut := range []int{
			1000 * frameSize, 1000*frameSize + 1, 1000*frameSize - 1, 2000 * frameSize,
			readFrames * frameSize, 100 * frameSize, 100*frameSize + 1, frameSize,
		} {
			r, err := Open(bytes.NewReader(file[:data+cut]))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(readAll(t, r)); n != cut/frameSize {
				t.Errorf("%d channels, data cut after %d bytes: %d samples, want %d", channels, cut, n, cut/frameSize)
			}
		}
		for _, cut := range []int{0, frameSize - 1} {
			r, err := Open(bytes.NewReader(file[:data+cut]))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Read(make([]float32, 100)); !errors.Is(err, ErrMalformed) {
				t.Errorf("%d channels, data cut after %d bytes: Read = %v, want ErrMalformed", channels, cut, err)
			}
		}
	}
}

// TestReadIntoEmptySliceIsNotEOF: Read(nil) reads nothing and reports nothing, as io.Reader's
// contract asks, at 48 kHz (no resampler) and through the resampler alike.
func TestReadIntoEmptySliceIsNotEOF(t *testing.T) {
	for _, rate := range []int{48000, 44100} {
		r, err := Open(bytes.NewReader(wavFile(t, rate, 1, 16, false, false, 440, 0.5, 1000)))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := r.Read(nil); n != 0 || err != nil {
			t.Fatalf("%d Hz: Read(nil) = %d, %v; want 0, nil", rate, n, err)
		}
		if n := len(readAll(t, r)); n < 1000*48000/rate-2 {
			t.Fatalf("%d Hz: %d samples after Read(nil)", rate, n)
		}
	}
}

// TestReadErrorIsNotCalledAFormat: a file that cannot be read (a directory, an I/O error) is
// reported with the read error, not as "too short to be audio".
func TestReadErrorIsNotCalledAFormat(t *testing.T) {
	diskError := errors.New("input/output error")
	_, err := Open(iotest.ErrReader(diskError))
	if !errors.Is(err, diskError) || errors.Is(err, ErrUnsupported) {
		t.Fatalf("Open of an unreadable file = %v, want the read error", err)
	}
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if _, err := Open(dir); errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("Open of a directory = %v, want the read error naming it", err)
	}
}

// chunkedWAV builds a 16-bit mono WAV of the given rate from fmt and then the chunks as given
// (id, declared size, body; a pad byte follows an odd body). riffSize < 0 writes the true size.
func chunkedWAV(rate int, riffSize int64, chunks ...wavChunk) []byte {
	var body bytes.Buffer
	body.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(wavePCM), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&body, binary.LittleEndian, v)
	}
	for _, c := range chunks {
		body.WriteString(c.id)
		binary.Write(&body, binary.LittleEndian, c.size)
		body.Write(c.body)
		if len(c.body)%2 == 1 {
			body.WriteByte(0)
		}
	}
	if riffSize < 0 {
		riffSize = int64(body.Len())
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(riffSize))
	return append(out, body.Bytes()...)
}

type wavChunk struct {
	id   string
	size uint32
	body []byte
}

// loudPCM is 16-bit mono samples whose bytes are all printable ASCII ("AAAA" is 0x4141,
// 0x4141): the worst case for telling streamed samples from a chunk header.
func loudPCM(frames int) []byte { return bytes.Repeat([]byte("AB"), frames) }

// TestDataSizeZeroIsUnknownOnlyWhenTheFileSaysSo: a data chunk declaring 0 (or 0xFFFFFFFF)
// bytes is read to the end of the file only when it is the last chunk (a streaming writer's
// header) or the RIFF size is a placeholder too. An empty data chunk followed by a LIST chunk
// is an empty recording: its LIST bytes used to be decoded as samples.
func TestDataSizeZeroIsUnknownOnlyWhenTheFileSaysSo(t *testing.T) {
	list := wavChunk{"LIST", 26, []byte("INFOISFT\x0e\x00\x00\x00Lavf58.76.100\x00")}
	samples := loudPCM(480)
	const whole = -1
	for _, c := range []struct {
		name     string
		riffSize int64
		chunks   []wavChunk
		want     int // samples at the file's rate
	}{
		{"empty data, then LIST", whole, []wavChunk{{"data", 0, nil}, list}, 0},
		{"0xFFFFFFFF data, then LIST", whole, []wavChunk{{"data", 0xFFFFFFFF, nil}, list}, 0},
		{"empty data, then an odd-sized chunk", whole, []wavChunk{{"data", 0, nil}, {"id3 ", 5, []byte("ID3\x04\x00")}}, 0},
		{"empty data, last chunk", whole, []wavChunk{{"data", 0, nil}}, 0},
		// A writer that streamed its samples after a header of sizes 0 (RIFF 36: the file ends
		// at the data header as far as the header knows) and never came back to fix them.
		{"data 0, RIFF ends at the data header, samples follow", 36, []wavChunk{{"data", 0, samples}}, 480},
		{"data 0, RIFF 0, samples follow", 0, []wavChunk{{"data", 0, samples}}, 480},
		{"data 0xFFFFFFFF, RIFF 0xFFFFFFFF, samples follow", 0xFFFFFFFF, []wavChunk{{"data", 0xFFFFFFFF, samples}}, 480},
		{"data 0, RIFF sized, samples follow", whole, []wavChunk{{"data", 0, samples}}, 480},
		// A RIFF size that is a placeholder too says the writer knew nothing: read to the end.
		{"data 0, RIFF 0xFFFFFFFF, samples then LIST", 0xFFFFFFFF, []wavChunk{{"data", 0, samples}, list}, 480 + (8+26)/2},
		{"declared size, then LIST", whole, []wavChunk{{"data", uint32(len(samples)), samples}, list}, 480},
	} {
		for _, rate := range []int{48000, 44100} {
			r, err := Open(bytes.NewReader(chunkedWAV(rate, c.riffSize, c.chunks...)))
			if err != nil {
				t.Fatalf("%s, %d Hz: %v", c.name, rate, err)
			}
			got := readAll(t, r)
			want := c.want
			if rate != TargetRate {
				want = int(math.Ceil(float64(c.want) * TargetRate / float64(rate)))
			}
			if len(got) != want {
				t.Errorf("%s, %d Hz: %d samples, want %d", c.name, rate, len(got), want)
			}
		}
	}
}

// TestFloatBeyondFullScaleIsClippedLikeTheLivePath: a float WAV's samples past ±1 are clipped
// to ±1 (±Inf too) and NaN is silence, each channel before the channels are averaged, as the
// live path clips every decoder's output; nothing past full scale is zeroed or passed on.
func TestFloatBeyondFullScaleIsClippedLikeTheLivePath(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range []struct {
		name     string
		channels int
		in       []float32
		want     []float32
	}{
		{"mono", 1,
			[]float32{2, -5, 8.5, 1e30, inf, -inf, nan, 0.5, -1, 1.0000001},
			[]float32{1, -1, 1, 1, 1, -1, 0, 0.5, -1, 1}},
		{"stereo", 2,
			[]float32{2, -0.5, -3, 0.25, 9, 9, nan, 0.5},
			[]float32{0.25, -0.375, 1, 0.25}},
	} {
		file := wavFile(t, 48000, c.channels, 32, true, false, 440, 0.5, len(c.in)/c.channels)
		i := bytes.Index(file, []byte("data")) + 8
		for k, v := range c.in {
			binary.LittleEndian.PutUint32(file[i+4*k:], math.Float32bits(v))
		}
		r, err := Open(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, r)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d samples, want %d", c.name, len(got), len(c.want))
		}
		for k := range got {
			if got[k] != c.want[k] {
				t.Errorf("%s: sample %d is %v, want %v (from %v)", c.name, k, got[k], c.want[k], c.in[k*c.channels:(k+1)*c.channels])
			}
		}
	}
}

// A sample rate beyond int32 is refused with the rate the header holds. It used to go through int
// first, which on 32-bit ARM made 4294967295 Hz read "-1 Hz".
func TestHugeSampleRateIsReportedAsWritten(t *testing.T) {
	good := wavFile(t, 48000, 1, 16, false, false, 440, 0.5, 100)
	for _, rate := range []uint32{1 << 31, 1<<32 - 1} {
		file := bytes.Clone(good)
		binary.LittleEndian.PutUint32(file[24:28], rate)
		_, err := Open(bytes.NewReader(file))
		want := fmt.Sprintf("WAV sample rate %d Hz (want 8000 to 384000)", rate)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), want) {
			t.Errorf("rate %d: Open = %v, want ErrUnsupported saying %q", rate, err, want)
		}
	}
}
