package wire_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire/wiretest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func versionOf(name string) wire.Version {
	if name == wiretest.SessionV1 {
		return wire.V1
	}
	return wire.V2
}

// TestRecordedFramesRoundTrip decodes every frame recorded from supabase-js (and its logging
// server) and re-encodes it to the identical bytes.
func TestRecordedFramesRoundTrip(t *testing.T) {
	total := 0
	for _, name := range wiretest.Names {
		rec := wiretest.MustLoad(name)
		v := versionOf(name)
		if len(rec.Frames) == 0 {
			t.Fatalf("%s: no frames parsed", name)
		}
		for _, f := range rec.Frames {
			total++
			if f.Binary {
				var b wire.UserBroadcast
				if err := wire.DecodeBinary(f.Data, &b); err != nil {
					t.Fatalf("%s:%d: decode binary: %v", name, f.Line, err)
				}
				wantKind := wire.KindUserBroadcastPush
				if f.Dir == wiretest.ServerToClient {
					wantKind = wire.KindUserBroadcast
				}
				if b.Kind != wantKind || b.Topic != "realtime:ABC123" || b.Encoding != wire.EncodingJSON {
					t.Fatalf("%s:%d: decoded %+v", name, f.Line, b)
				}
				got, err := wire.AppendBinary(nil, &b)
				if err != nil {
					t.Fatalf("%s:%d: encode binary: %v", name, f.Line, err)
				}
				if !bytes.Equal(got, f.Data) {
					t.Fatalf("%s:%d: re-encoded\n got %x\nwant %x", name, f.Line, got, f.Data)
				}
				continue
			}
			var m wire.Message
			if err := v.DecodeText(f.Data, &m); err != nil {
				t.Fatalf("%s:%d: decode %s: %v", name, f.Line, v, err)
			}
			got, err := v.AppendText(nil, &m)
			if err != nil {
				t.Fatalf("%s:%d: encode: %v", name, f.Line, err)
			}
			if !bytes.Equal(got, f.Data) {
				t.Fatalf("%s:%d: re-encoded\n got %s\nwant %s", name, f.Line, got, f.Data)
			}
		}
	}
	t.Logf("%d recorded frames round-tripped", total)
}

// TestRecordedBinaryFields checks the decoded fields of the recorded kind-3 frames against the
// recorder's own "decoded" lines.
func TestRecordedBinaryFields(t *testing.T) {
	rec := wiretest.MustLoad(wiretest.SessionV2)
	want := []struct{ joinRef, ref, event, payload string }{
		{"6", "8", "webrtc-signal", `{"type":"offer","targetPeerId":"peer-42","data":{"sdp":"v=0...","type":"offer"}}`},
		{"6", "9", "tempo-change", `{"tempo":128}`},
		{"6", "10", "led-update", `{"colors":["#ff0000","#00ff00"]}`},
	}
	i := 0
	for _, f := range rec.Sent(wiretest.ClientToServer) {
		if !f.Binary {
			continue
		}
		var b wire.UserBroadcast
		if err := wire.DecodeBinary(f.Data, &b); err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if b.JoinRef != wire.RefOf(w.joinRef) || b.Ref != wire.RefOf(w.ref) || b.Event != w.event ||
			string(b.Payload) != w.payload || len(b.Metadata) != 0 {
			t.Errorf("frame %d: got join_ref=%v ref=%v event=%q meta=%q payload=%s", i, b.JoinRef, b.Ref, b.Event, b.Metadata, b.Payload)
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("found %d binary client frames, want %d", i, len(want))
	}
}

func TestDecodeTextV2Fields(t *testing.T) {
	var m wire.Message
	err := wire.DecodeTextV2([]byte(` [ null , "11" , "phoenix" , "heartbeat" , { } ] `), &m)
	if err != nil {
		t.Fatal(err)
	}
	if m.JoinRef.Valid || m.Ref != wire.RefOf("11") || m.Topic != "phoenix" || m.Event != "heartbeat" || string(m.Payload) != "{ }" {
		t.Fatalf("got %+v", m)
	}
	// Escaped strings are unescaped, and re-encoded the JSON.stringify way.
	err = wire.DecodeTextV2([]byte(`["a\"b","\u0041","realtime:X\\Y","ev\n",[1,2]]`), &m)
	if err != nil {
		t.Fatal(err)
	}
	if m.JoinRef.Value != `a"b` || m.Ref.Value != "A" || m.Topic != `realtime:X\Y` || m.Event != "ev\n" {
		t.Fatalf("got %+v", m)
	}
	out, _ := wire.AppendTextV2(nil, &m)
	if string(out) != `["a\"b","A","realtime:X\\Y","ev\n",[1,2]]` {
		t.Fatalf("re-encoded %s", out)
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", "quote\"back\\slash", "ctl\x01\x1f\t\r\n\b\f", "ünï🎵", "<html>&"} {
		m := wire.Message{Topic: s, Event: "e"}
		out, err := wire.AppendTextV2(nil, &m)
		if err != nil {
			t.Fatal(err)
		}
		var arr []any
		if err := json.Unmarshal(out, &arr); err != nil {
			t.Fatalf("%q: encoded %s is not JSON: %v", s, out, err)
		}
		if arr[2] != s {
			t.Fatalf("%q: round trip gave %q", s, arr[2])
		}
	}
}

func TestMalformedText(t *testing.T) {
	big := append([]byte(`[null,null,"t","e","`), bytes.Repeat([]byte("x"), wire.MaxFrameSize)...)
	big = append(big, `"]`...)
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", ``, wire.ErrNotArray},
		{"object", `{"topic":"t"}`, wire.ErrNotArray},
		{"four elements", `[null,null,"t","e"]`, wire.ErrArity},
		{"six elements", `[null,null,"t","e",{},5]`, wire.ErrArity},
		{"one element", `["x"]`, wire.ErrArity},
		{"numeric ref", `[1,null,"t","e",{}]`, wire.ErrElementType},
		{"null topic", `[null,null,null,"e",{}]`, wire.ErrElementType},
		{"object event", `[null,null,"t",{},{}]`, wire.ErrElementType},
		{"empty topic", `[null,null,"","e",{}]`, wire.ErrEmptyField},
		{"bad payload", `[null,null,"t","e",{]`, wire.ErrBadJSON},
		{"missing payload", `[null,null,"t","e",]`, wire.ErrBadJSON},
		{"unclosed", `[null,null,"t","e",{}`, wire.ErrBadJSON},
		{"unterminated string", `[null,null,"t`, wire.ErrBadJSON},
		{"bad null", `[nul,null,"t","e",{}]`, wire.ErrBadJSON},
		{"bad escape", `[null,null,"t\q","e",{}]`, wire.ErrBadJSON},
		{"raw control char", "[null,null,\"t\x01\",\"e\",{}]", wire.ErrBadJSON},
		{"bad utf8", "[null,null,\"t\xff\",\"e\",{}]", wire.ErrInvalidUTF8},
		// json.Valid accepts these; a browser would fail the socket that receives them.
		{"bad utf8 in payload string", "[null,null,\"t\",\"e\",{\"name\":\"\xff\"}]", wire.ErrInvalidUTF8},
		{"truncated utf8 in payload", "[null,null,\"t\",\"e\",{\"name\":\"\xe6\x97\"}]", wire.ErrInvalidUTF8},
		{"surrogate half in payload", "[null,null,\"t\",\"e\",{\"name\":\"\xed\xa0\x80\"}]", wire.ErrInvalidUTF8},
		{"trailing garbage", `[null,null,"t","e",{}] x`, wire.ErrBadJSON},
		{"missing comma", `[null null,"t","e",{}]`, wire.ErrBadJSON},
		{"oversize", string(big), wire.ErrFrameTooLarge},
	}
	for _, c := range cases {
		var m wire.Message
		err := wire.DecodeTextV2([]byte(c.in), &m)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestMalformedTextV1(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"array", `[null,null,"t","e",{}]`, wire.ErrNotObject},
		{"empty", ``, wire.ErrNotObject},
		{"bad json", `{"topic":`, wire.ErrBadJSON},
		{"no topic", `{"event":"e","payload":{},"ref":null}`, wire.ErrMissingField},
		{"no payload", `{"topic":"t","event":"e","ref":null}`, wire.ErrMissingField},
		{"numeric topic", `{"topic":5,"event":"e","payload":{},"ref":null}`, wire.ErrElementType},
		{"numeric ref", `{"topic":"t","event":"e","payload":{},"ref":5}`, wire.ErrElementType},
		{"object join_ref", `{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":{}}`, wire.ErrElementType},
		{"empty event", `{"topic":"t","event":"","payload":{},"ref":null}`, wire.ErrEmptyField},
		{"bad utf8", "{\"topic\":\"t\xff\",\"event\":\"e\",\"payload\":{},\"ref\":null}", wire.ErrInvalidUTF8},
		{"bad utf8 in payload", "{\"topic\":\"t\",\"event\":\"e\",\"payload\":{\"a\":\"\xff\"},\"ref\":null}", wire.ErrInvalidUTF8},
		{"oversize", `{"topic":"` + strings.Repeat("x", wire.MaxFrameSize) + `"}`, wire.ErrFrameTooLarge},
	}
	for _, c := range cases {
		var m wire.Message
		err := wire.DecodeTextV1([]byte(c.in), &m)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	var m wire.Message
	if err := wire.DecodeTextV1([]byte(`{"topic":"t","event":"e","payload":{"a":1},"ref":null,"join_ref":"3"}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.Ref.Valid || m.JoinRef != wire.RefOf("3") || string(m.Payload) != `{"a":1}` {
		t.Fatalf("got %+v", m)
	}
}

func TestMalformedBinary(t *testing.T) {
	valid := mustHex(t, "040f0c00017265616c74696d653a41424331323374656d706f2d6368616e67657b2274656d706f223a3132387d")
	with := func(i int, v byte) []byte {
		out := bytes.Clone(valid)
		out[i] = v
		return out
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, wire.ErrTruncated},
		{"kind 3 short header", []byte{3, 1, 1, 1}, wire.ErrTruncated},
		{"kind 4 short header", []byte{4, 1}, wire.ErrTruncated},
		{"kind 0", []byte{0, 1, 1, 1, 1}, wire.ErrUnknownKind},
		{"kind 9", with(0, 9), wire.ErrUnknownKind},
		{"topic length past end", with(1, 0xff), wire.ErrTruncated},
		{"metadata length past end", with(3, 0xff), wire.ErrTruncated},
		{"truncated in event", valid[:20], wire.ErrTruncated},
		{"encoding 7", with(4, 7), wire.ErrBadEncoding},
		{"empty topic", []byte{4, 0, 1, 0, 0, 'e'}, wire.ErrEmptyField},
		{"empty event", []byte{4, 1, 0, 0, 0, 't'}, wire.ErrEmptyField},
		{"bad JSON payload", append(bytes.Clone(valid[:len(valid)-1]), '!'), wire.ErrBadJSON},
		{"metadata not object", []byte{4, 1, 1, 2, 0, 't', 'e', '[', ']'}, wire.ErrBadJSON},
		{"bad utf8 topic", []byte{4, 1, 1, 0, 0, 0xff, 'e'}, wire.ErrInvalidUTF8},
		{"bad utf8 in JSON payload", []byte{4, 1, 1, 0, 1, 't', 'e', '"', 0xff, '"'}, wire.ErrInvalidUTF8},
		{"bad utf8 in metadata", []byte{4, 1, 1, 8, 0, 't', 'e', '{', '"', 'a', '"', ':', '"', 0xff, '"', '}'}, wire.ErrInvalidUTF8},
		{"oversize", append([]byte{4, 1, 1, 0, 0, 't', 'e'}, make([]byte, wire.MaxFrameSize)...), wire.ErrFrameTooLarge},
	}
	for _, c := range cases {
		var b wire.UserBroadcast
		err := wire.DecodeBinary(c.in, &b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// Binary payloads (encoding 0) are opaque: any bytes are fine.
	var b wire.UserBroadcast
	if err := wire.DecodeBinary([]byte{4, 1, 1, 0, 0, 't', 'e', 0xff, 0x00}, &b); err != nil || b.Encoding != wire.EncodingBinary {
		t.Fatalf("binary payload: %v %+v", err, b)
	}
}

func TestEncodeBinaryRefusals(t *testing.T) {
	long := strings.Repeat("x", 256)
	cases := []struct {
		name string
		b    wire.UserBroadcast
		want error
	}{
		{"kind 2", wire.UserBroadcast{Kind: wire.KindBroadcast, Topic: "t", Event: "e", Encoding: wire.EncodingJSON, Payload: []byte("{}")}, wire.ErrUnknownKind},
		{"long topic", wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: long, Event: "e", Encoding: wire.EncodingJSON, Payload: []byte("{}")}, wire.ErrFieldTooLong},
		{"long ref", wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, Ref: wire.RefOf(long), Topic: "t", Event: "e", Encoding: wire.EncodingJSON, Payload: []byte("{}")}, wire.ErrFieldTooLong},
		{"empty event", wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: "t", Encoding: wire.EncodingJSON, Payload: []byte("{}")}, wire.ErrEmptyField},
		{"bad JSON", wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: "t", Event: "e", Encoding: wire.EncodingJSON, Payload: []byte("{")}, wire.ErrBadJSON},
		{"bad encoding", wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: "t", Event: "e", Encoding: 2}, wire.ErrBadEncoding},
		{"too large", wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: "t", Event: "e", Payload: make([]byte, wire.MaxFrameSize)}, wire.ErrFrameTooLarge},
	}
	for _, c := range cases {
		dst := []byte("keep")
		out, err := wire.AppendBinary(dst, &c.b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed on error: %q", c.name, out)
		}
	}
	if _, err := wire.AppendTextV2(nil, &wire.Message{Topic: "t", Event: "e", Payload: []byte("{")}); !errors.Is(err, wire.ErrBadJSON) {
		t.Errorf("text bad payload: %v", err)
	}
	for _, v := range []wire.Version{wire.V2, wire.V1} {
		if _, err := v.AppendText(nil, &wire.Message{Topic: "t", Event: "e", Payload: []byte("{\"a\":\"\xff\"}")}); !errors.Is(err, wire.ErrInvalidUTF8) {
			t.Errorf("vsn %s text payload with invalid UTF-8: %v", v, err)
		}
	}
	if _, err := wire.AppendBinary(nil, &wire.UserBroadcast{Kind: wire.KindUserBroadcast, Topic: "t", Event: "e", Encoding: wire.EncodingJSON, Payload: []byte("\"\xff\"")}); !errors.Is(err, wire.ErrInvalidUTF8) {
		t.Errorf("binary JSON payload with invalid UTF-8: %v", err)
	}
}

// TestPushToBroadcast shows the server's fan-out: a kind-3 frame re-encoded as kind 4 gives
// exactly the recorded server frame.
func TestPushToBroadcast(t *testing.T) {
	rec := wiretest.MustLoad(wiretest.SessionV2)
	var pushes, broadcasts [][]byte
	for _, f := range rec.Frames {
		if f.Binary && f.Dir == wiretest.ClientToServer {
			pushes = append(pushes, f.Data)
		} else if f.Binary {
			broadcasts = append(broadcasts, f.Data)
		}
	}
	if len(pushes) != 3 || len(broadcasts) != 3 {
		t.Fatalf("recording has %d pushes, %d broadcasts", len(pushes), len(broadcasts))
	}
	for i := range pushes {
		var b wire.UserBroadcast
		if err := wire.DecodeBinary(pushes[i], &b); err != nil {
			t.Fatal(err)
		}
		b.Kind = wire.KindUserBroadcast
		out, err := wire.AppendBinary(nil, &b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, broadcasts[i]) {
			t.Errorf("push %d as kind 4:\n got %x\nwant %x", i, out, broadcasts[i])
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]wire.Version{"": wire.V2, "2.0.0": wire.V2, "1.0.0": wire.V1} {
		got, err := wire.ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := wire.ParseVersion("3.0.0"); err == nil {
		t.Error("3.0.0 accepted")
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	out, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
