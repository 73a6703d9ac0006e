package session

import (
	"maps"
	"slices"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// forgetAbsent keeps the keys still in the Presence table and drops those that left it.
func TestForgetAbsentDropsTheKeysThatLeftPresence(t *testing.T) {
	seen := map[string]bool{"stayed": true, "left": true, "also-left": true}
	table := map[string][]realtime.Meta{"stayed": nil, "new": nil}
	forgetAbsent(seen, table)
	if got := slices.Sorted(maps.Keys(seen)); !slices.Equal(got, []string{"stayed"}) {
		t.Fatalf("kept %q; want only [stayed]", got)
	}
}
