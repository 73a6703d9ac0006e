package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/audiofile"
	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
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
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("--set %s: %q is not an integer", name, val)
		}
		v.SetInt(int64(n))
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

// oggOpusReader decodes an Ogg Opus file packet by packet to mono 48 kHz, as opusdec (and
// audio.DecodeOggOpus) does: the OpusHead pre-skip is dropped, the output gain applied, and the
// end trimmed to the final granule position (the encoder pads the end to a whole packet, and may
// trim more than one packet: a page of 2.5 ms packets). So that the trim is exact wherever it
// falls in the last page, a page's samples are held back until its granule position is known, at
// its last packet: memory is one page's worth (at most 255 packets of 120 ms, 5.9 MB).
type oggOpusReader struct {
	packets *ogg.PacketReader
	dec     *audio.OggOpusDecoder
	page    []float32 // the decoded samples of the current page's packets so far
	pending []float32 // samples released (of page) and not yet returned
	err     error     // what Read returns once pending is drained: io.EOF or why the file ended early
	skip    int       // pre-skip samples still to drop
	gain    float32   // linear OutputGain; 1 when the header has none
	decoded int64     // samples decoded so far, pre-skip included (the granule position's unit)
	start   int64     // granule position of the first decoded sample (RFC 7845 §4.5)
	// peeked is a packet read ahead to learn whether the page before it was the last;
	// it aliases the PacketReader's buffer, which stays valid until the next call to Next.
	peeked        []byte
	peekedGranule int64
	peekedErr     error
	hasPeeked     bool
}

func newOggOpusReader(r io.Reader) (*oggOpusReader, error) {
	pr, err := ogg.NewPacketReader(r)
	if err != nil {
		return nil, err
	}
	o := &oggOpusReader{packets: pr}
	if err := o.startLink(); err != nil {
		return nil, err
	}
	return o, nil
}

// startLink sets the reader up for the link whose headers the PacketReader has just read: the
// first, or the next of a chained file (`cat a.opus b.opus`), which has its own channels,
// pre-skip, output gain and granule positions counted from its own start. The samples go on
// from where the last link's ended.
func (o *oggOpusReader) startLink() error {
	head := o.packets.Head()
	dec, err := audio.NewOggOpusDecoder(head, 1)
	if errors.Is(err, audio.ErrUnsupportedCodec) {
		return fmt.Errorf("%w: Ogg Opus: %w", audiofile.ErrUnsupported, err)
	}
	if err != nil {
		return err
	}
	gain := float32(1)
	if head.OutputGain != 0 {
		// Q7.8 dB (RFC 7845 §5.1), the expression audio.DecodeOggOpus uses.
		gain = float32(math.Pow(10, float64(head.OutputGain)/(20*256)))
	}
	o.dec, o.skip, o.gain, o.decoded, o.start = dec, head.PreSkip, gain, 0, ogg.StartGranuleUnknown
	return nil
}

// next returns the next packet, the one read ahead if there is one.
func (o *oggOpusReader) next() ([]byte, int64, error) {
	if o.hasPeeked {
		o.hasPeeked = false
		return o.peeked, o.peekedGranule, o.peekedErr
	}
	return o.packets.Next()
}

func (o *oggOpusReader) Read(dst []float32) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	for len(o.pending) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		o.err = o.decodePage()
	}
	n := copy(dst, o.pending)
	o.pending = o.pending[n:]
	return n, nil
}

// decodePage decodes packets up to the one that carries its page's granule position (the last
// packet completed on the page) and releases the page's samples into pending, trimmed if the
// page ends the stream or its link. It returns io.EOF at the end of the file, or the error that
// ended it early; the samples decoded before either are released first, so none are lost.
func (o *oggOpusReader) decodePage() error {
	o.page = o.page[:0]
	for {
		pkt, granule, err := o.next()
		if errors.Is(err, ogg.ErrNewLink) {
			// A page ends with a packet that carries its granule position, so nothing is
			// held here unless a link ended inside a page; if so, keep its samples.
			held := len(o.page) > 0
			if held {
				o.release(len(o.page))
			}
			if err := o.startLink(); err != nil {
				return fmt.Errorf("next link of a chained Ogg Opus file: %w", err)
			}
			if held {
				return nil
			}
			continue
		}
		if err != nil {
			o.release(len(o.page))
			return err
		}
		o.page = slices.Grow(o.page, audio.MaxPacketSamples)
		n, err := o.dec.Decode(pkt, o.page[len(o.page):len(o.page)+audio.MaxPacketSamples])
		if err != nil {
			o.release(len(o.page))
			return fmt.Errorf("opus packet: %w", err)
		}
		o.page = o.page[:len(o.page)+n]
		o.decoded += int64(n)
		if granule < 0 {
			if len(o.page) < maxPageSamples {
				continue // the page goes on: its granule position is not known yet
			}
			// More than a page holds: pages without a granule position (valid only for a
			// page that ends no packet) would otherwise hold the whole file back.
			o.release(len(o.page))
			return nil
		}
		o.start = ogg.StartGranule(o.start, granule, o.decoded)
		granule -= o.start
		end := len(o.page)
		if granule < o.decoded {
			// More samples than the page's granule position counts: end trimming, which
			// RFC 7845 §4.4 allows only on the last page. Read ahead to make sure this is
			// the last page the stream (or a chained file's link) has, whether the file
			// ends there, the next link starts or the file breaks off (a granule that goes
			// backwards mid-stream is ignored, as audio.DecodeOggOpus ignores it). The trim
			// reaches back at most to the start of this page, the samples held, as opusdec's
			// does (it writes each page out as it goes): a granule position before the page's
			// start says the earlier pages decoded more than it counts, not that this page
			// was padded.
			o.peeked, o.peekedGranule, o.peekedErr = o.packets.Next()
			o.hasPeeked = true
			if o.peekedErr != nil {
				end -= int(min(o.decoded-granule, int64(end)))
			}
		}
		o.release(end)
		return nil
	}
}

// maxPageSamples is the most one Ogg page's packets decode to: 255 lacing values, so at most 255
// packets ending on it, each at most 120 ms.
const maxPageSamples = 255 * audio.MaxPacketSamples

// release hands page[:end] on to pending, less the pre-skip still to drop, with the output gain.
func (o *oggOpusReader) release(end int) {
	drop := min(o.skip, end)
	o.skip -= drop
	o.pending = o.page[drop:end]
	if o.gain != 1 {
		for i, v := range o.pending {
			// The decoder's output is within ±1; keep it there after the gain.
			o.pending[i] = min(max(v*o.gain, -1), 1)
		}
	}
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
