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
	// seenInJoin is the Realtime join (realtime.PresenceView's Join) in whose Presence she was
	// last seen by a sync, once its presence_state was applied; guarded by Session.mu. One
	// missing from Presence who was neither seen in the current join nor listed in its
	// presence_state may be missing from a restarted room server's fresh Presence after the
	// bridge rejoined, rather than gone in a leave the server saw (syncPresence).
	seenInJoin uint64

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
	// arrivalSeen is the newest packet arrival the loop has seen her stream deliver, and
	// arrivalGap the recent gap between her packets' arrivals (see noteArrival).
	arrivalSeen time.Time
	arrivalGap  time.Duration

	// silenceWaitNs is silenceWait in nanoseconds (0: silenceAfter), written by the loop and
	// read by the metrics' scrape too.
	silenceWaitNs atomic.Int64

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

// silenceAfter is how long a musician's stream may deliver no audio, beyond the gap between her
// recent packets (silenceWait), before her analyser is fed silence. Her packets may stop without
// a goodbye (Wi-Fi drops, a laptop lid closes, a tab freezes, a web app mutes by stopping its
// sender), and an analyser given nothing re-measures its last window every tick: her last note
// would stay lit, and her loud last level keep its note gate high, for as long as the session
// runs. It waits out what the stream fills in afterwards or is about to deliver: a loss it
// conceals (up to audio.DefaultMaxConceal, the stream's MaxConceal, which attachStream leaves at
// its default) and, as mixHold, the arrival jitter the jitter buffer lets through; cutting such
// a gap with silence would make a false onset of the audio that follows.
const silenceAfter = audio.DefaultMaxConceal + mixHold

// maxArrivalGap bounds the packet gap silenceWait waits out: Opus DTX sends a packet every
// 400 ms of a pause, and a longer gap is a musician who stopped and came back, not her
// packets' rhythm, so noteArrival leaves it out (taken as a second, her next stop would keep
// her last note lit twice as long).
const maxArrivalGap = time.Second

// silenceWait is how long her stream may deliver no audio before she counts as stopped: her
// analyser is then fed silence, and the metrics count her silent. It is the recent gap between
// her packets' arrivals (at least a packet: 20 ms, up to 120 ms; 400 ms for a muted microphone
// in Opus DTX, which must not count as stopped between its packets) plus silenceAfter. Safe
// from any goroutine.
func (m *musician) silenceWait() time.Duration {
	return max(silenceAfter, time.Duration(m.silenceWaitNs.Load()))
}

// audioStopped reports whether her stream st has delivered no audio for longer than silenceWait:
// her packets stopped, or she is not sending any. Safe from any goroutine.
func (m *musician) audioStopped(st *audio.Stream) bool { return st.Starved() > m.silenceWait() }

// noteArrival follows the gap between her packets' arrivals, at the arrival of the newest audio
// her stream delivered: a longer gap is taken at once (her packets grew longer, she went into
// DTX, her Wi-Fi stalled), a shorter one an eighth of the way per packet, so that one early
// packet does not undo what the pause's rhythm showed. Loop goroutine only.
func (m *musician) noteArrival(at time.Time) {
	if at.Equal(m.arrivalSeen) || at.IsZero() {
		return
	}
	if gap := at.Sub(m.arrivalSeen); !m.arrivalSeen.IsZero() && gap > 0 && gap <= maxArrivalGap {
		if gap > m.arrivalGap {
			m.arrivalGap = gap
		} else {
			m.arrivalGap -= (m.arrivalGap - gap) / 8
		}
		m.silenceWaitNs.Store(int64(m.arrivalGap + silenceAfter))
	}
	m.arrivalSeen = at // a new stream, or a clock gone back, starts afresh
}

// silence is one analysis tick of digital silence, fed to the analyser of a musician whose
// audio stopped (see silenceWait). Read-only, shared by every musician.
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
	fedSilence := false
	switch {
	case n > 0:
		m.noteArrival(st.LastAudioArrival())
		m.analyzer.Write(pcm)
	case m.audioStopped(st):
		// Her audio stopped: let the analyser's windows decay as for real silence. The mix
		// leaves her out on its own (mixHold), so the silence is not returned for it.
		m.analyzer.Write(silence[:])
		fedSilence = true
	}
	analyserFrame(m.analyzer, &m.features, fedSilence)
	// A note the analyser hears is audio, however quiet: it detects a steady tone down to about
	// −64 dBFS, and auto mode must not show idle while local mode would light it (review 308).
	if n > 0 && (m.features.Level > silenceFloor || m.features.NumNotes > 0) {
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

// analyserFrame computes a's frame for this tick into f; fedSilence says a was fed silence this
// tick, and then the frame only fades from the one f held (onlyFading).
func analyserFrame(a *analysis.Analyzer, f *analysis.Features, fedSilence bool) {
	if !fedSilence {
		a.Frame(f)
		return
	}
	before := *f
	a.Frame(f)
	onlyFading(f, &before)
}

// onlyFading makes f, the frame of a tick whose analyser was fed silence, show nothing that was
// not in before, the frame of the tick before: no onset or attack, no note that was not sounding,
// no note, band or level louder than it was. The step from her last audio to digital silence
// cuts the analyser's windows short, and their spectra splatter into an onset and into notes
// she never played (A3 → E3 and A2), a flash on the strip some 200 ms after her audio stopped.
func onlyFading(f, before *analysis.Features) {
	f.Onset, f.Attack, f.AttackLevel = false, false, 0
	f.Level = min(f.Level, before.Level)
	for i := range f.Bands {
		f.Bands[i] = min(f.Bands[i], before.Bands[i])
	}
	kept := 0
	for _, n := range f.ActiveNotes() {
		for _, was := range before.ActiveNotes() {
			if n.MIDI == was.MIDI {
				n.Onset = false
				n.Velocity = min(n.Velocity, was.Velocity)
				// Loudest first, as the analyser orders them: a capped velocity may move a note.
				at := kept
				for ; at > 0 && f.Notes[at-1].Velocity < n.Velocity; at-- {
					f.Notes[at] = f.Notes[at-1]
				}
				f.Notes[at] = n
				kept++
				break
			}
		}
	}
	clear(f.Notes[kept:f.NumNotes])
	f.NumNotes = kept
}
