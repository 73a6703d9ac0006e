package room

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Roles a Presence meta may carry (PROTOCOL.md §2). A meta without a role is a musician.
const (
	RoleMusician  = "musician"
	RoleLEDBridge = "led-bridge"
)

// MaxMetaBytes bounds one Presence meta. It is the Realtime client's own bound on a meta it keeps
// (realtime.DefaultMaxMetaBytes), above the 8 KiB the LAN hub lets a client track: a meta the
// room relayed and the client kept must not be refused here, or the participant's role and
// isHost would be lost with it (hosted Supabase allows larger metas still; those the client
// drops).
const MaxMetaBytes = 16 << 10

// MaxMetaStringBytes bounds name, role and client in a decoded Meta. PROTOCOL.md §2 sets no limit,
// so a longer string is truncated at a rune boundary rather than refused: refusing would lose the
// participant's isHost and joinedAt with it (a 256-byte name is only 85 CJK characters).
const MaxMetaStringBytes = 256

// joinedAtLayout is JavaScript's Date.prototype.toISOString format, which web
// clients use for joinedAt.
const joinedAtLayout = "2006-01-02T15:04:05.000Z07:00"

// Meta is one participant's Presence meta (PROTOCOL.md §2).
type Meta struct {
	Name        string
	IsHost      bool
	JoinedAt    time.Time // zero when the meta carried none
	Role        string    // "" or RoleMusician for musicians
	ReceiveOnly bool      // the participant sends no audio
	Client      string    // software and version, e.g. "ledbridge/1.2.0"
}

// IsMusician reports whether the participant is a musician: a meta with no
// role or role "musician". Musicians are the peers ledbridge receives audio from.
func (m Meta) IsMusician() bool { return m.Role == "" || m.Role == RoleMusician }

// BridgeMeta is the meta ledbridge tracks for itself: never host, role
// led-bridge, receive-only, client "ledbridge/<version>".
func BridgeMeta(name, version string, joinedAt time.Time) Meta {
	return Meta{
		Name:        name,
		IsHost:      false,
		JoinedAt:    joinedAt,
		Role:        RoleLEDBridge,
		ReceiveOnly: true,
		Client:      "ledbridge/" + version,
	}
}

// MarshalJSON encodes the meta with joinedAt in toISOString form (UTC, ms).
func (m Meta) MarshalJSON() ([]byte, error) {
	out := struct {
		Name        string `json:"name"`
		IsHost      bool   `json:"isHost"`
		JoinedAt    string `json:"joinedAt,omitempty"`
		Role        string `json:"role,omitempty"`
		ReceiveOnly bool   `json:"receiveOnly,omitempty"`
		Client      string `json:"client,omitempty"`
	}{Name: m.Name, IsHost: m.IsHost, Role: m.Role, ReceiveOnly: m.ReceiveOnly, Client: m.Client}
	if !m.JoinedAt.IsZero() {
		out.JoinedAt = m.JoinedAt.UTC().Format(joinedAtLayout)
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes with DecodeMeta's validation.
func (m *Meta) UnmarshalJSON(b []byte) error {
	v, err := DecodeMeta(b)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// metaFields are the members of a Presence meta DecodeMeta reads.
var metaFields = []string{"name", "role", "client", "isHost", "receiveOnly", "joinedAt"}

// MetaFieldsError lists the fields of a Presence meta that DecodeMeta could not read and left
// at their zero value. The Meta returned with it holds every other field and is the
// participant's meta: only a meta that is not a JSON object at all is unusable.
type MetaFieldsError struct {
	Fields []*FieldError
}

func (e *MetaFieldsError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.Is(err, ErrInvalidPayload) and errors.As(err, **FieldError) match.
func (e *MetaFieldsError) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errs
}

// DecodeMeta reads one Presence meta. Every field is optional (a missing joinedAt leaves
// JoinedAt zero) and is read on its own: one with the wrong type, or a joinedAt that is not
// ISO-8601, is left at its zero value and reported in a *MetaFieldsError, and the Meta returned
// with that error holds the others. Refusing the whole meta for one field would lose the role
// with it, and a viewer would be taken for a musician (PROTOCOL.md §2). Any other error (the
// meta is not a JSON object, or is larger than MaxMetaBytes) comes with a zero Meta. name, role
// and client longer than MaxMetaStringBytes are truncated to it at a rune boundary. Presence
// bookkeeping fields such as phx_ref are ignored.
func DecodeMeta(raw []byte) (Meta, error) {
	const ev = "presence"
	o, err := parseObject(ev, raw, MaxMetaBytes, metaFields)
	if err != nil {
		return Meta{}, err
	}
	var m Meta
	var bad []*FieldError
	note := func(err error) {
		var fe *FieldError
		if errors.As(err, &fe) {
			bad = append(bad, fe)
		}
	}
	strs := []struct {
		name string
		dst  *string
	}{{"name", &m.Name}, {"role", &m.Role}, {"client", &m.Client}}
	for _, f := range strs {
		p, err := o.optStr(f.name, 0) // bounded by MaxMetaBytes, then truncated
		if err != nil {
			note(err)
			continue
		}
		if p != nil {
			*f.dst = truncateUTF8(*p, MaxMetaStringBytes)
		}
	}
	if m.IsHost, err = o.optBool("isHost"); err != nil {
		note(err)
	}
	if m.ReceiveOnly, err = o.optBool("receiveOnly"); err != nil {
		note(err)
	}
	if o.has("joinedAt") {
		if m.JoinedAt, err = o.joinedAt(); err != nil {
			note(err)
		}
	}
	if bad != nil {
		return m, &MetaFieldsError{Fields: bad}
	}
	return m, nil
}

// joinedAtLayouts are the ISO-8601 forms of joinedAt that DecodeMeta reads besides RFC 3339
// (toISOString's): a UTC offset written without its colon (+0100, as some date libraries format
// it), and none at all, taken as UTC. A fraction of a second is read after the seconds in
// either, as time.Parse always does.
var joinedAtLayouts = []string{"2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05"}

// joinedAt reads the meta's joinedAt, which is present: an ISO-8601 date and time of day.
func (o object) joinedAt() (time.Time, error) {
	s, err := o.str("joinedAt", false, 64)
	if err != nil {
		return time.Time{}, err
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range joinedAtLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil // a time without an offset parses as UTC
		}
	}
	return time.Time{}, o.err("joinedAt", fmt.Sprintf("is %q, want ISO-8601 such as 2026-01-02T15:04:05.000Z", s))
}

// truncateUTF8 returns the longest prefix of s that is at most max bytes and
// ends at a rune boundary. s is valid UTF-8 (encoding/json made it so).
func truncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// Member is one participant of the room: its Presence key and meta.
type Member struct {
	PeerID string
	Meta   Meta
}

// ElectHost returns the room's host: among the members whose meta says
// isHost, the first in CompareMembers' order, the one that joined earliest
// (PROTOCOL.md §2). ok is false when nobody claims to be host.
func ElectHost(members []Member) (host Member, ok bool) {
	for _, m := range members {
		if !m.Meta.IsHost {
			continue
		}
		if !ok || CompareMembers(m, host) < 0 {
			host, ok = m, true
		}
	}
	return host, ok
}

// ElectAnswerer returns who answers a state-request (PROTOCOL.md §3): the host, or while nobody
// claims to be host any musician, of whom the first in CompareMembers' order is the one asked.
// ok is false when the room holds neither.
func ElectAnswerer(members []Member) (answerer Member, ok bool) {
	if host, ok := ElectHost(members); ok {
		return host, true
	}
	for _, m := range members {
		if m.Meta.IsMusician() && (!ok || CompareMembers(m, answerer) < 0) {
			answerer, ok = m, true
		}
	}
	return answerer, ok
}

// CompareMembers is the room's one order of precedence, for electing its host and for choosing
// whom to follow when there are more members than places: a member whose meta says isHost comes
// before one whose meta does not, then the earlier joinedAt first. A member without joinedAt
// ranks after those with one: leaving it out must not buy a place ahead of everyone who sent
// it. Equal times are broken by the smaller PeerID, so that every participant reaches the same
// order. It returns a negative number when a comes first, a positive one when b does, and 0
// only for the same PeerID with equal metas' ranks (for slices.SortFunc).
func CompareMembers(a, b Member) int {
	at, bt := a.Meta.JoinedAt, b.Meta.JoinedAt
	switch {
	case a.Meta.IsHost != b.Meta.IsHost:
		if a.Meta.IsHost {
			return -1
		}
		return 1
	case at.IsZero() != bt.IsZero():
		if bt.IsZero() {
			return -1
		}
		return 1
	case !at.Equal(bt):
		return at.Compare(bt)
	}
	return strings.Compare(a.PeerID, b.PeerID)
}
