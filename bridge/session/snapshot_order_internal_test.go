package session

import (
	"slices"
	"testing"
)

// A page reload's new record takes the index of her old one, held away, so two records share an
// index: the status page lists them in one order, by id, on every snapshot (sorted by index
// alone, they came in the order the musicians map gave, which changes from one refresh to the
// next).
func TestSnapshotListsMusiciansOfOneIndexInOneOrder(t *testing.T) {
	s := newIdleSession(t)
	add := s.addPresenceRecord
	ana := add("ana-tab2", "Ana")
	add("bo", "Bo")
	s.mu.Lock()
	s.away[ana.id] = ana
	s.mu.Unlock()
	if reloaded := add("ana-tab1", "Ana"); reloaded.index != ana.index {
		t.Fatalf("the reloaded record has index %d, want her old %d", reloaded.index, ana.index)
	}

	want := []string{"ana-tab1", "ana-tab2", "bo"}
	for i := range 50 {
		var got []string
		for _, m := range s.Snapshot().Musicians {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("snapshot %d lists %v, want %v", i, got, want)
		}
	}
}
