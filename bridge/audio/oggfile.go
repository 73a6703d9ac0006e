package audio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
)

// OggOpusReader decodes an Ogg Opus file packet by packet (for `ledbridge analyze`) to
// interleaved float32 PCM at 48 kHz, as opusdec does: the OpusHead pre-skip is dropped, the
// output gain applied, and the end trimmed to the final granule position (the encoder pads the
// end to a whole packet, and may trim more than one packet: a page of 2.5 ms packets). So that
// the trim is exact wherever it falls in the last page, a page's samples are held back until
// its granule position is known, at its last packet: memory is one page's worth (at most 255
// packets of 120 ms, 5.9 MB a channel). Every link of a chained file (`cat a.opus b.opus`) is
// read in turn. A corrupt packet is an error, not concealed. It is not safe for concurrent use.
type OggOpusReader struct {
	packets  *ogg.PacketReader
	dec      *OggOpusDecoder
	channels int
	page     []float32 // the decoded samples of the current page's packets so far
	pending  []float32 // samples released (of page) and not yet returned
	err      error     // what Read returns once pending is drained: io.EOF or why the file ended early
	skip     int       // pre-skip samples (per channel) still to drop
	gain     float32   // linear OutputGain; 1 when the header has none
	decoded  int64     // samples per channel decoded so far, pre-skip included (the granule position's unit)
	start    int64     // granule position of the first decoded sample (RFC 7845 §4.5)
	// peeked is a packet read ahead to learn whether the page before it was the last;
	// it aliases the PacketReader's buffer, which stays valid until the next call to Next.
	peeked        []byte
	peekedGranule int64
	peekedErr     error
	hasPeeked     bool
}

// NewOggOpusReader reads the headers of the Ogg Opus stream in r and returns a reader of its
// samples with channels (1 or 2) channels; the streams it takes are those NewOggOpusDecoder
// takes.
func NewOggOpusReader(r io.Reader, channels int) (*OggOpusReader, error) {
	pr, err := ogg.NewPacketReader(r)
	if err != nil {
		return nil, err
	}
	o := &OggOpusReader{packets: pr, channels: channels}
	if err := o.startLink(); err != nil {
		return nil, err
	}
	return o, nil
}

// Head is the OpusHead of the link being read.
func (o *OggOpusReader) Head() ogg.Head { return o.packets.Head() }

// startLink sets the reader up for the link whose headers the PacketReader has just read: the
// first, or the next of a chained file, which has its own channels, pre-skip, output gain and
// granule positions counted from its own start. The samples go on from where the last link's
// ended.
func (o *OggOpusReader) startLink() error {
	head := o.packets.Head()
	dec, err := NewOggOpusDecoder(head, o.channels)
	if err != nil {
		return err
	}
	gain := float32(1)
	if head.OutputGain != 0 {
		gain = float32(math.Pow(10, float64(head.OutputGain)/(20*256))) // Q7.8 dB (RFC 7845 §5.1)
	}
	o.dec, o.skip, o.gain, o.decoded, o.start = dec, head.PreSkip, gain, 0, ogg.StartGranuleUnknown
	return nil
}

// next returns the next packet, the one read ahead if there is one.
func (o *OggOpusReader) next() ([]byte, int64, error) {
	if o.hasPeeked {
		o.hasPeeked = false
		return o.peeked, o.peekedGranule, o.peekedErr
	}
	return o.packets.Next()
}

// Read fills dst with the next interleaved samples and returns how many it wrote; io.EOF at
// the end of the file, or the error that ended it early once the samples before it are read.
func (o *OggOpusReader) Read(dst []float32) (int, error) {
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
func (o *OggOpusReader) decodePage() error {
	o.page = o.page[:0]
	for {
		pkt, granule, err := o.next()
		if errors.Is(err, ogg.ErrNewLink) {
			// A page ends with a packet that carries its granule position, so nothing is
			// held here unless a link ended inside a page; if so, keep its samples.
			held := len(o.page) > 0
			if held {
				o.release(o.pageSamples())
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
			o.release(o.pageSamples())
			return err
		}
		room := MaxPacketSamples * o.channels
		o.page = slices.Grow(o.page, room)
		n, err := o.dec.Decode(pkt, o.page[len(o.page):len(o.page)+room])
		if err != nil {
			o.release(o.pageSamples())
			return fmt.Errorf("opus packet: %w", err)
		}
		o.page = o.page[:len(o.page)+n*o.channels]
		o.decoded += int64(n)
		if granule < 0 {
			if o.pageSamples() < maxPageSamples {
				continue // the page goes on: its granule position is not known yet
			}
			// More than a page holds: pages without a granule position (valid only for a
			// page that ends no packet) would otherwise hold the whole file back.
			o.release(o.pageSamples())
			return nil
		}
		o.start = ogg.StartGranule(o.start, granule, o.decoded)
		granule -= o.start
		end := o.pageSamples()
		if granule < o.decoded {
			// More samples than the page's granule position counts: end trimming, which
			// RFC 7845 §4.4 allows only on the last page. Read ahead to make sure this is
			// the last page the stream (or a chained file's link) has, whether the file
			// ends there, the next link starts or the file breaks off (a granule that goes
			// backwards mid-stream is ignored). The trim reaches back at most to the start
			// of this page, the samples held, as opusdec's does (it writes each page out as
			// it goes): a granule position before the page's start says the earlier pages
			// decoded more than it counts, not that this page was padded.
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

// maxPageSamples is the most one Ogg page's packets decode to, per channel: 255 lacing values,
// so at most 255 packets ending on it, each at most 120 ms.
const maxPageSamples = 255 * MaxPacketSamples

// pageSamples is how many samples per channel the current page has decoded.
func (o *OggOpusReader) pageSamples() int { return len(o.page) / o.channels }

// release hands the first end samples (per channel) of page on to pending, less the pre-skip
// still to drop, with the output gain.
func (o *OggOpusReader) release(end int) {
	drop := min(o.skip, end)
	o.skip -= drop
	o.pending = o.page[drop*o.channels : end*o.channels]
	if o.gain != 1 {
		for i, v := range o.pending {
			// The decoder's output is within ±1; keep it there after the gain.
			o.pending[i] = min(max(v*o.gain, -1), 1)
		}
	}
}

// OggOpusDecoder decodes the packets of an Ogg Opus stream made of one Opus stream to
// interleaved PCM at 48 kHz, honouring the OpusHead's channel mapping table. It is not safe
// for concurrent use.
type OggOpusDecoder struct {
	dec      Decoder
	channels int
	// weights[j][d] is how much decoded channel d contributes to output channel j; nil when
	// dec already produces the output channels (family 0, and every table that amounts to it).
	weights [][2]float32
	decoded []float32 // the stream's own channels, when weights is set
}

// NewOggOpusDecoder returns a decoder for the stream head describes, producing channels
// (1 or 2) channels. It takes channel mapping family 0 and family 1 (RFC 7845 §5.1.1.2) with a
// stream count of 1, which some encoders write for mono and stereo: output channel c plays
// decoded channel head.Mapping[c] or silence, then the output channels are averaged to mono,
// or, for stereo, mono is duplicated. Stereo output from a family 1 layout of more than two
// channels, and more than one stream (surround), which needs a multistream decoder, are
// ErrUnsupportedCodec; so are the ambisonics families and family 255.
func NewOggOpusDecoder(head ogg.Head, channels int) (*OggOpusDecoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("new Ogg Opus decoder: %d channels: %w", channels, ErrInvalidChannels)
	}
	switch {
	case head.MappingFamily != 0 && head.MappingFamily != 1:
		return nil, fmt.Errorf("channel mapping family %d is not read here (only 0 and 1): %w", head.MappingFamily, ErrUnsupportedCodec)
	case head.StreamCount != 1:
		return nil, fmt.Errorf("%d Opus streams per packet (channel mapping family %d, %d channels) need a multistream decoder: %w",
			head.StreamCount, head.MappingFamily, head.Channels, ErrUnsupportedCodec)
	case channels == 2 && head.Channels > 2:
		return nil, fmt.Errorf("%d channels (channel mapping family %d) have no stereo downmix here: %w", head.Channels, head.MappingFamily, ErrUnsupportedCodec)
	}
	streamChannels := 1 + head.CoupledCount // ParseHead checked CoupledCount ≤ StreamCount = 1
	// The weights the table asks for: each output channel takes one decoded channel (or none);
	// mono averages the output channels, stereo from one output channel duplicates it.
	weights := make([][2]float32, channels)
	for c, m := range head.Mapping[:head.Channels] {
		if m == ogg.SilentChannel {
			continue
		}
		switch {
		case channels == 1:
			weights[0][m] += 1 / float32(head.Channels)
		case head.Channels == 1:
			weights[0][m], weights[1][m] = 1, 1
		default:
			weights[c][m] = 1
		}
	}
	// What a plain decoder producing channels channels from this stream does by itself: copy
	// its channels, average stereo to mono, duplicate mono to stereo. When the table asks for
	// just that, use it as it is, so that such a file decodes exactly as its family 0 twin.
	native := make([][2]float32, channels)
	for j := range native {
		switch {
		case channels == streamChannels:
			native[j][j] = 1
		case channels == 1:
			native[0] = [2]float32{0.5, 0.5}
		default:
			native[j][0] = 1
		}
	}
	d := &OggOpusDecoder{channels: channels}
	var err error
	if slices.Equal(weights, native) {
		d.dec, err = NewDecoder(MimeTypeOpus, channels)
	} else {
		d.weights = weights
		d.decoded = make([]float32, MaxPacketSamples*streamChannels)
		d.dec, err = NewDecoder(MimeTypeOpus, streamChannels)
	}
	if err != nil {
		return nil, fmt.Errorf("new Ogg Opus decoder: %w", err)
	}
	return d, nil
}

// Channels is the interleaved channel count of the output.
func (d *OggOpusDecoder) Channels() int { return d.channels }

// Decode decodes one packet into pcm, which must hold MaxPacketSamples × Channels() samples,
// and returns the samples per channel written.
func (d *OggOpusDecoder) Decode(pkt []byte, pcm []float32) (int, error) {
	if d.weights == nil {
		return d.dec.Decode(pkt, pcm)
	}
	if len(pcm) < MaxPacketSamples*d.channels {
		return 0, ErrBufferTooSmall
	}
	n, err := d.dec.Decode(pkt, d.decoded)
	if err != nil {
		return 0, err
	}
	in := d.dec.Channels()
	for i := range n {
		frame := d.decoded[i*in : i*in+in]
		for j, w := range d.weights {
			v := float32(0)
			for k, x := range frame {
				v += w[k] * x
			}
			pcm[i*d.channels+j] = v
		}
	}
	return n, nil
}
