package room

import (
	"slices"
	"testing"
	"time"
)

// CompareMembers orders the host first, then by joinedAt with a missing joinedAt last, then by
// PeerID; ElectHost and the session's choice of whom to follow both use it.
func TestCompareMembersOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)
	member := func(id string, host bool, joined time.Time) Member {
		return Member{PeerID: id, Meta: Meta{Name: id, IsHost: host, JoinedAt: joined}}
	}
	members := []Member{
		member("no-time", false, time.Time{}),
		member("late", false, t0.Add(time.Minute)),
		member("host-no-time", true, time.Time{}),
		member("early-b", false, t0),
		member("host", true, t0.Add(time.Hour)),
		member("early-a", false, t0),
		member("also-no-time", false, time.Time{}),
	}
	want := []string{"host", "host-no-time", "early-a", "early-b", "late", "also-no-time", "no-time"}
	for _, start := range [][]Member{members, reversed(members)} {
		sorted := slices.Clone(start)
		slices.SortFunc(sorted, CompareMembers)
		var got []string
		for _, m := range sorted {
			got = append(got, m.PeerID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("sorted %v, want %v", got, want)
		}
	}
	for _, a := range members {
		for _, b := range members {
			if x, y := CompareMembers(a, b), CompareMembers(b, a); (x < 0) != (y > 0) || (x == 0) != (a.PeerID == b.PeerID) {
				t.Errorf("CompareMembers(%s, %s) = %d but (%s, %s) = %d", a.PeerID, b.PeerID, x, b.PeerID, a.PeerID, y)
			}
		}
	}
	if host, _ := ElectHost(members); host.PeerID != want[0] {
		t.Errorf("ElectHost = %s, want %s, CompareMembers' first", host.PeerID, want[0])
	}
}

func reversed(ms []Member) []Member {
	r := slices.Clone(ms)
	slices.Reverse(r)
	return r
}
