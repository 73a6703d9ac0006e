package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/audiofile"
	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/spf13/cobra"
)

func init() {
	var format string
	var sets []string
	cmd := &cobra.Command{
		Use:   "analyze FILE",
		Short: "Run the live note analyser over a WAV or Ogg Opus file, one line per 60 fps frame",
		Long: `Reads WAV (16/24/32-bit integer or 32-bit float, mono or stereo, any common
sample rate, resampled to 48 kHz) or Ogg Opus (also the Opus track of an
.ogv, and every link of a chained file in turn), runs exactly the analyser the
live path uses, and writes one JSON object per 60 fps frame to stdout:
  {"t": 1.016667, "notes": [{"midi": 60, "name": "C4", "hz": 261.6, "velocity": 0.82, "onset": true}], "level": 0.31, "onset": true}
where t is the time in seconds of the newest sample the frame used.
It starts from the configuration's analysis section (--config, as join reads it);
--set Name=value then overrides an analysis.Config field (e.g. --set HoldFrames=6), for
tuning; 0 is refused for a field whose zero means its default (HoldFrames=0 would be 4).
--format text prints a readable log instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" && format != "text" {
				return usageError{fmt.Errorf("--format must be json or text, not %q", format)}
			}
			loaded, err := loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			for _, w := range loaded.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			cfg := loaded.Analysis.Analyzer() // what join hands the live analyser
			for _, s := range sets {
				if err := setConfigField(&cfg, s); err != nil {
					return usageError{err}
				}
			}
			return runAnalyze(cmd.OutOrStdout(), args[0], cfg, format == "text")
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "output format: json (one object per line) or text")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override an analysis.Config field, Name=value (repeatable); 0 is refused where zero means the default")
	rootCmd.AddCommand(cmd)
}

// setConfigField parses "Name=value" into the numeric field Name of cfg.
func setConfigField(cfg *analysis.Config, kv string) error {
	name, val, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("--set %q: want Name=value", kv)
	}
	f := reflect.ValueOf(cfg).Elem().FieldByName(name)
	if !f.IsValid() || !f.CanSet() {
		return fmt.Errorf("--set: analysis.Config has no field %q", name)
	}
	v := reflect.New(f.Type()).Elem()
	switch f.Kind() {
	case reflect.Int:
		n, err := strconv.ParseInt(val, 10, 32) // beyond int32: n is the nearest int32
		if errors.Is(err, strconv.ErrRange) {
			return wholeNumberOutOfRange(name, val, n)
		}
		if err != nil {
			return fmt.Errorf("--set %s: %q is not an integer", name, val)
		}
		v.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("--set %s: %q is not true or false", name, val)
		}
		v.SetBool(b)
	case reflect.Float64:
		x, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return fmt.Errorf("--set %s: %q is not a number", name, val)
		}
		v.SetFloat(x)
	default:
		return fmt.Errorf("--set: field %q cannot be set from the command line", name)
	}
	if v.IsZero() {
		if def, ok := zeroMeansDefault(name); ok {
			return fmt.Errorf("--set %s=%s: %s cannot be 0, which analysis.Config takes as its default (%v); leave it out for the default", name, val, name, def)
		}
	}
	f.Set(v)
	return nil
}

// wholeNumberOutOfRange is the error for a --set whole number val beyond int32 (nearest is the
// int32 nearest it): an int cannot hold it on 32-bit ARM, and no analysis.Config field takes it,
// so it is refused on every architecture with the field's range, which the analyser tells for
// nearest.
func wholeNumberOutOfRange(name, val string, nearest int64) error {
	cfg := analysis.Config{}
	reflect.ValueOf(&cfg).Elem().FieldByName(name).SetInt(nearest)
	want := fmt.Sprintf("%d to %d", math.MinInt32, math.MaxInt32)
	if fe := (*analysis.FieldError)(nil); errors.As(cfg.Validate(), &fe) && fe.Field == name {
		want = fmt.Sprintf("%g to %g", fe.Min, fe.Max)
		if fe.PowerOfTwo {
			want = "a power of two from " + want
		}
	}
	return fmt.Errorf("--set %s: %s is out of range (want %s)", name, val, want)
}

// zeroMeansDefault reports whether analysis.New replaces a zero in the Config field name with a
// default, and that default. It asks the analyser itself (the Config an Analyzer built from the
// zero Config runs with), so the rule stays the analyser's: a --set Name=0 that silently ran
// with the default would look like a tuning that changes nothing.
func zeroMeansDefault(name string) (any, bool) {
	an, err := analysis.New(analysis.Config{})
	if err != nil {
		return nil, false
	}
	def := reflect.ValueOf(an.Config()).FieldByName(name)
	if !def.IsValid() || def.IsZero() {
		return nil, false
	}
	return def.Interface(), true
}

func runAnalyze(stdout io.Writer, path string, cfg analysis.Config, text bool) error {
	an, err := analysis.New(cfg)
	if err != nil {
		return usageError{err}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer f.Close()
	src, err := openAudio(f)
	if err != nil {
		return fmt.Errorf("analyze %s: %w", path, err)
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	block := make([]float32, analysis.SampleRate/analysis.FrameRate)
	var feat analysis.Features
	var line []byte
	for {
		n, err := readFull(src, block)
		if n > 0 {
			an.Write(block[:n])
			an.Frame(&feat)
			if text {
				line = appendText(line[:0], &feat)
			} else {
				line = appendJSON(line[:0], &feat)
			}
			if _, werr := out.Write(line); werr != nil {
				return fmt.Errorf("analyze: writing output: %w", werr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Keep the frames analysed so far, then say why the file ended early.
			if ferr := out.Flush(); ferr != nil {
				return fmt.Errorf("analyze: writing output: %w", ferr)
			}
			return fmt.Errorf("analyze %s: %w", path, err)
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("analyze: writing output: %w", err)
	}
	return nil
}

// pcmReader yields 48 kHz mono float32 samples; io.EOF at the end.
type pcmReader interface {
	Read(dst []float32) (int, error)
}

// openAudio picks the reader by the file's first bytes: "OggS" is decoded
// as Ogg Opus with bridge/audio (the live path's decoder), anything else is
// handed to audiofile (WAV), which names what it cannot read.
func openAudio(r io.Reader) (pcmReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, err := br.Peek(4); err == nil {
		switch string(magic) {
		case "OggS":
			return newOggOpusReader(br)
		case "RIFF":
		case "RF64", "BW64", "RIFX":
			// WAV variants (over 4 GB; big-endian): "not a WAV file" would be wrong.
			return nil, fmt.Errorf("%w: %s WAV (only RIFF WAV is read)", audiofile.ErrUnsupported, magic)
		default:
			// audiofile knows only WAV and would say "not a RIFF/WAVE file"; this command takes both.
			return nil, fmt.Errorf("%w: not a WAV or Ogg Opus file", audiofile.ErrUnsupported)
		}
	}
	return audiofile.Open(br)
}

// newOggOpusReader decodes an Ogg Opus file to mono with bridge/audio's reader (opusdec's
// pre-skip, output gain and end trim). A stream it cannot decode (surround, ambisonics) is
// audiofile.ErrUnsupported, as a WAV file it cannot read is.
func newOggOpusReader(r io.Reader) (pcmReader, error) {
	o, err := audio.NewOggOpusReader(r, 1)
	if errors.Is(err, audio.ErrUnsupportedCodec) {
		return nil, fmt.Errorf("%w: Ogg Opus: %w", audiofile.ErrUnsupported, err)
	}
	if err != nil {
		return nil, err
	}
	return oggOpusReader{o}, nil
}

// oggOpusReader is audio.OggOpusReader with its errors as newOggOpusReader's (a chained
// file's next link may be the one it cannot decode).
type oggOpusReader struct{ *audio.OggOpusReader }

func (o oggOpusReader) Read(dst []float32) (int, error) {
	n, err := o.OggOpusReader.Read(dst)
	if errors.Is(err, audio.ErrUnsupportedCodec) {
		err = fmt.Errorf("%w: %w", audiofile.ErrUnsupported, err)
	}
	return n, err
}

// readFull reads until buf is full or the file ends (then io.EOF, with the
// samples read so far).
func readFull(r pcmReader, buf []float32) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func appendJSON(b []byte, f *analysis.Features) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendFloat(b, f.T, 'f', 6, 64)
	b = append(b, `,"notes":[`...)
	for i, n := range f.ActiveNotes() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"midi":`...)
		b = strconv.AppendInt(b, int64(n.MIDI), 10)
		b = append(b, `,"name":"`...)
		b = append(b, analysis.NoteName(n.MIDI)...)
		b = append(b, `","hz":`...)
		b = strconv.AppendFloat(b, float64(n.Hz), 'f', 1, 32)
		b = append(b, `,"velocity":`...)
		b = strconv.AppendFloat(b, float64(n.Velocity), 'f', 2, 32)
		b = append(b, `,"onset":`...)
		b = strconv.AppendBool(b, n.Onset)
		b = append(b, '}')
	}
	b = append(b, `],"level":`...)
	b = strconv.AppendFloat(b, float64(f.Level), 'f', 4, 32)
	b = append(b, `,"onset":`...)
	b = strconv.AppendBool(b, f.Onset)
	return append(b, "}\n"...)
}

func appendText(b []byte, f *analysis.Features) []byte {
	b = strconv.AppendFloat(b, f.T, 'f', 3, 64)
	b = append(b, "s  level "...)
	b = strconv.AppendFloat(b, float64(f.Level), 'f', 3, 32)
	if f.Onset {
		b = append(b, "  ONSET"...)
	}
	for _, n := range f.ActiveNotes() {
		b = append(b, "  "...)
		b = append(b, analysis.NoteName(n.MIDI)...)
		if n.Onset {
			b = append(b, '*')
		}
		b = append(b, '(')
		b = strconv.AppendFloat(b, float64(n.Hz), 'f', 1, 32)
		b = append(b, " Hz "...)
		b = strconv.AppendFloat(b, float64(n.Velocity), 'f', 2, 32)
		b = append(b, ')')
	}
	return append(b, '\n')
}
