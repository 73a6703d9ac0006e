package room

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// A Chromium-style offer, shortened: the decoder only checks its shape.
const testSDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"

func sigJSON(typ, from, target, data string) string {
	return fmt.Sprintf(`{"type":%q,"fromPeerId":%q,"targetPeerId":%q,"data":%s}`, typ, from, target, data)
}

func TestDecodeSignalValid(t *testing.T) {
	sdpData := func(typ string) string { return fmt.Sprintf(`{"type":%q,"sdp":%q}`, typ, testSDP) }
	mid, idx, ufrag := "0", uint16(0), "abcd"
	for _, tc := range []struct {
		name    string
		payload string
		want    Signal
		eoc     bool
	}{
		{"offer", sigJSON("offer", "m1", "b1", sdpData("offer")),
			Signal{Type: SignalOffer, FromPeerID: "m1", TargetPeerID: "b1", Description: &SessionDescription{"offer", testSDP}}, false},
		{"answer with unknown fields", `{"extra":[1,2],"type":"answer","fromPeerId":"m1","targetPeerId":"b1","data":{"type":"answer","sdp":"v=0\r\n","x":1}}`,
			Signal{Type: SignalAnswer, FromPeerID: "m1", TargetPeerID: "b1", Description: &SessionDescription{"answer", "v=0\r\n"}}, false},
		{"candidate", sigJSON("ice-candidate", "m1", "b1", `{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}`),
			Signal{Type: SignalCandidate, FromPeerID: "m1", TargetPeerID: "b1", Candidate: &ICECandidate{
				Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", SDPMid: &mid, SDPMLineIndex: &idx, UsernameFragment: &ufrag}}, false},
		{"candidate with only sdpMid", sigJSON("ice-candidate", "m1", "b1", `{"candidate":"candidate:x","sdpMid":"0","sdpMLineIndex":null}`),
			Signal{Type: SignalCandidate, FromPeerID: "m1", TargetPeerID: "b1", Candidate: &ICECandidate{Candidate: "candidate:x", SDPMid: &mid}}, false},
		{"end of candidates null", sigJSON("ice-candidate", "m1", "b1", `null`),
			Signal{Type: SignalCandidate, FromPeerID: "m1", TargetPeerID: "b1"}, true},
		{"end of candidates absent", `{"type":"ice-candidate","fromPeerId":"m1","targetPeerId":"b1"}`,
			Signal{Type: SignalCandidate, FromPeerID: "m1", TargetPeerID: "b1"}, true},
		{"end of candidates empty line", sigJSON("ice-candidate", "m1", "b1", `{"candidate":"","sdpMid":null,"sdpMLineIndex":null}`),
			Signal{Type: SignalCandidate, FromPeerID: "m1", TargetPeerID: "b1", Candidate: &ICECandidate{}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeSignal([]byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got.IsEndOfCandidates() != tc.eoc {
				t.Fatalf("IsEndOfCandidates = %v", !tc.eoc)
			}
			// Encoding and decoding again gives the same signal.
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := DecodeSignal(b)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip via %s: %+v, %v", b, again, err)
			}
		})
	}
}

func TestDecodeSignalInvalid(t *testing.T) {
	offerData := fmt.Sprintf(`{"type":"offer","sdp":%q}`, testSDP)
	for _, tc := range []struct {
		name, payload, field, reason string
	}{
		{"not an object", `[1,2]`, "", "must be a JSON object"},
		{"broken JSON", `{"type":`, "", "is not valid JSON"},
		{"empty", ``, "", "must be a JSON object"},
		{"missing type", `{"fromPeerId":"a","targetPeerId":"b"}`, "type", "is missing"},
		{"unknown type", sigJSON("pranswer", "a", "b", offerData), "type", `is "pranswer"`},
		{"numeric type", `{"type":5}`, "type", "must be a string"},
		{"missing fromPeerId", `{"type":"offer","targetPeerId":"b","data":` + offerData + `}`, "fromPeerId", "is missing"},
		{"empty fromPeerId", sigJSON("offer", "", "b", offerData), "fromPeerId", "must not be empty"},
		{"huge fromPeerId", sigJSON("offer", strings.Repeat("x", 300), "b", offerData), "fromPeerId", "limit 256"},
		{"missing target", `{"type":"offer","fromPeerId":"a","data":` + offerData + `}`, "targetPeerId", "is missing"},
		{"offer without data", `{"type":"offer","fromPeerId":"a","targetPeerId":"b"}`, "data", "is missing"},
		{"offer data string", sigJSON("offer", "a", "b", `"v=0"`), "data", "must be a JSON object"},
		{"offer typed answer", sigJSON("offer", "a", "b", `{"type":"answer","sdp":"v=0"}`), "data.type", "but the signal is an offer"},
		{"offer no sdp", sigJSON("offer", "a", "b", `{"type":"offer"}`), "data.sdp", "is missing"},
		{"offer bad sdp", sigJSON("offer", "a", "b", `{"type":"offer","sdp":"hello"}`), "data.sdp", `does not start with "v=0"`},
		{"candidate not object", sigJSON("ice-candidate", "a", "b", `"candidate:1"`), "data", "must be a JSON object"},
		{"candidate without mid or index", sigJSON("ice-candidate", "a", "b", `{"candidate":"candidate:1"}`), "data.sdpMid", "both missing"},
		{"candidate index negative", sigJSON("ice-candidate", "a", "b", `{"candidate":"c","sdpMLineIndex":-1}`), "data.sdpMLineIndex", "want 0…65535"},
		{"candidate index fractional", sigJSON("ice-candidate", "a", "b", `{"candidate":"c","sdpMLineIndex":0.5}`), "data.sdpMLineIndex", "must be an integer"},
		{"candidate index huge", sigJSON("ice-candidate", "a", "b", `{"candidate":"c","sdpMLineIndex":1e400}`), "data.sdpMLineIndex", "finite number"},
		{"candidate line number", sigJSON("ice-candidate", "a", "b", `{"candidate":7,"sdpMid":"0"}`), "data.candidate", "must be a string"},
		{"candidate mid number", sigJSON("ice-candidate", "a", "b", `{"candidate":"c","sdpMid":0}`), "data.sdpMid", "must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeSignal([]byte(tc.payload))
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidPayload) {
				t.Fatalf("error = %v; want a *FieldError wrapping ErrInvalidPayload", err)
			}
			if fe.Event != EventSignal || fe.Field != tc.field || !strings.Contains(fe.Reason, tc.reason) {
				t.Fatalf("error = %#v; want field %q, reason containing %q", fe, tc.field, tc.reason)
			}
		})
	}
}

func TestDecodeSignalTooLarge(t *testing.T) {
	big := sigJSON("offer", "a", "b", fmt.Sprintf(`{"type":"offer","sdp":"v=0%s"}`, strings.Repeat("a", MaxSignalBytes)))
	_, err := DecodeSignal([]byte(big))
	if !errors.Is(err, ErrPayloadTooLarge) || !strings.Contains(err.Error(), "limit 65536") {
		t.Fatalf("error = %v; want ErrPayloadTooLarge naming the limit", err)
	}
}

func TestSignalMarshalMatchesProtocol(t *testing.T) {
	b, err := json.Marshal(Signal{Type: SignalCandidate, FromPeerID: "bridge", TargetPeerID: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"ice-candidate","fromPeerId":"bridge","targetPeerId":"m1","data":null}`; string(b) != want {
		t.Fatalf("end-of-candidates = %s, want %s", b, want)
	}
	if _, err := json.Marshal(Signal{Type: SignalOffer}); err == nil {
		t.Fatal("an offer without a description encoded without error")
	}
	if _, err := json.Marshal(Signal{Type: "bogus"}); err == nil {
		t.Fatal("an unknown type encoded without error")
	}
}

func TestDecodeSmallEvents(t *testing.T) {
	for _, tc := range []struct {
		event, payload string
		want           any
		errField       string // non-empty: expect a FieldError on this field
	}{
		{EventTempoChange, `{"tempo":128}`, TempoChange{128}, ""},
		{EventTempoChange, `{"tempo":20}`, TempoChange{20}, ""},
		{EventTempoChange, `{"tempo":300.0}`, TempoChange{300}, ""},
		{EventTempoChange, `{"tempo":19.99}`, nil, "tempo"},
		{EventTempoChange, `{"tempo":301}`, nil, "tempo"},
		{EventTempoChange, `{"tempo":"120"}`, nil, "tempo"},
		{EventTempoChange, `{}`, nil, "tempo"},
		{EventPlaybackControl, `{"isPlaying":true}`, PlaybackControl{true}, ""},
		{EventPlaybackControl, `{"isPlaying":false,"by":"x"}`, PlaybackControl{false}, ""},
		{EventPlaybackControl, `{"isPlaying":1}`, nil, "isPlaying"},
		{EventPlaybackControl, `{"isPlaying":null}`, nil, "isPlaying"},
		{EventStateRequest, `{"fromPeerId":"p1"}`, StateRequest{"p1"}, ""},
		{EventStateRequest, `{"fromPeerId":""}`, nil, "fromPeerId"},
		{EventStateResponse, `{"fromPeerId":"h","targetPeerId":"b","state":{"tempo":90,"isPlaying":true}}`,
			StateResponse{"h", "b", State{90, true}}, ""},
		{EventStateResponse, `{"state":{"tempo":90,"isPlaying":false}}`, StateResponse{State: State{90, false}}, ""},
		{EventStateResponse, `{"fromPeerId":"h"}`, nil, "state"},
		{EventStateResponse, `{"state":[]}`, nil, "state"},
		{EventStateResponse, `{"state":{"tempo":5,"isPlaying":true}}`, nil, "state.tempo"},
		{EventStateResponse, `{"state":{"tempo":100}}`, nil, "state.isPlaying"},
		{EventStateResponse, `{"targetPeerId":3,"state":{"tempo":100,"isPlaying":true}}`, nil, "targetPeerId"},
	} {
		got, err := DecodeEvent(tc.event, []byte(tc.payload))
		if tc.errField == "" {
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s %s = %#v, %v; want %#v", tc.event, tc.payload, got, err, tc.want)
			}
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.errField || got != nil {
			t.Errorf("%s %s = %#v, %v; want nil and an error on field %q", tc.event, tc.payload, got, err, tc.errField)
		}
	}
}

// PROTOCOL.md §3: "Defaults until a state arrives: tempo 120, isPlaying false." The values are
// literals, not DefaultTempo/DefaultPlaying, so that a wrong constant fails here; the state a
// host answers a state-request with before any change must say the same on the wire.
func TestDefaultStateIsTheProtocolsDefault(t *testing.T) {
	if DefaultState.Tempo != 120 || DefaultState.IsPlaying {
		t.Errorf("DefaultState = %+v, want tempo 120, isPlaying false (PROTOCOL.md §3)", DefaultState)
	}
	b, err := json.Marshal(StateResponse{FromPeerID: "h", TargetPeerID: "b", State: DefaultState})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"fromPeerId":"h","targetPeerId":"b","state":{"tempo":120,"isPlaying":false}}`; string(b) != want {
		t.Errorf("a state-response with the default state = %s, want %s", b, want)
	}
}

func TestDecodeEventUnknown(t *testing.T) {
	_, err := DecodeEvent("chat-message", []byte(`{}`))
	if !errors.Is(err, ErrUnknownEvent) || errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("error = %v; want ErrUnknownEvent only", err)
	}
}

func TestDecodeLEDUpdate(t *testing.T) {
	u, err := DecodeLEDUpdate([]byte(`{"colors":["#ff0000", {"r":0,"g":255,"b":0}],"seq":7,"ts":1764000000000.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if u.NumColors != 2 || string(u.Colors) != `["#ff0000", {"r":0,"g":255,"b":0}]` ||
		!u.HasSeq || u.Seq != 7 || !u.HasTS || u.TSMillis != 1764000000000.5 {
		t.Fatalf("got %+v", u)
	}
	u, err = DecodeLEDUpdate([]byte(`{"colors":[]}`))
	if err != nil || u.NumColors != 0 || u.HasSeq || u.HasTS {
		t.Fatalf("empty update = %+v, %v", u, err)
	}
	b, err := json.Marshal(u)
	if err != nil || string(b) != `{"colors":[]}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}

	full := `{"colors":[` + strings.TrimSuffix(strings.Repeat(`"#010203",`, MaxLEDColors), ",") + `]}`
	if u, err := DecodeLEDUpdate([]byte(full)); err != nil || u.NumColors != MaxLEDColors {
		t.Fatalf("%d colours: %v", MaxLEDColors, err)
	}
	over := `{"colors":[` + strings.Repeat(`"#010203",`, MaxLEDColors) + `"#010203"]}`
	for _, tc := range []struct{ payload, field, reason string }{
		{over, "colors", "has 4097 entries, limit 4096"},
		{`{"colors":"#ff0000"}`, "colors", "must be an array"},
		{`{"colors":null}`, "colors", "is missing"},
		{`{"colors":[1,2]}`, "colors[0]", "must be"},
		{`{"colors":["#fff",[1]]}`, "colors[1]", "must be"},
		// An unusable seq or ts is left out, the frame kept: TestDecodeLEDUpdateIgnoresAnUnusableSeqOrTS.
	} {
		_, err := DecodeLEDUpdate([]byte(tc.payload))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Reason, tc.reason) {
			t.Errorf("%.60s: error = %v; want field %q reason %q", tc.payload, err, tc.field, tc.reason)
		}
	}
	huge := `{"colors":[` + strings.Repeat(`"#010203",`, MaxLEDUpdateBytes/10) + `"#010203"]}`
	if _, err := DecodeLEDUpdate([]byte(huge)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("oversized led-update: %v", err)
	}
}

func TestFieldErrorMessage(t *testing.T) {
	_, err := DecodeTempoChange([]byte(`{"tempo":500}`))
	want := `tempo-change payload: field "tempo" is 500 BPM, want 20…300: invalid payload`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

// fuzzSeeds are valid and near-valid payloads of every event.
var fuzzSeeds = []struct{ event, payload string }{
	{EventSignal, sigJSON("offer", "m1", "b1", fmt.Sprintf(`{"type":"offer","sdp":%q}`, testSDP))},
	{EventSignal, sigJSON("answer", "m1", "b1", `{"type":"answer","sdp":"v=0\r\n"}`)},
	{EventSignal, sigJSON("ice-candidate", "m1", "b1", `{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"u"}`)},
	{EventSignal, sigJSON("ice-candidate", "m1", "b1", `null`)},
	{EventSignal, `{"type":"offer","fromPeerId":"a","targetPeerId":"b","data":{"type":"offer","sdp":"v=1"}}`},
	{EventSignal, `{"type":"ice-candidate","fromPeerId":"a","targetPeerId":"b","data":{"candidate":"x","sdpMLineIndex":1e3}}`},
	{EventTempoChange, `{"tempo":120}`},
	{EventTempoChange, `{"tempo":-1e308}`},
	{EventPlaybackControl, `{"isPlaying":true}`},
	{EventStateRequest, `{"fromPeerId":"p"}`},
	{EventStateResponse, `{"fromPeerId":"h","targetPeerId":"b","state":{"tempo":90,"isPlaying":true}}`},
	{EventLEDUpdate, `{"colors":["#ff0000",{"r":1,"g":2,"b":3}],"seq":1,"ts":2}`},
	{EventLEDUpdate, `{"colors":[ "#ff0000" , {} ],"seq":9007199254740991}`},
	{"unknown", `{}`},
	{EventSignal, "\xff\xfe{"},
	{EventSignal, `{"type":"offer","type":"answer"}`},
}

// FuzzDecodeEvent: no input panics; every error is classified; whatever is
// accepted encodes and decodes again to the same value.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.event, []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		v, err := DecodeEvent(event, payload)
		if err != nil {
			if v != nil {
				t.Fatalf("value %#v returned with error %v", v, err)
			}
			if !errors.Is(err, ErrInvalidPayload) && !errors.Is(err, ErrPayloadTooLarge) && !errors.Is(err, ErrUnknownEvent) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("accepted %#v does not encode: %v", v, err)
		}
		again, err := DecodeEvent(event, b)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", b, err)
		}
		if u, ok := again.(LEDUpdate); ok {
			// The re-encoded array is compacted; compare what the parser sees.
			orig := v.(LEDUpdate)
			if u.NumColors != orig.NumColors || u.Seq != orig.Seq || u.HasSeq != orig.HasSeq || u.HasTS != orig.HasTS {
				t.Fatalf("round trip %+v != %+v", u, orig)
			}
			return
		}
		if !reflect.DeepEqual(again, v) {
			t.Fatalf("round trip %#v != %#v", again, v)
		}
	})
}
