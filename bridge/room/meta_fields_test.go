package room

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// Each field of a Presence meta is read on its own: a joinedAt in another ISO-8601 form, a
// numeric joinedAt, a mistyped isHost or a meta padded beyond a few KiB must not cost the
// participant its role (PROTOCOL.md §2: only a meta with no role, or role "musician", is a
// musician) nor its other fields.
func TestDecodeMetaReadsEachFieldOnItsOwn(t *testing.T) {
	at := time.Date(2026, 11, 26, 19, 17, 8, 381e6, time.UTC)
	for _, tc := range []struct {
		name      string
		raw       string
		want      Meta
		badFields []string // fields reported and left at their zero value
	}{
		{"ISO-8601 without offset is UTC",
			`{"name":"V","role":"viewer","joinedAt":"2026-11-26T19:17:08.381"}`,
			Meta{Name: "V", Role: "viewer", JoinedAt: at}, nil},
		{"ISO-8601 without offset or fraction",
			`{"name":"V","role":"viewer","joinedAt":"2026-11-26T19:17:08"}`,
			Meta{Name: "V", Role: "viewer", JoinedAt: at.Truncate(time.Second)}, nil},
		{"+hhmm offset",
			`{"name":"V","role":"viewer","joinedAt":"2026-11-26T20:17:08.381+0100"}`,
			Meta{Name: "V", Role: "viewer", JoinedAt: at}, nil},
		{"-hhmm offset without fraction",
			`{"name":"V","role":"viewer","joinedAt":"2026-11-26T14:17:08-0500"}`,
			Meta{Name: "V", Role: "viewer", JoinedAt: at.Truncate(time.Second)}, nil},
		{"RFC 3339 still",
			`{"name":"V","role":"viewer","joinedAt":"2026-11-26T20:17:08.381+01:00"}`,
			Meta{Name: "V", Role: "viewer", JoinedAt: at}, nil},
		{"numeric joinedAt",
			`{"name":"V","isHost":true,"role":"viewer","joinedAt":1795720637000}`,
			Meta{Name: "V", IsHost: true, Role: "viewer"}, []string{"joinedAt"}},
		{"unreadable joinedAt string",
			`{"name":"V","role":"viewer","joinedAt":"yesterday"}`,
			Meta{Name: "V", Role: "viewer"}, []string{"joinedAt"}},
		{"mistyped isHost and name",
			`{"name":3,"isHost":"yes","role":"viewer","receiveOnly":true,"joinedAt":"2026-11-26T19:17:08.381Z"}`,
			Meta{Role: "viewer", ReceiveOnly: true, JoinedAt: at}, []string{"name", "isHost"}},
		{"mistyped role is no role",
			`{"name":"M","role":7,"isHost":true,"joinedAt":"2026-11-26T19:17:08.381Z"}`,
			Meta{Name: "M", IsHost: true, JoinedAt: at}, []string{"role"}},
		{"padded beyond 4 KiB, as the hub allows",
			`{"name":"V","role":"viewer","joinedAt":"2026-11-26T19:17:08.381Z","avatar":"` + strings.Repeat("A", 7<<10) + `"}`,
			Meta{Name: "V", Role: "viewer", JoinedAt: at}, nil},
	} {
		m, err := DecodeMeta([]byte(tc.raw))
		if !m.JoinedAt.Equal(tc.want.JoinedAt) || m.JoinedAt.IsZero() != tc.want.JoinedAt.IsZero() {
			t.Errorf("%s: joinedAt %v, want %v (err %v)", tc.name, m.JoinedAt, tc.want.JoinedAt, err)
		}
		m.JoinedAt, tc.want.JoinedAt = time.Time{}, time.Time{}
		if m != tc.want {
			t.Errorf("%s: meta %+v, want %+v (err %v)", tc.name, m, tc.want, err)
		}
		if tc.want.Role == "viewer" && m.IsMusician() {
			t.Errorf("%s: a viewer is taken for a musician", tc.name)
		}
		if len(tc.badFields) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var partial *MetaFieldsError
		if !errors.As(err, &partial) || !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("%s: error %v, want a *MetaFieldsError wrapping ErrInvalidPayload", tc.name, err)
			continue
		}
		var got []string
		for _, fe := range partial.Fields {
			got = append(got, fe.Field)
			if fe.Event != "presence" {
				t.Errorf("%s: field error %v is not a presence one", tc.name, fe)
			}
		}
		if !slices.Equal(got, tc.badFields) {
			t.Errorf("%s: fields reported %v, want %v (%v)", tc.name, got, tc.badFields, err)
		}
		for _, f := range tc.badFields {
			if !strings.Contains(err.Error(), `field "`+f+`"`) {
				t.Errorf("%s: error %v does not name field %q", tc.name, err, f)
			}
		}
	}
}

// A meta that cannot be read at all (not a JSON object, or larger than MaxMetaBytes) comes back
// zero with an error that is not a *MetaFieldsError: the caller falls back as before.
func TestDecodeMetaRefusesWhatIsNoMeta(t *testing.T) {
	for _, raw := range []string{
		`"meta"`, `[{"role":"viewer"}]`, `{"role":"viewer"`, `null`,
		`{"role":"viewer","avatar":"` + strings.Repeat("A", MaxMetaBytes) + `"}`,
	} {
		m, err := DecodeMeta([]byte(raw))
		var partial *MetaFieldsError
		if err == nil || errors.As(err, &partial) || m != (Meta{}) {
			t.Errorf("DecodeMeta(%.40s…) = %+v, %v; want a zero meta and a whole-meta error", raw, m, err)
		}
		if !errors.Is(err, ErrInvalidPayload) && !errors.Is(err, ErrPayloadTooLarge) {
			t.Errorf("DecodeMeta(%.40s…): unclassified error %v", raw, err)
		}
	}
}
