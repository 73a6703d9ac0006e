package session

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// A page reload's new record takes the index of her old one, held away, so two records share an
// index: the status page lists them in one order, by id, on every snapshot (sorted by index
// alone, they came in the order the musicians map gave, which changes from one refresh to the
// next).
func TestSnapshotListsMusiciansOfOneIndexInOneOrder(t *testing.T) {
	code, _ := room.ParseCode("ANA234")
	s, err := New(Config{
		Code:     code,
		Realtime: realtime.Config{URL: "http://127.0.0.1:1", APIKey: "anon"}, // never run
		Peer:     peer.Config{NetworkTypes: []string{"udp4"}, Interfaces: []string{"lo"}},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	add := func(id, name string) *musician {
		m := presenceMusician(id, room.Meta{Name: name, Role: room.RoleMusician})
		s.mu.Lock()
		defer s.mu.Unlock()
		s.addMusicianLocked(m)
		return m
	}
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
