package realtime

import (
	"encoding/json"
	"testing"
)

// The keys of a join's own presence_state are kept for that join (PresenceView.InJoinState): they
// were in the channel when the join's reply came. A diff applied after it, a stray second state,
// the table kept across a rejoin and an unreadable state list nobody new. Each join has its number
// (Client.PresenceView).
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

// A rejoin's presence_state tells whether the server's Presence outlived the rejoin
// (Client.PresenceView's Survived): it does when a meta keeps a ref the table held before (the
// bridge's own socket dropped, the room server did not), or moved on from one in an update; it
// does not when every ref is new (a room server that restarted), nor when the state lists nobody
// seen before, nor before the state, nor on the first join.
func TestPresenceTableTellsWhetherTheServersPresenceSurvived(t *testing.T) {
	p := newPresenceTable(100, 10, DefaultMaxMetaBytes, DefaultMaxPresenceBytes)
	rejoin := func(when, state string, want bool) {
		t.Helper()
		p.joined()
		if p.survived {
			t.Errorf("%s: survived before the join's state", when)
		}
		if _, err := p.applyState(json.RawMessage(state)); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if p.survived != want {
			t.Errorf("%s: survived %v, want %v", when, p.survived, want)
		}
	}
	rejoin("the first join", `{"ana":{"metas":[{"phx_ref":"a1"}]},"ben":{"metas":[{"phx_ref":"b1"}]}}`, false)
	rejoin("ana left while the bridge was away; ben kept his ref", `{"ben":{"metas":[{"phx_ref":"b1"}]}}`, true)
	// A phx_ref_prev does not tell: a freshly tracked meta carries whatever its client wrote there.
	rejoin("ben updated his meta meanwhile", `{"ben":{"metas":[{"phx_ref":"b2","phx_ref_prev":"b1"}]}}`, false)
	rejoin("the server restarted: every ref new", `{"ben":{"metas":[{"phx_ref":"X1"}]}}`, false)
	rejoin("an old ref under another key", `{"cat":{"metas":[{"phx_ref":"X1"}]}}`, false)
	rejoin("nobody else in the room", `{}`, false)
	p.joined()
	if _, err := p.applyState(json.RawMessage(`["not", "a", "state"]`)); err == nil {
		t.Fatal("an array was applied as a presence_state")
	}
	if p.survived {
		t.Error("an unreadable state said the server's Presence survived")
	}
}
