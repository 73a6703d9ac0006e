package room

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecodeMeta(t *testing.T) {
	m, err := DecodeMeta([]byte(`{"name":"Ana","isHost":true,"joinedAt":"2026-11-25T19:00:01.250Z","phx_ref":"F1","phx_ref_prev":"F0"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Meta{Name: "Ana", IsHost: true, JoinedAt: time.Date(2026, 11, 25, 19, 0, 1, 250e6, time.UTC)}
	if !reflect.DeepEqual(m, want) || !m.IsMusician() {
		t.Fatalf("got %+v, want %+v (musician)", m, want)
	}
	m, err = DecodeMeta([]byte(`{"name":"Bo","joinedAt":"2026-11-25T20:00:00+01:00","role":"musician"}`))
	if err != nil || !m.IsMusician() || !m.JoinedAt.Equal(time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)) {
		t.Fatalf("offset joinedAt: %+v, %v", m, err)
	}
	m, err = DecodeMeta([]byte(`{"name":"strip","role":"led-bridge","receiveOnly":true,"client":"ledbridge/1.0"}`))
	if err != nil || m.IsMusician() || !m.ReceiveOnly || !m.JoinedAt.IsZero() {
		t.Fatalf("bridge meta: %+v, %v", m, err)
	}
	for _, tc := range []struct{ raw, field string }{
		{`{"name":3}`, "name"},
		{`{"isHost":"yes"}`, "isHost"},
		{`{"joinedAt":"yesterday"}`, "joinedAt"},
		{`{"joinedAt":1764000000000}`, "joinedAt"},
		{`{"receiveOnly":1}`, "receiveOnly"},
		{`"meta"`, ""},
	} {
		_, err := DecodeMeta([]byte(tc.raw))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || fe.Event != "presence" {
			t.Errorf("DecodeMeta(%s) error = %v; want field %q", tc.raw, err, tc.field)
		}
	}
	if _, err := DecodeMeta([]byte(`{"name":"` + strings.Repeat("x", MaxMetaBytes) + `"}`)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("oversized meta: %v", err)
	}
}

// TestDecodeMetaTruncatesLongStrings: an overlong name (here 100 CJK characters, 300 bytes) is
// cut at a rune boundary, and the rest of the meta (isHost, joinedAt) survives.
func TestDecodeMetaTruncatesLongStrings(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"CJK", strings.Repeat("音", 100), strings.Repeat("音", 85)},              // 3-byte runes: 255 bytes
		{"emoji", "a" + strings.Repeat("🎸", 80), "a" + strings.Repeat("🎸", 63)}, // 4-byte runes: 253 bytes
		{"ASCII at the limit", strings.Repeat("x", 256), strings.Repeat("x", 256)},
		{"ASCII over", strings.Repeat("x", 300), strings.Repeat("x", 256)},
		{"escaped", strings.Repeat("\\u00e9", 200), strings.Repeat("é", 128)}, // 2-byte runes from \u escapes
	} {
		raw := `{"name":"` + tc.in + `","isHost":true,"joinedAt":"2026-11-25T19:00:00.000Z","client":"` + strings.Repeat("c", 400) + `"}`
		m, err := DecodeMeta([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if m.Name != tc.want || !utf8.ValidString(m.Name) || len(m.Name) > MaxMetaStringBytes {
			t.Errorf("%s: name %q (%d bytes), want %q", tc.name, m.Name, len(m.Name), tc.want)
		}
		if !m.IsHost || !m.JoinedAt.Equal(time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)) || len(m.Client) != MaxMetaStringBytes {
			t.Errorf("%s: meta %+v lost its other fields", tc.name, m)
		}
	}
	// The host election still sees the participant with the long name.
	m, _ := DecodeMeta([]byte(`{"name":"` + strings.Repeat("音", 100) + `","isHost":true,"joinedAt":"2026-11-25T19:00:00.000Z"}`))
	if host, ok := ElectHost([]Member{{PeerID: "p", Meta: m}}); !ok || host.PeerID != "p" {
		t.Errorf("ElectHost = %+v, %v", host, ok)
	}
}

func TestBridgeMetaJSON(t *testing.T) {
	joined := time.Date(2026, 11, 25, 20, 30, 0, 123456789, time.FixedZone("CET", 3600))
	m := BridgeMeta("Venue strip", "1.2.0", joined)
	if m.IsMusician() || m.IsHost || !m.ReceiveOnly || m.Role != RoleLEDBridge || m.Client != "ledbridge/1.2.0" {
		t.Fatalf("BridgeMeta = %+v", m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"Venue strip","isHost":false,"joinedAt":"2026-11-25T19:30:00.123Z","role":"led-bridge","receiveOnly":true,"client":"ledbridge/1.2.0"}`
	if string(b) != want {
		t.Fatalf("JSON = %s\nwant   %s", b, want)
	}
	var back Meta
	if err := json.Unmarshal(b, &back); err != nil || !back.JoinedAt.Equal(joined.Truncate(time.Millisecond)) || back.Client != m.Client {
		t.Fatalf("unmarshal = %+v, %v", back, err)
	}
}

func TestElectHost(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)
	member := func(id string, host bool, joined time.Time) Member {
		return Member{PeerID: id, Meta: Meta{Name: id, IsHost: host, JoinedAt: joined}}
	}
	for _, tc := range []struct {
		name    string
		members []Member
		want    string // "" = no host
	}{
		{"nobody", nil, ""},
		{"no claim", []Member{member("a", false, t0), member("b", false, t0)}, ""},
		{"one claim", []Member{member("a", false, t0), member("b", true, t0.Add(time.Minute))}, "b"},
		{"earliest wins", []Member{member("late", true, t0.Add(time.Second)), member("early", true, t0), member("x", false, t0.Add(-time.Hour))}, "early"},
		{"tie by peer id", []Member{member("zed", true, t0), member("amy", true, t0)}, "amy"},
		{"missing joinedAt ranks last", []Member{member("a", true, time.Time{}), member("b", true, t0.Add(time.Hour))}, "b"},
		{"all missing joinedAt", []Member{member("b", true, time.Time{}), member("a", true, time.Time{})}, "a"},
	} {
		host, ok := ElectHost(tc.members)
		if ok != (tc.want != "") || host.PeerID != tc.want {
			t.Errorf("%s: ElectHost = %q, %v; want %q", tc.name, host.PeerID, ok, tc.want)
		}
		// The result does not depend on the order members are listed in.
		rev := make([]Member, len(tc.members))
		for i, m := range tc.members {
			rev[len(rev)-1-i] = m
		}
		if h2, _ := ElectHost(rev); h2.PeerID != host.PeerID {
			t.Errorf("%s: reversed order elects %q, not %q", tc.name, h2.PeerID, host.PeerID)
		}
	}
}

func TestElectAnswerer(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)
	musician := func(id string, host bool, joined time.Time) Member {
		return Member{PeerID: id, Meta: Meta{Name: id, IsHost: host, JoinedAt: joined}}
	}
	bridge := Member{PeerID: "bridge", Meta: Meta{Name: "LED bridge", Role: RoleLEDBridge, JoinedAt: t0.Add(-time.Hour)}}
	for _, tc := range []struct {
		name    string
		members []Member
		want    string // "" = nobody answers
	}{
		{"nobody", nil, ""},
		{"only a bridge", []Member{bridge}, ""},
		{"the host, though a musician joined earlier", []Member{musician("a", false, t0.Add(-time.Minute)), musician("h", true, t0)}, "h"},
		{"no host: the earliest musician, not the bridge", []Member{bridge, musician("late", false, t0.Add(time.Second)), musician("early", false, t0)}, "early"},
		{"no host, a tie: the smaller peer id", []Member{musician("zed", false, t0), musician("amy", false, t0)}, "amy"},
	} {
		got, ok := ElectAnswerer(tc.members)
		if ok != (tc.want != "") || got.PeerID != tc.want {
			t.Errorf("%s: ElectAnswerer = %q, %v; want %q", tc.name, got.PeerID, ok, tc.want)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	for _, s := range []string{
		`{"name":"Ana","isHost":true,"joinedAt":"2026-11-25T19:00:01.250Z","phx_ref":"F1"}`,
		`{"name":"strip","isHost":false,"joinedAt":"2026-11-25T19:00:01Z","role":"led-bridge","receiveOnly":true,"client":"ledbridge/1"}`,
		`{"joinedAt":"2026-13-45T99:00:00Z"}`, `{}`, `null`, `{"isHost":null}`,
		`{"name":3,"role":"viewer","joinedAt":1795720637000}`, `{"joinedAt":"2026-11-26T19:17:08.381+0100"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := DecodeMeta(raw)
		var partial *MetaFieldsError
		if err != nil && !errors.As(err, &partial) {
			if !errors.Is(err, ErrInvalidPayload) && !errors.Is(err, ErrPayloadTooLarge) {
				t.Fatalf("unclassified error %v", err)
			}
			if m != (Meta{}) {
				t.Fatalf("refused meta %+v is not zero: %v", m, err)
			}
			return
		}
		if partial != nil && (len(partial.Fields) == 0 || !errors.Is(err, ErrInvalidPayload)) {
			t.Fatalf("partial meta error %v names no field", err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted meta %+v does not encode: %v", m, err)
		}
		back, err := DecodeMeta(b)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", b, err)
		}
		m.JoinedAt = m.JoinedAt.Truncate(time.Millisecond) // the wire keeps ms
		if !back.JoinedAt.Equal(m.JoinedAt) || back.Name != m.Name || back.Role != m.Role || back.IsHost != m.IsHost {
			t.Fatalf("round trip %+v != %+v", back, m)
		}
	})
}
