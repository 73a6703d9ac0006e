package session

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// pcmBlock is the most PCM the loop drains from one musician per tick: 200 ms, far more than the
// 16.7 ms a tick normally finds, so a late tick still catches up on the audio.
const pcmBlock = audio.SampleRate / 5

// musician is one remote participant: its Presence meta, connection state, audio stream and
// analyser.
type musician struct {
	id    string
	index int // picks the musician's hue: kept across her page reloads, else the lowest free (addMusicianLocked)

	provisional bool // known from its offer only, not yet from Presence; guarded by Session.mu

	stream atomic.Pointer[audio.Stream] // set by the track's goroutine, read by the loop
	// streamDone is given each stream a new one replaces (the session's metrics count it once
	// more: runningTotals.retire). Set before the record is shared.
	streamDone func(*audio.Stream)

	// Owned by the frame loop goroutine. analyzer and pcm are made by the track's goroutine when
	// her audio first arrives (a Presence entry that never sends any costs no analyser), before
	// it publishes stream; the loop touches them only once it has loaded stream.
	analyzer    *analysis.Analyzer
	features    analysis.Features
	pcm         []float32
	lastAudible time.Time // arrival of the newest packet that was above the silence floor
	shownCodec  string    // the stream's Codec() that codec was last set from

	// The mutex protects the following elements.
	mu        sync.Mutex
	meta      room.Meta
	peerState webrtc.PeerConnectionState
	codec     string
	notes     analysis.Features // the loop's latest features, for the status page
}

func newMusician(id string, meta room.Meta, index int, cfg analysis.Config) (*musician, error) {
	a, err := analysis.New(cfg)
	if err != nil {
		return nil, err
	}
	return &musician{id: id, index: index, meta: meta, analyzer: a, pcm: make([]float32, pcmBlock), peerState: webrtc.PeerConnectionStateNew}, nil
}

// metaName is the name her Presence meta gives.
func (m *musician) metaName() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.meta.Name
}

func (m *musician) setMeta(meta room.Meta) {
	m.mu.Lock()
	m.meta = meta
	m.mu.Unlock()
}

func (m *musician) setPeerState(st webrtc.PeerConnectionState) {
	m.mu.Lock()
	m.peerState = st
	m.mu.Unlock()
}

// attachStream makes the audio path for a new track and swaps it in. The stream decodes only
// packets of the track's payload type: a sender that switches codec mid-stream is followed by
// the peer's reader (audio.Stream is a peer.CodecSwitcher), and analyse shows the new codec.
func (m *musician) attachStream(codec webrtc.RTPCodecParameters, now func() time.Time) (*audio.Stream, error) {
	st, err := audio.NewStream(audio.StreamConfig{
		Codec: codec.MimeType, ClockRate: codec.ClockRate, Now: now,
		PayloadType: uint8(codec.PayloadType), KnownPayloadType: true,
	})
	if err != nil {
		return nil, err
	}
	if old := m.stream.Swap(st); old != nil && m.streamDone != nil {
		m.streamDone(old)
	}
	m.mu.Lock()
	m.codec = codecName(codec)
	m.mu.Unlock()
	return st, nil
}

// codecName is the codec's short name ("opus", "g722", "pcmu"), as the status page shows it.
func codecName(c webrtc.RTPCodecParameters) string { return mimeName(c.MimeType) }

// mimeName is a MIME type's short name: "audio/PCMU" → "pcmu".
func mimeName(mime string) string { return strings.TrimPrefix(strings.ToLower(mime), "audio/") }

// silenceFloor is the RMS level (−60 dBFS) below which decoded audio counts as silence: browsers
// keep sending silent Opus frames from a muted microphone, and those must not hold auto mode on
// the local look.
const silenceFloor = 0.001

// silenceAfter is how long a musician's stream may deliver no audio before her analyser is fed
// silence. Her packets may stop without a goodbye (Wi-Fi drops, a laptop lid closes, a tab
// freezes, a web app mutes by stopping its sender), and an analyser given nothing re-measures
// its last window every tick: her last note would stay lit, and her loud last level keep its
// note gate high, for as long as the session runs. It waits out what the stream fills in
// afterwards or is about to deliver: a loss it conceals (up to audio.DefaultMaxConceal, the
// stream's MaxConceal, which attachStream leaves at its default) and, as mixHold, a packet and
// the arrival jitter the jitter buffer lets through; cutting such a gap with silence would make
// a false onset of the audio that follows. Opus DTX sends a packet every 400 ms of a pause: the
// analyser gets silence between them, as the pause's own near-silence would give it.
const silenceAfter = audio.DefaultMaxConceal + mixHold

// silence is one analysis tick of digital silence, fed to the analyser of a musician whose
// audio stopped (see silenceAfter). Read-only, shared by every musician.
var silence [audio.SampleRate / analysis.FrameRate]float32

// analyse drains the musician's new audio into its analyser and computes this tick's features.
// It returns the PCM read (aliasing m.pcm) and when audible audio last arrived. A musician with no
// audio track yet costs nothing. Loop goroutine only.
func (m *musician) analyse() (pcm []float32, lastAudible time.Time) {
	st := m.stream.Load()
	if st == nil {
		return nil, m.lastAudible
	}
	n := st.ReadPCM(m.pcm)
	pcm = m.pcm[:n]
	switch {
	case n > 0:
		m.analyzer.Write(pcm)
	case st.Starved() > silenceAfter:
		// Her audio stopped: let the analyser's windows decay as for real silence. The mix
		// leaves her out on its own (mixHold), so the silence is not returned for it.
		m.analyzer.Write(silence[:])
	}
	m.analyzer.Frame(&m.features)
	if n > 0 && m.features.Level > silenceFloor {
		m.lastAudible = st.LastAudioArrival()
	}
	lastAudible = m.lastAudible
	codec := st.Codec() // a constant string: comparing it costs nothing per tick
	m.mu.Lock()
	m.notes = m.features
	if codec != m.shownCodec {
		// The sender switched codec mid-stream (or a new track's stream came): the status page
		// shows what is decoded.
		m.shownCodec = codec
		m.codec = mimeName(codec)
	}
	m.mu.Unlock()
	return pcm, lastAudible
}
