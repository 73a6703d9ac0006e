package room

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/bridge/jsonkeys"
)

// Broadcast event names (PROTOCOL.md §3).
const (
	EventSignal          = "webrtc-signal"
	EventTempoChange     = "tempo-change"
	EventPlaybackControl = "playback-control"
	EventStateRequest    = "state-request"
	EventStateResponse   = "state-response"
	EventLEDUpdate       = "led-update"
)

// Size and range bounds applied by the decoders.
const (
	// MaxSignalBytes bounds a webrtc-signal payload. Browser offers with every
	// codec and extension are 4–8 KiB; 64 KiB leaves room for many m-lines.
	MaxSignalBytes = 64 << 10
	// MaxLEDColors is the most entries a led-update's colors array may have:
	// the colour parser's bound, so that what the decoder admits it parses.
	MaxLEDColors = color.MaxColors
	// MaxLEDUpdateBytes bounds a led-update payload: MaxLEDColors entries of up
	// to 64 bytes each (`{ "r": 255, "g": 255, "b": 255 }` with spaces is 31).
	MaxLEDUpdateBytes = MaxLEDColors * 64
	// MaxSmallPayloadBytes bounds the other events, which carry a few fields.
	MaxSmallPayloadBytes = 4 << 10
	// MaxPeerIDBytes bounds a peerId. Browser clients use UUIDs (36 bytes).
	MaxPeerIDBytes = 256
	// MaxCandidateBytes bounds one ICE candidate line.
	MaxCandidateBytes = 4 << 10
	// MinTempo and MaxTempo bound a tempo in beats per minute.
	MinTempo, MaxTempo = 20, 300
	// DefaultTempo and DefaultPlaying hold until a state arrives (PROTOCOL.md §3).
	DefaultTempo   = 120
	DefaultPlaying = false
	// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER, the largest seq a
	// browser can count to exactly.
	maxSafeInteger = 1<<53 - 1
)

// SignalType is the kind of a webrtc-signal.
type SignalType string

// The signal types of PROTOCOL.md §3.
const (
	SignalOffer     SignalType = "offer"
	SignalAnswer    SignalType = "answer"
	SignalCandidate SignalType = "ice-candidate"
)

// Signal is a webrtc-signal payload: one step of perfect negotiation between
// two peers. Exactly one of Description and Candidate is meaningful, by Type.
type Signal struct {
	Type         SignalType
	FromPeerID   string
	TargetPeerID string
	// Description is the data of an offer or answer; nil for ice-candidate.
	Description *SessionDescription
	// Candidate is the data of an ice-candidate signal. nil (data: null) means
	// end-of-candidates, as does a candidate with an empty candidate line.
	Candidate *ICECandidate
}

// SessionDescription is an RTCSessionDescriptionInit.
type SessionDescription struct {
	Type string `json:"type"` // "offer" or "answer", equal to the signal's type
	SDP  string `json:"sdp"`
}

// ICECandidate is an RTCIceCandidateInit. Its fields map one to one onto
// pion's webrtc.ICECandidateInit.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex"`
	UsernameFragment *string `json:"usernameFragment"`
}

// IsEndOfCandidates reports whether the signal announces that the sender has
// gathered all its ICE candidates.
func (s Signal) IsEndOfCandidates() bool {
	return s.Type == SignalCandidate && (s.Candidate == nil || s.Candidate.Candidate == "")
}

// MarshalJSON encodes the signal as PROTOCOL.md's
// { type, fromPeerId, targetPeerId, data } object.
func (s Signal) MarshalJSON() ([]byte, error) {
	var data any
	switch s.Type {
	case SignalOffer, SignalAnswer:
		if s.Description == nil {
			return nil, fmt.Errorf("encode %s signal: no session description", s.Type)
		}
		data = s.Description
	case SignalCandidate:
		if s.Candidate != nil {
			data = s.Candidate
		}
	default:
		return nil, fmt.Errorf("encode signal: unknown type %q", s.Type)
	}
	return json.Marshal(struct {
		Type         SignalType `json:"type"`
		FromPeerID   string     `json:"fromPeerId"`
		TargetPeerID string     `json:"targetPeerId"`
		Data         any        `json:"data"`
	}{s.Type, s.FromPeerID, s.TargetPeerID, data})
}

// The members each decoder reads; parseObject steps over all others.
var (
	signalFields          = []string{"type", "fromPeerId", "targetPeerId", "data"}
	descriptionFields     = []string{"type", "sdp"}
	candidateFields       = []string{"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}
	tempoChangeFields     = []string{"tempo"}
	playbackControlFields = []string{"isPlaying"}
	stateRequestFields    = []string{"fromPeerId"}
	stateResponseFields   = []string{"fromPeerId", "targetPeerId", "state"}
	roomStateFields       = []string{"tempo", "isPlaying"}
	ledUpdateFields       = []string{"colors", "seq", "ts"}
)

// DecodeSignal validates a webrtc-signal payload. The checks are structural
// (types, presence, bounds, "v=0" at the start of an SDP); whether the SDP or
// candidate line parses is for the PeerConnection to say.
func DecodeSignal(payload []byte) (Signal, error) {
	const ev = EventSignal
	o, err := parseObject(ev, payload, MaxSignalBytes, signalFields)
	if err != nil {
		return Signal{}, err
	}
	var s Signal
	typ, err := o.str("type", false, 32)
	if err != nil {
		return Signal{}, err
	}
	s.Type = SignalType(typ)
	switch s.Type {
	case SignalOffer, SignalAnswer, SignalCandidate:
	default:
		return Signal{}, o.err("type", fmt.Sprintf("is %q, want offer, answer or ice-candidate", truncateForError(typ)))
	}
	if s.FromPeerID, err = o.str("fromPeerId", false, MaxPeerIDBytes); err != nil {
		return Signal{}, err
	}
	if s.TargetPeerID, err = o.str("targetPeerId", false, MaxPeerIDBytes); err != nil {
		return Signal{}, err
	}
	if s.Type == SignalCandidate {
		// data: null (or absent, as JSON.stringify drops undefined) is end-of-candidates.
		if data, ok := o.value("data"); ok && !isNull(data) {
			if s.Candidate, err = decodeCandidate(o); err != nil {
				return Signal{}, err
			}
		}
		return s, nil
	}
	if !o.has("data") {
		return Signal{}, o.err("data", "is missing (want {type, sdp})")
	}
	d, err := o.sub("data", descriptionFields)
	if err != nil {
		return Signal{}, err
	}
	var desc SessionDescription
	if desc.Type, err = d.str("type", false, 32); err != nil {
		return Signal{}, err
	}
	if desc.Type != typ {
		return Signal{}, d.err("type", fmt.Sprintf("is %q but the signal is an %s", truncateForError(desc.Type), typ))
	}
	if desc.SDP, err = d.str("sdp", false, 0); err != nil {
		return Signal{}, err
	}
	if !strings.HasPrefix(desc.SDP, "v=0") {
		return Signal{}, d.err("sdp", `does not start with "v=0"`)
	}
	s.Description = &desc
	return s, nil
}

// decodeCandidate reads the ice-candidate signal's data member.
func decodeCandidate(signal object) (*ICECandidate, error) {
	d, err := signal.sub("data", candidateFields)
	if err != nil {
		return nil, err
	}
	var c ICECandidate
	if c.Candidate, err = d.str("candidate", true, MaxCandidateBytes); err != nil {
		return nil, err
	}
	if c.SDPMid, err = d.optStr("sdpMid", MaxPeerIDBytes); err != nil {
		return nil, err
	}
	if d.has("sdpMLineIndex") {
		i, err := d.integer("sdpMLineIndex", 0, 65535)
		if err != nil {
			return nil, err
		}
		idx := uint16(i)
		c.SDPMLineIndex = &idx
	}
	if c.UsernameFragment, err = d.optStr("usernameFragment", MaxPeerIDBytes); err != nil {
		return nil, err
	}
	if c.Candidate != "" && c.SDPMid == nil && c.SDPMLineIndex == nil {
		// The W3C API throws a TypeError for this; we drop it the same way.
		return nil, d.err("sdpMid", "and sdpMLineIndex are both missing")
	}
	return &c, nil
}

// TempoChange is a tempo-change payload.
type TempoChange struct {
	Tempo float64 `json:"tempo"` // beats per minute, MinTempo…MaxTempo
}

// DecodeTempoChange validates a tempo-change payload.
func DecodeTempoChange(payload []byte) (TempoChange, error) {
	o, err := parseObject(EventTempoChange, payload, MaxSmallPayloadBytes, tempoChangeFields)
	if err != nil {
		return TempoChange{}, err
	}
	t, err := tempo(o, "tempo")
	return TempoChange{Tempo: t}, err
}

func tempo(o object, name string) (float64, error) {
	t, err := o.number(name)
	if err != nil {
		return 0, err
	}
	if t < MinTempo || t > MaxTempo {
		return 0, o.err(name, fmt.Sprintf("is %v BPM, want %d…%d", t, MinTempo, MaxTempo))
	}
	return t, nil
}

// PlaybackControl is a playback-control payload.
type PlaybackControl struct {
	IsPlaying bool `json:"isPlaying"`
}

// DecodePlaybackControl validates a playback-control payload.
func DecodePlaybackControl(payload []byte) (PlaybackControl, error) {
	o, err := parseObject(EventPlaybackControl, payload, MaxSmallPayloadBytes, playbackControlFields)
	if err != nil {
		return PlaybackControl{}, err
	}
	p, err := o.boolean("isPlaying")
	return PlaybackControl{IsPlaying: p}, err
}

// StateRequest is a state-request payload; ledbridge sends one on join.
type StateRequest struct {
	FromPeerID string `json:"fromPeerId"`
}

// DecodeStateRequest validates a state-request payload.
func DecodeStateRequest(payload []byte) (StateRequest, error) {
	o, err := parseObject(EventStateRequest, payload, MaxSmallPayloadBytes, stateRequestFields)
	if err != nil {
		return StateRequest{}, err
	}
	from, err := o.str("fromPeerId", false, MaxPeerIDBytes)
	return StateRequest{FromPeerID: from}, err
}

// State is the shared musical state of a room.
type State struct {
	Tempo     float64 `json:"tempo"` // beats per minute
	IsPlaying bool    `json:"isPlaying"`
}

// DefaultState is the state assumed until a state-response or change arrives.
var DefaultState = State{Tempo: DefaultTempo, IsPlaying: DefaultPlaying}

// StateResponse is a state-response payload. The peer ids are optional on
// decode (older clients omit them); a response whose TargetPeerID is set and
// is not ours is for someone else.
type StateResponse struct {
	FromPeerID   string `json:"fromPeerId,omitempty"`
	TargetPeerID string `json:"targetPeerId,omitempty"`
	State        State  `json:"state"`
}

// DecodeStateResponse validates a state-response payload.
func DecodeStateResponse(payload []byte) (StateResponse, error) {
	const ev = EventStateResponse
	o, err := parseObject(ev, payload, MaxSmallPayloadBytes, stateResponseFields)
	if err != nil {
		return StateResponse{}, err
	}
	var r StateResponse
	for _, f := range []struct {
		name string
		dst  *string
	}{{"fromPeerId", &r.FromPeerID}, {"targetPeerId", &r.TargetPeerID}} {
		p, err := o.optStr(f.name, MaxPeerIDBytes)
		if err != nil {
			return StateResponse{}, err
		}
		if p != nil {
			*f.dst = *p
		}
	}
	if !o.has("state") {
		return StateResponse{}, o.err("state", "is missing (want {tempo, isPlaying})")
	}
	st, err := o.sub("state", roomStateFields)
	if err != nil {
		return StateResponse{}, err
	}
	if r.State.Tempo, err = tempo(st, "tempo"); err != nil {
		return StateResponse{}, err
	}
	if r.State.IsPlaying, err = st.boolean("isPlaying"); err != nil {
		return StateResponse{}, err
	}
	return r, nil
}

// LEDUpdate is a led-update payload. Colors is kept raw: the colour parser
// lives in analysis/color. The decoder has checked that it is an array of at
// most MaxLEDColors entries, each a string or an object. Colors shares the
// bytes of the payload DecodeLEDUpdate was given (copying up to 256 KB per
// frame is what the decoder avoids): the caller keeps that payload unchanged
// while it uses Colors.
type LEDUpdate struct {
	Colors    json.RawMessage `json:"colors"`
	NumColors int             `json:"-"`
	// Seq orders frames (older ones are dropped); valid when HasSeq.
	Seq    int64 `json:"-"`
	HasSeq bool  `json:"-"`
	// TSMillis is the sender's clock in ms since the Unix epoch; valid when HasTS.
	TSMillis float64 `json:"-"`
	HasTS    bool    `json:"-"`
	// Ignored, when not nil, says why a seq or ts present in the payload was left out: the
	// frame stands as if it had none (a host whose counter misbehaves still lights the strips).
	Ignored error `json:"-"`
}

// MarshalJSON encodes the update as { colors, seq?, ts? }.
func (u LEDUpdate) MarshalJSON() ([]byte, error) {
	var out struct {
		Colors json.RawMessage `json:"colors"`
		Seq    *int64          `json:"seq,omitempty"`
		TS     *float64        `json:"ts,omitempty"`
	}
	out.Colors = u.Colors
	if out.Colors == nil {
		out.Colors = json.RawMessage("[]")
	}
	if u.HasSeq {
		out.Seq = &u.Seq
	}
	if u.HasTS {
		out.TS = &u.TSMillis
	}
	return json.Marshal(out)
}

// DecodeLEDUpdate validates a led-update payload.
func DecodeLEDUpdate(payload []byte) (LEDUpdate, error) {
	const ev = EventLEDUpdate
	o, err := parseObject(ev, payload, MaxLEDUpdateBytes, ledUpdateFields)
	if err != nil {
		return LEDUpdate{}, err
	}
	var u LEDUpdate
	if !o.has("colors") {
		return LEDUpdate{}, o.err("colors", "is missing")
	}
	raw, _ := o.value("colors")
	if raw[0] != '[' {
		return LEDUpdate{}, o.err("colors", "must be an array")
	}
	n, firstBad := countColorEntries(raw)
	if n > MaxLEDColors {
		return LEDUpdate{}, o.err("colors", fmt.Sprintf("has %d entries, limit %d", n, MaxLEDColors))
	}
	if firstBad >= 0 {
		return LEDUpdate{}, o.err(fmt.Sprintf("colors[%d]", firstBad), `must be "#rrggbb" or {r, g, b}`)
	}
	u.Colors, u.NumColors = raw, n
	// An unusable seq or ts costs the frame that field only (Ignored says which and why). A host
	// whose seq is performance.now() sends a fractional one in every frame: saying so allocates
	// nothing (static errors, their messages built only when logged).
	var seqBad, tsBad ledFieldFault
	if v, ok := o.value("seq"); ok && !isNull(v) {
		f, fault := ledNumber(v)
		switch {
		case fault != 0:
			seqBad = fault
		case f != math.Trunc(f):
			seqBad = ledNotInteger
		case f < 0 || f > maxSafeInteger:
			seqBad = ledOutOfRange
		default:
			u.Seq, u.HasSeq = int64(f), true
		}
	}
	if v, ok := o.value("ts"); ok && !isNull(v) {
		f, fault := ledNumber(v)
		switch {
		case fault != 0:
			tsBad = fault
		case f < 0:
			tsBad = ledNegative
		default:
			u.TSMillis, u.HasTS = f, true
		}
	}
	u.Ignored = ledIgnored[seqBad][tsBad]
	return u, nil
}

// ledFieldFault is why a led-update's seq or ts was left out (0: it was not).
type ledFieldFault int

const (
	ledNotNumber ledFieldFault = iota + 1
	ledNotInteger
	ledOutOfRange
	ledNegative
	ledFieldFaults
)

// ledNumber reads a member value as a finite number.
func ledNumber(v []byte) (float64, ledFieldFault) {
	f, ok := jsonNumber(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, ledNotNumber
	}
	return f, 0
}

// ledIgnored holds LEDUpdate.Ignored for each pair of faults of seq and ts, made once.
var ledIgnored = func() (t [ledFieldFaults][ledFieldFaults]error) {
	reasons := [ledFieldFaults]string{
		ledNotNumber:  "must be a finite number",
		ledNotInteger: "must be an integer",
		ledOutOfRange: fmt.Sprintf("is out of range, want 0…%d", int64(maxSafeInteger)),
		ledNegative:   "must not be negative",
	}
	for seq := range ledFieldFaults {
		for ts := range ledFieldFaults {
			var seqErr, tsErr error
			if seq != 0 {
				seqErr = fieldErr(EventLEDUpdate, "seq", reasons[seq])
			}
			if ts != 0 {
				tsErr = fieldErr(EventLEDUpdate, "ts", reasons[ts])
			}
			if seqErr != nil || tsErr != nil {
				t[seq][ts] = errors.Join(seqErr, tsErr)
			}
		}
	}
	return t
}()

// countColorEntries walks a well-formed JSON array (parseObject checked the
// whole payload) in place, stepping over each entry without storing it, and
// returns how many entries it has and the index of the first that is neither
// a string nor an object (-1 when none). Whether an entry is a valid colour is
// for analysis/color.ParseColors to say.
func countColorEntries(arr []byte) (n, firstBad int) {
	firstBad = -1
	for entry := range jsonkeys.Elements(arr) {
		if c := entry[0]; c != '"' && c != '{' && firstBad < 0 {
			firstBad = n
		}
		n++
	}
	return n, firstBad
}

// DecodeEvent decodes the payload of any PROTOCOL.md broadcast event into its
// typed value (Signal, TempoChange, PlaybackControl, StateRequest,
// StateResponse or LEDUpdate). An event name it does not know gives
// ErrUnknownEvent, which PROTOCOL.md says to ignore rather than count.
func DecodeEvent(event string, payload []byte) (any, error) {
	switch event {
	case EventSignal:
		return orNil(DecodeSignal(payload))
	case EventTempoChange:
		return orNil(DecodeTempoChange(payload))
	case EventPlaybackControl:
		return orNil(DecodePlaybackControl(payload))
	case EventStateRequest:
		return orNil(DecodeStateRequest(payload))
	case EventStateResponse:
		return orNil(DecodeStateResponse(payload))
	case EventLEDUpdate:
		return orNil(DecodeLEDUpdate(payload))
	}
	return nil, fmt.Errorf("event %q: %w", truncateForError(event), ErrUnknownEvent)
}

// orNil turns a typed decoder's result into DecodeEvent's: nil on error, so
// that a caller's type switch never sees a zero payload.
func orNil[T any](v T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
