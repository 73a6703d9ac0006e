package realtime

import (
	"encoding/json"
	"testing"
)

// The keys of a join's own presence_state are kept for that join (Client.InJoinPresence): they
// were in the channel when the join's reply came. A diff applied after it, a stray second state,
// the table kept across a rejoin and an unreadable state list nobody new. Each join has its number
// (Client.PresenceJoin).
func TestPresenceTableKeepsTheJoinsStateKeys(t *testing.T) {
	p := newPresenceTable(100, 10, DefaultMaxMetaBytes, DefaultMaxPresenceBytes)
	in := func(key string) (listed, applied bool) {
		_, listed = p.joinKeys[key]
		return listed, p.joinApplied
	}
	check := func(when, key string, wantListed, wantApplied bool) {
		t.Helper()
		if listed, applied := in(key); listed != wantListed || applied != wantApplied {
			t.Errorf("%s: %s listed %v, state applied %v; want %v, %v", when, key, listed, applied, wantListed, wantApplied)
		}
	}
	apply := func(what string, f func(json.RawMessage) ([]presenceChange, error), raw string) {
		t.Helper()
		if _, err := f(json.RawMessage(raw)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	p.joined()
	// A diff held for the state (carol came after the server took it) is not the state's.
	apply("held diff", p.applyDiff, `{"joins":{"carol":{"metas":[{"phx_ref":"c1"}]}},"leaves":{}}`)
	check("before the state", "alice", false, false)
	apply("state", p.applyState, `{"alice":{"metas":[{"phx_ref":"a1"}]}}`)
	check("after the state", "alice", true, true)
	check("after the state", "carol", false, true)
	apply("diff", p.applyDiff, `{"joins":{"dan":{"metas":[{"phx_ref":"d1"}]}},"leaves":{}}`)
	check("after a later diff", "dan", false, true)
	apply("stray state", p.applyState, `{"alice":{"metas":[{"phx_ref":"a1"}]},"erin":{"metas":[{"phx_ref":"e1"}]}}`)
	check("after a stray second state", "erin", false, true)

	// A rejoin: the old table stays until the new state, whose list starts again.
	if p.joins != 1 {
		t.Errorf("join number %d after the first join, want 1", p.joins)
	}
	p.joined()
	if p.joins != 2 {
		t.Errorf("join number %d after a rejoin, want 2", p.joins)
	}
	if _, ok := p.snapshot()["alice"]; !ok {
		t.Fatal("the table was not kept across the rejoin")
	}
	check("rejoined, before its state", "alice", false, false)
	apply("state", p.applyState, `{"erin":{"metas":[{"phx_ref":"e1"}]}}`)
	check("rejoined, after its state", "erin", true, true)
	check("rejoined, after its state", "alice", false, true)

	// An unreadable state ends the wait, listing nobody.
	p.joined()
	if _, err := p.applyState(json.RawMessage(`["not", "a", "state"]`)); err == nil {
		t.Fatal("an array was applied as a presence_state")
	}
	check("after an unreadable state", "erin", false, true)
}
