package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/audiofile"
	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
)

// writeSineWAV writes a 16-bit stereo 44.1 kHz WAV: silence, then a sine.
func writeSineWAV(t *testing.T, hz, silence, tone float64) string {
	t.Helper()
	const rate = 44100
	var data bytes.Buffer
	n0, n1 := int(silence*rate), int((silence+tone)*rate)
	for i := 0; i < n1; i++ {
		v := 0.0
		if i >= n0 {
			v = 0.5 * math.Sin(2*math.Pi*hz*float64(i-n0)/rate)
		}
		s := int16(v * 32767)
		binary.Write(&data, binary.LittleEndian, [2]int16{s, s})
	}
	var f bytes.Buffer
	f.WriteString("RIFF")
	binary.Write(&f, binary.LittleEndian, uint32(36+data.Len()))
	f.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(2), uint32(rate), uint32(rate * 4), uint16(4), uint16(16)} {
		binary.Write(&f, binary.LittleEndian, v)
	}
	f.WriteString("data")
	binary.Write(&f, binary.LittleEndian, uint32(data.Len()))
	f.Write(data.Bytes())
	path := filepath.Join(t.TempDir(), "a4.wav")
	if err := os.WriteFile(path, f.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type frameLine struct {
	T     float64 `json:"t"`
	Notes []struct {
		MIDI     int     `json:"midi"`
		Name     string  `json:"name"`
		Hz       float64 `json:"hz"`
		Velocity float64 `json:"velocity"`
		Onset    bool    `json:"onset"`
	} `json:"notes"`
}

func TestAnalyzeWAVWritesOneJSONLinePerFrame(t *testing.T) {
	path := writeSineWAV(t, 440, 0.5, 1.0)
	var out bytes.Buffer
	if err := runAnalyze(&out, path, analysisConfigZero(), false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 90 { // 1.5 s at 60 fps
		t.Fatalf("%d lines for 1.5 s, want 90", len(lines))
	}
	onsets, a4 := 0, 0
	for k, line := range lines {
		var f frameLine
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("line %d %q: %v", k, line, err)
		}
		if want := float64(k+1) / 60; math.Abs(f.T-want) > 1e-6 {
			t.Fatalf("line %d: t=%v, want %v (time of the newest sample)", k, f.T, want)
		}
		for _, n := range f.Notes {
			if n.MIDI != 69 || n.Name != "A4" || math.Abs(n.Hz-440) > 2 || n.Velocity <= 0 || n.Velocity > 1 {
				t.Fatalf("t=%.3f: note %+v, want A4 at 440 Hz", f.T, n)
			}
			a4++
			if n.Onset {
				onsets++
				if f.T < 0.5 || f.T > 0.6 {
					t.Errorf("onset at t=%.3f, the tone starts at 0.5 s", f.T)
				}
			}
		}
	}
	if onsets != 1 || a4 < 50 {
		t.Fatalf("A4 in %d frames with %d onsets; want ~60 frames and one onset", a4, onsets)
	}
}

func TestAnalyzeOggOpus(t *testing.T) {
	const fixture = "../../testdata/opus/a3_220hz.opus"
	if _, err := os.Stat(fixture); err != nil {
		requireOrSkip(t, "fixture "+fixture+" not present: "+err.Error())
	}
	var out bytes.Buffer
	if err := runAnalyze(&out, fixture, analysisConfigZero(), true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " A3(") {
		t.Fatalf("no A3 in the text log of a 220 Hz Opus file:\n%.600s", out.String())
	}
}

func TestAnalyzeBadFileExitsOneWithOneLine(t *testing.T) {
	bin := buildBinary(t)
	junk := filepath.Join(t.TempDir(), "junk.wav")
	if err := os.WriteFile(junk, []byte("RIFF\x10\x00\x00\x00WAVEjunkjunk"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{junk, filepath.Join(t.TempDir(), "missing.wav"), "../../go.mod"} {
		cmd := exec.Command(bin, "analyze", file)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("%s: exit status %d, want 1", file, code)
		}
		if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || stdout.Len() != 0 {
			t.Errorf("%s: want one line on stderr and nothing on stdout, got %q / %q", file, stderr.String(), stdout.String())
		}
		if file == "../../go.mod" && !strings.Contains(stderr.String(), "not a WAV or Ogg Opus file") {
			t.Errorf("%s: the error does not say which formats are read: %q", file, stderr.String())
		}
	}
}

func TestAnalyzeSetOverridesConfig(t *testing.T) {
	cfg := analysisConfigZero()
	if err := setConfigField(&cfg, "HoldFrames=7"); err != nil || cfg.HoldFrames != 7 {
		t.Fatalf("HoldFrames: %v %d", err, cfg.HoldFrames)
	}
	if err := setConfigField(&cfg, "TuningHz=432.5"); err != nil || cfg.TuningHz != 432.5 {
		t.Fatalf("TuningHz: %v %v", err, cfg.TuningHz)
	}
	if err := setConfigField(&cfg, "RuleNotes=true"); err != nil || !cfg.RuleNotes {
		t.Fatalf("RuleNotes: %v %v", err, cfg.RuleNotes)
	}
	for _, bad := range []string{"NoSuchField=1", "HoldFrames", "HoldFrames=x", "TuningHz=abc", "RuleNotes=maybe"} {
		if err := setConfigField(&cfg, bad); err == nil {
			t.Errorf("--set %s accepted", bad)
		}
	}
}

func TestAnalyzeTruncatedOggFails(t *testing.T) {
	const fixture = "../../testdata/opus/a3_220hz.opus"
	data, err := os.ReadFile(fixture)
	if err != nil {
		requireOrSkip(t, "fixture "+fixture+" not present: "+err.Error())
	}
	cut := filepath.Join(t.TempDir(), "cut.opus")
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runAnalyze(&out, cut, analysisConfigZero(), false); err == nil {
		t.Fatal("a stream cut inside an Ogg page was accepted silently")
	}
}

// readAllPCM reads a pcmReader to its end.
func readAllPCM(t *testing.T, r pcmReader) []float32 {
	t.Helper()
	var out []float32
	buf := make([]float32, 700) // not a packet multiple, so packets straddle reads
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

// withOutputGain returns an Ogg Opus file with the OpusHead output gain (Q7.8 dB) replaced and
// the first page's checksum recomputed.
func withOutputGain(t *testing.T, file []byte, gain int16) []byte {
	t.Helper()
	f := bytes.Clone(file)
	nsegs := int(f[26])
	pageLen := 27 + nsegs
	for _, l := range f[27 : 27+nsegs] {
		pageLen += int(l)
	}
	head := 27 + nsegs
	if string(f[head:head+8]) != "OpusHead" {
		t.Fatal("the first page does not start with OpusHead")
	}
	binary.LittleEndian.PutUint16(f[head+16:], uint16(gain))
	binary.LittleEndian.PutUint32(f[22:], 0)
	binary.LittleEndian.PutUint32(f[22:], ogg.PageChecksum(f[:pageLen]))
	return f
}

// TestAnalyzeOggOpusDecodesLikeOpusdec: the streaming reader `analyze` uses yields exactly the
// samples audio.OggOpusReader (opusdec's rules, read whole) does: pre-skip dropped, the output gain applied,
// and the encoder's padding after the last granule position trimmed, so that a 3 s file gives
// 180 frames and not 181.
func TestAnalyzeOggOpusDecodesLikeOpusdec(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/opus/*.opus")
	if len(files) == 0 {
		requireOrSkip(t, "no fixtures in ../../testdata/opus")
	}
	a3, err := os.ReadFile("../../testdata/opus/a3_220hz.opus")
	if err != nil {
		requireOrSkip(t, "fixture a3_220hz.opus not present: "+err.Error())
	}
	cases := map[string][]byte{"a3_220hz.opus with -6 dB output gain": withOutputGain(t, a3, -6*256), "a3_220hz.opus with +12 dB output gain": withOutputGain(t, a3, 12*256)}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(f)] = data
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := decodeOggOpus(data, 1)
			if err != nil {
				t.Fatal(err)
			}
			src, err := openAudio(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			got := readAllPCM(t, src)
			if len(got) != len(want) {
				t.Fatalf("%d samples, opusdec's rules give %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("sample %d is %v, opusdec's rules give %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestAnalyzeNamesWAVVariantsItCannotRead: RF64/BW64 (WAV over 4 GB) and RIFX (big-endian) are
// WAV files; the error says which variant is unsupported instead of "not a WAV file".
func TestAnalyzeNamesWAVVariantsItCannotRead(t *testing.T) {
	for _, magic := range []string{"RF64", "BW64", "RIFX"} {
		_, err := openAudio(strings.NewReader(magic + "\xff\xff\xff\xffWAVEds64"))
		if !errors.Is(err, audiofile.ErrUnsupported) || !strings.Contains(err.Error(), magic+" WAV") {
			t.Errorf("%s: %v", magic, err)
		}
	}
}

// TestAnalyzeEmptyRecordingPrintsNoFrames: a WAV whose data chunk is empty (size 0, then a LIST
// chunk) has no samples, so `analyze` prints no frames and succeeds, in both formats and through
// the resampler; it used to decode the LIST chunk's bytes as a frame of noise.
func TestAnalyzeEmptyRecordingPrintsNoFrames(t *testing.T) {
	for _, rate := range []uint32{48000, 44100} {
		var f bytes.Buffer
		f.WriteString("RIFF")
		binary.Write(&f, binary.LittleEndian, uint32(4+24+8+8+26))
		f.WriteString("WAVEfmt ")
		for _, v := range []any{uint32(16), uint16(1), uint16(1), rate, rate * 2, uint16(2), uint16(16)} {
			binary.Write(&f, binary.LittleEndian, v)
		}
		f.WriteString("data\x00\x00\x00\x00")
		f.WriteString("LIST\x1a\x00\x00\x00INFOISFT\x0e\x00\x00\x00Lavf58.76.100\x00")
		path := filepath.Join(t.TempDir(), "empty.wav")
		if err := os.WriteFile(path, f.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, text := range []bool{false, true} {
			var out bytes.Buffer
			if err := runAnalyze(&out, path, analysisConfigZero(), text); err != nil {
				t.Fatalf("%d Hz, text %v: %v", rate, text, err)
			}
			if out.Len() != 0 {
				t.Fatalf("%d Hz, text %v: printed %q for a recording without samples", rate, text, out.String())
			}
		}
	}
}

// shiftGranules returns an Ogg file with every audio page's granule position (those above 0;
// -1 marks a page where no packet ends) moved by shift, and the checksums recomputed.
func shiftGranules(t *testing.T, file []byte, shift int64) []byte {
	t.Helper()
	f := bytes.Clone(file)
	moved := 0
	for off := 0; off+27 <= len(f) && string(f[off:off+4]) == "OggS"; {
		if g := int64(binary.LittleEndian.Uint64(f[off+6:])); g > 0 {
			binary.LittleEndian.PutUint64(f[off+6:], uint64(g+shift))
			moved++
		}
		nsegs := int(f[off+26])
		end := off + 27 + nsegs
		for _, l := range f[off+27 : off+27+nsegs] {
			end += int(l)
		}
		off = end
	}
	if moved < 2 {
		t.Fatalf("only %d audio pages", moved)
	}
	return ogg.FixChecksums(f)
}

// TestAnalyzeOggOpusStreamStartingMidway: an Ogg Opus stream cut from a live one starts at a
// non-zero granule position (RFC 7845 §4.5); `analyze` must still trim the last packet's padding,
// counting the end granule from the first page's granule position less its packets' samples,
// and so read exactly the samples of the same stream starting at 0 (it used to keep 648 more).
func TestAnalyzeOggOpusStreamStartingMidway(t *testing.T) {
	for _, name := range []string{"a3_220hz.opus", "celt_fb_stereo_128k.opus"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/opus", name))
		if err != nil {
			requireOrSkip(t, "fixture not present: "+err.Error())
		}
		src, err := openAudio(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		want := readAllPCM(t, src)
		for _, shift := range []int64{1, 48000*3600 + 123} {
			src, err := openAudio(bytes.NewReader(shiftGranules(t, data, shift)))
			if err != nil {
				t.Fatal(err)
			}
			got := readAllPCM(t, src)
			if len(got) != len(want) {
				t.Fatalf("%s, granule positions + %d: %d samples, want %d", name, shift, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s, granule positions + %d: sample %d is %v, want %v", name, shift, i, got[i], want[i])
				}
			}
		}
	}
}

// withChannelMapping returns an Ogg Opus file whose lone family 0 OpusHead (19 bytes, a page of
// its own) is rewritten to the given channel count, mapping family and table (stream count,
// coupled count, a mapping byte per channel), with the first page's checksum recomputed.
func withChannelMapping(t testing.TB, file []byte, channels int, family byte, table ...byte) []byte {
	t.Helper()
	if file[26] != 1 || file[27] != 19 || string(file[28:36]) != "OpusHead" {
		t.Fatal("the first page is not a lone family 0 OpusHead")
	}
	head := bytes.Clone(file[28:47])
	head[9], head[18] = byte(channels), family
	head = append(head, table...)
	page := append(bytes.Clone(file[:27]), byte(len(head)))
	page = append(page, head...)
	binary.LittleEndian.PutUint32(page[22:], 0)
	binary.LittleEndian.PutUint32(page[22:], ogg.PageChecksum(page))
	return append(page, file[47:]...)
}

// TestAnalyzeOggOpusChannelMappingFamily1: a mono or stereo Ogg Opus file with channel mapping
// family 1 and one stream (RFC 7845 allows it) is analysed like its family 0 original, its
// table honoured: the same frames, byte for byte, for tables that amount to family 0; a left
// channel alone is the original's left channel. They used to be refused as "multistream".
// What needs a multistream decoder, and a bad table, are one clear line and no frames.
func TestAnalyzeOggOpusChannelMappingFamily1(t *testing.T) {
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("../../testdata/opus", name))
		if err != nil {
			requireOrSkip(t, "fixture not present: "+err.Error())
		}
		return data
	}
	mono, stereo := read("a3_220hz.opus"), read("celt_fb_stereo_128k.opus")
	analyze := func(name string, file []byte) (string, error) {
		path := filepath.Join(t.TempDir(), name+".opus")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err := runAnalyze(&out, path, analysisConfigZero(), false)
		return out.String(), err
	}
	for _, c := range []struct {
		name           string
		original, file []byte
	}{
		{"mono stream, mono table", mono, withChannelMapping(t, mono, 1, 1, 1, 0, 0)},
		{"mono stream in both channels", mono, withChannelMapping(t, mono, 2, 1, 1, 0, 0, 0)},
		{"stereo stream, stereo table", stereo, withChannelMapping(t, stereo, 2, 1, 1, 1, 0, 1)},
		{"stereo stream, channels swapped", stereo, withChannelMapping(t, stereo, 2, 1, 1, 1, 1, 0)},
	} {
		want, err := analyze("original", c.original)
		if err != nil {
			t.Fatal(err)
		}
		got, err := analyze("family1", c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != want {
			t.Errorf("%s: analysis differs from the family 0 original's", c.name)
		}
	}

	// The left channel alone: exactly the left channel of the original's stereo decode.
	stereoPCM, err := decodeOggOpus(stereo, 2)
	if err != nil {
		t.Fatal(err)
	}
	src, err := openAudio(bytes.NewReader(withChannelMapping(t, stereo, 1, 1, 1, 1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	left := readAllPCM(t, src)
	if len(left) != len(stereoPCM)/2 {
		t.Fatalf("left channel only: %d samples, want %d", len(left), len(stereoPCM)/2)
	}
	for i, v := range left {
		if v != stereoPCM[2*i] {
			t.Fatalf("left channel only: sample %d is %v, the left channel's is %v", i, v, stereoPCM[2*i])
		}
	}

	for _, c := range []struct {
		name, says string
		file       []byte
		want       error
	}{
		{"two streams", "2 Opus streams per packet (channel mapping family 1, 2 channels) need a multistream decoder", withChannelMapping(t, stereo, 2, 1, 2, 0, 0, 1), audiofile.ErrUnsupported},
		{"5.1", "multistream decoder", withChannelMapping(t, stereo, 6, 1, 4, 2, 0, 4, 1, 2, 3, 5), audiofile.ErrUnsupported},
		{"mapping past the stream's channels", "decoded channel 1", withChannelMapping(t, mono, 2, 1, 1, 0, 0, 1), ogg.ErrNotOpus},
		{"no streams", "no streams", withChannelMapping(t, mono, 1, 1, 0, 0, 0), ogg.ErrNotOpus},
	} {
		out, err := analyze("bad", c.file)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n") || out != "" {
			t.Errorf("%s: err = %v (output %d bytes), want %v saying %q on one line, no output", c.name, err, len(out), c.want, c.says)
		}
	}
}

// analyze runs the analyser join would run: the config's analysis section, then --set. With A4
// tuned to 466.16 Hz (a semitone up), a 440 Hz tone is G#4.
func TestAnalyzeReadsTheConfigsAnalysisSection(t *testing.T) {
	bin := buildBinary(t)
	wav := writeSineWAV(t, 440, 0.2, 0.8)
	cfgPath := writeConfig(t, "analysis:\n  tuning_hz: 466.16\n")
	notes := func(args ...string) map[int]int {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"analyze", wav, "--config", cfgPath}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("analyze %v: %v\n%s", args, err, stderr.String())
		}
		seen := map[int]int{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var f frameLine
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			for _, n := range f.Notes {
				seen[n.MIDI]++
			}
		}
		return seen
	}
	if got := notes(); got[68] == 0 || got[69] != 0 {
		t.Errorf("tuning_hz 466.16 from the config: notes %v, want G#4 (68) only", got)
	}
	if got := notes("--set", "TuningHz=440"); got[69] == 0 || got[68] != 0 {
		t.Errorf("--set TuningHz=440 over the config: notes %v, want A4 (69) only", got)
	}

	cmd := exec.Command(bin, "analyze", wav, "--config", writeConfig(t, "analysis:\n  tuning_hz: 500\n"))
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != exitConfig || !strings.Contains(string(out), "analysis.tuning_hz") {
		t.Errorf("an invalid analysis section: exit %d, %q", cmd.ProcessState.ExitCode(), out)
	}
}

// analysisConfigZero is the zero (all defaults) analysis configuration.
func analysisConfigZero() analysis.Config { return analysis.Config{} }
