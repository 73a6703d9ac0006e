package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func metaRefs(ms []Meta) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Ref)
	}
	return out
}

func changeList(cs []presenceChange) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s %v", c.kind, c.key, metaRefs(c.metas)))
	}
	return out
}

func TestPresenceTable(t *testing.T) {
	p := newPresenceTable(100, 10, DefaultMaxMetaBytes, DefaultMaxPresenceBytes)
	p.joined()
	// A diff before presence_state is held until it arrives.
	ch, err := p.applyDiff(json.RawMessage(`{"joins":{"carol":{"metas":[{"phx_ref":"c1","name":"Carol"}]}},"leaves":{}}`))
	if err != nil || len(ch) != 0 {
		t.Fatalf("held diff: %v %v", ch, err)
	}
	ch, err = p.applyState(json.RawMessage(`{
		"alice":{"metas":[{"phx_ref":"a1","name":"Alice","isHost":true},{"phx_ref":"a2","name":"Alice (tab 2)"}]},
		"bob":{"metas":[{"phx_ref":"b1","name":"Bob"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"presence-join alice [a1 a2]", "presence-join bob [b1]", "presence-join carol [c1]"}
	if got := changeList(ch); !reflect.DeepEqual(got, want) {
		t.Fatalf("state changes %v, want %v", got, want)
	}
	// Bob updates his meta: the server sends the new meta (phx_ref_prev = old) as a join and the old
	// one as a leave. Alice closes one tab.
	ch, err = p.applyDiff(json.RawMessage(`{
		"joins":{"bob":{"metas":[{"phx_ref":"b2","phx_ref_prev":"b1","name":"Bob!"}]}},
		"leaves":{"bob":{"metas":[{"phx_ref":"b1","name":"Bob"}]},"alice":{"metas":[{"phx_ref":"a1"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"presence-join bob [b2]", "presence-leave alice [a1]", "presence-leave bob [b1]"}
	if got := changeList(ch); !reflect.DeepEqual(got, want) {
		t.Fatalf("diff changes %v, want %v", got, want)
	}
	snap := p.snapshot()
	if got := metaRefs(snap["bob"]); !reflect.DeepEqual(got, []string{"b2"}) || snap["bob"][0].PrevRef != "b1" {
		t.Errorf("bob = %+v", snap["bob"])
	}
	if got := metaRefs(snap["alice"]); !reflect.DeepEqual(got, []string{"a2"}) {
		t.Errorf("alice = %v", got)
	}
	if !strings.Contains(string(snap["bob"][0].Data), `"Bob!"`) {
		t.Errorf("bob data %s", snap["bob"][0].Data)
	}
	// A rejoin's presence_state reports only the difference to the table.
	p.joined()
	ch, err = p.applyState(json.RawMessage(`{"alice":{"metas":[{"phx_ref":"a2"}]},"dave":{"metas":[{"phx_ref":"d1"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"presence-leave bob [b2]", "presence-leave carol [c1]", "presence-join dave [d1]"}
	if got := changeList(ch); !reflect.DeepEqual(got, want) {
		t.Fatalf("rejoin changes %v, want %v", got, want)
	}
	// The last leave of a key removes it; a leave for an unknown key is ignored.
	if _, err := p.applyDiff(json.RawMessage(`{"joins":{},"leaves":{"dave":{"metas":[{"phx_ref":"d1"}]},"zed":{"metas":[{"phx_ref":"z"}]}}}`)); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.snapshot()["dave"]; ok {
		t.Error("dave still present")
	}
}

func TestPresenceTableBounds(t *testing.T) {
	p := newPresenceTable(3, 2, DefaultMaxMetaBytes, DefaultMaxPresenceBytes)
	if _, err := p.applyState(json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		diff := fmt.Sprintf(`{"joins":{"k%d":{"metas":[{"phx_ref":"r%d"}]},"k0":{"metas":[{"phx_ref":"x%d"}]}}}`, i, i, i)
		if _, err := p.applyDiff(json.RawMessage(diff)); err != nil {
			t.Fatal(err)
		}
	}
	snap := p.snapshot()
	if len(snap) != 3 {
		t.Errorf("%d keys, want the bound 3", len(snap))
	}
	if n := len(snap["k0"]); n != 2 {
		t.Errorf("k0 has %d metas, want the bound 2", n)
	}
	if p.overflow == 0 {
		t.Error("overflow not counted")
	}
	// Diffs held before a presence_state are bounded in count too: one past the bound drops them
	// all (the state will need a resync anyway).
	p.joined()
	for i := range maxPendingDiffs + 10 {
		_, _ = p.applyDiff(json.RawMessage(`{"joins":{},"leaves":{}}`))
		if len(p.pending) > maxPendingDiffs {
			t.Fatalf("%d held diffs after %d, bound %d", len(p.pending), i+1, maxPendingDiffs)
		}
	}
	if len(p.pending) != 0 || !p.pendingLost {
		t.Errorf("%d held diffs past the bound (lost %v), want all dropped", len(p.pending), p.pendingLost)
	}
}

// TestPresenceTableByteBudget: joins past the byte budget are dropped and counted, but a meta
// update (new meta joins, old one leaves, in one diff) still fits a full table.
func TestPresenceTableByteBudget(t *testing.T) {
	meta := func(ref string) string { return fmt.Sprintf(`{"phx_ref":%q,"name":"n"}`, ref) } // 25 bytes
	update := `{"joins":{"a":{"metas":[{"phx_ref":"a2","phx_ref_prev":"a1"}]}},"leaves":{"a":{"metas":[` + meta("a1") + `]}}}`
	grown := len(`{"phx_ref":"a2","phx_ref_prev":"a1"}`) - len(meta("a1"))
	// Room for three metas and a's update, not for a fourth meta.
	p := newPresenceTable(100, 10, 40, 3*len(meta("a1"))+grown)
	if _, err := p.applyState(json.RawMessage(`{"big":{"metas":[{"phx_ref":"b1","name":"` + strings.Repeat("x", 40) + `"}]}}`)); err != nil {
		t.Fatal(err)
	}
	if len(p.snapshot()) != 0 || p.overflow != 1 {
		t.Fatalf("a meta over maxMetaBytes was kept: %v, overflow %d", p.snapshot(), p.overflow)
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		diff := `{"joins":{"` + k + `":{"metas":[` + meta(k+"1") + `]}},"leaves":{}}`
		if _, err := p.applyDiff(json.RawMessage(diff)); err != nil {
			t.Fatal(err)
		}
	}
	if snap := p.snapshot(); len(snap) != 3 || snap["d"] != nil || p.overflow != 2 {
		t.Fatalf("table %v, overflow %d: want a, b, c and d dropped", snap, p.overflow)
	}
	if _, err := p.applyDiff(json.RawMessage(update)); err != nil {
		t.Fatal(err)
	}
	if got := metaRefs(p.snapshot()["a"]); !reflect.DeepEqual(got, []string{"a2"}) || p.overflow != 2 {
		t.Fatalf("a = %v, overflow %d: the update of a full table was lost", got, p.overflow)
	}
	if want := 3*len(meta("a1")) + grown; p.bytes != want {
		t.Errorf("table counts %d bytes, want %d", p.bytes, want)
	}
}

func TestPresenceTableMalformed(t *testing.T) {
	p := newPresenceTable(10, 10, DefaultMaxMetaBytes, DefaultMaxPresenceBytes)
	for _, bad := range []string{`[]`, `{"k":"x"}`, `{"k":{"metas":"x"}}`, `nul`} {
		if _, err := p.applyState(json.RawMessage(bad)); !errors.Is(err, errPresenceShape) {
			t.Errorf("state %s: %v", bad, err)
		}
		if _, err := p.applyDiff(json.RawMessage(`{"joins":` + bad + `}`)); !errors.Is(err, errPresenceShape) {
			t.Errorf("diff %s: %v", bad, err)
		}
	}
	// A bad meta is dropped and counted; the rest of the payload applies.
	for i, bad := range []string{`1`, `"s"`, `{"phx_ref":5}`, `{"phx_ref":"b","phx_ref_prev":1}`, `{"phx_ref_prev":{}}`} {
		p := newPresenceTable(10, 10, DefaultMaxMetaBytes, DefaultMaxPresenceBytes)
		state := fmt.Sprintf(`{"k":{"metas":[%s,{"phx_ref":"good"}]},"bad-only":{"metas":[%s]}}`, bad, bad)
		if _, err := p.applyState(json.RawMessage(state)); err != nil {
			t.Errorf("state with meta %s: %v", bad, err)
		}
		diff := fmt.Sprintf(`{"joins":{"j%d":{"metas":[{"phx_ref":"j","phx_ref_prev":null},%s]}},"leaves":{}}`, i, bad)
		if _, err := p.applyDiff(json.RawMessage(diff)); err != nil {
			t.Errorf("diff with meta %s: %v", bad, err)
		}
		snap := p.snapshot()
		if len(snap) != 2 || len(snap["k"]) != 1 || snap["k"][0].Ref != "good" || len(snap[fmt.Sprintf("j%d", i)]) != 1 {
			t.Errorf("meta %s: table %v, want k and j%d with their good metas only", bad, snap, i)
		}
		if p.badMetas != 3 {
			t.Errorf("meta %s: %d bad metas counted, want 3", bad, p.badMetas)
		}
	}
}

// TestRejectedStateDoesNotHoldDiffs: a presence_state that cannot be applied ends the wait for it
// (the diffs held for it, and later ones, apply to the table) and asks for one resync; a second in a
// row does not ask again, and a good one resets that.
func TestRejectedStateDoesNotHoldDiffs(t *testing.T) {
	p := newPresenceTable(10, 10, DefaultMaxMetaBytes, DefaultMaxPresenceBytes)
	join := func(key string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"joins":{%q:{"metas":[{"phx_ref":%q}]}},"leaves":{}}`, key, key))
	}
	p.joined()
	if _, err := p.applyDiff(join("held")); err != nil {
		t.Fatal(err)
	}
	changes, err := p.applyState(json.RawMessage(`[]`))
	if !errors.Is(err, errPresenceShape) {
		t.Fatalf("rejected state: %v", err)
	}
	if got := changeList(changes); len(got) != 1 {
		t.Errorf("changes %v, want the held diff's join", got)
	}
	if !p.takeResync() {
		t.Error("the first rejected state must ask for a resync")
	}
	if _, err := p.applyDiff(join("later")); err != nil {
		t.Fatal(err)
	}
	if snap := p.snapshot(); len(snap["held"]) != 1 || len(snap["later"]) != 1 {
		t.Errorf("table %v, want the held and the later diff applied", snap)
	}
	p.joined()
	p.stateLost() // the resync's state lost too (an oversize frame)
	if p.takeResync() {
		t.Error("a second lost state in a row asked for another resync")
	}
	p.joined()
	if _, err := p.applyState(json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	p.joined()
	p.stateLost()
	if !p.takeResync() {
		t.Error("a lost state after a good one must ask for a resync again")
	}
}

func TestCallLimiter(t *testing.T) {
	l := callLimiter{max: 5, window: 30 * time.Second}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		now := t0.Add(time.Duration(i) * time.Second)
		if next := l.next(now); !next.Equal(now) {
			t.Fatalf("call %d refused until %v", i, next)
		}
		l.record(now)
	}
	now := t0.Add(5 * time.Second)
	if next := l.next(now); !next.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("6th call allowed at %v, want when the 1st leaves the window", next)
	}
	now = t0.Add(30 * time.Second)
	l.record(now)
	if next := l.next(now); !next.Equal(t0.Add(31 * time.Second)) {
		t.Errorf("next allowed at %v, want t0+31s", next)
	}
}

func TestEventQueueDropsOldest(t *testing.T) {
	q := newEventQueue(3, MaxFrameSize)
	var dropped uint64
	for i := range 5 {
		dropped += q.push(Event{Kind: EventBroadcast, Event: fmt.Sprint(i)})
	}
	if dropped != 2 {
		t.Errorf("dropped %d, want 2", dropped)
	}
	var got []string
	for range 3 {
		got = append(got, (<-q.ch).Event)
	}
	if !reflect.DeepEqual(got, []string{"2", "3", "4"}) {
		t.Errorf("queue kept %v, want the newest", got)
	}
}

// TestEventQueueDropsOldestByBytes: the byte bound drops the oldest events as the count bound
// does, and what the consumer has taken no longer counts against it.
func TestEventQueueDropsOldestByBytes(t *testing.T) {
	q := newEventQueue(8, 100)
	ev := func(name string) Event {
		return Event{Kind: EventBroadcast, Event: name, Payload: json.RawMessage(strings.Repeat("x", 40-len(name)))}
	}
	var dropped uint64
	for _, name := range []string{"a", "b", "c"} { // 40 bytes each: the third pushes out the first
		dropped += q.push(ev(name))
	}
	if dropped != 1 {
		t.Fatalf("dropped %d, want 1", dropped)
	}
	if got := (<-q.ch).Event; got != "b" {
		t.Fatalf("oldest kept is %q, want b", got)
	}
	// "b" was consumed: "c" and "d" fit in 100 bytes.
	if n := q.push(ev("d")); n != 0 {
		t.Fatalf("push after the consumer took an event dropped %d", n)
	}
	if n := q.push(Event{Kind: EventBroadcast, Event: "huge", Payload: json.RawMessage(strings.Repeat("x", 200))}); n != 2 {
		t.Fatalf("an event over the whole bound dropped %d, want every other (2)", n)
	}
	if got := (<-q.ch).Event; got != "huge" || len(q.ch) != 0 {
		t.Fatalf("got %q with %d left, want the oversized event alone", got, len(q.ch))
	}
	if n := q.push(ev("e")); n != 0 || q.queued != 40 {
		t.Fatalf("after draining: dropped %d, %d bytes counted; want 0 and 40", n, q.queued)
	}
}

func TestWebsocketURL(t *testing.T) {
	cases := []struct{ base, vsn, want string }{
		{"https://abc.supabase.co", "2.0.0", "wss://abc.supabase.co/realtime/v1/websocket?apikey=KEY&vsn=2.0.0"},
		{"http://127.0.0.1:8787/", "1.0.0", "ws://127.0.0.1:8787/realtime/v1/websocket?apikey=KEY&vsn=1.0.0"},
		{"http://host/base", "2.0.0", "ws://host/base/realtime/v1/websocket?apikey=KEY&vsn=2.0.0"},
		{"wss://h/realtime/v1/websocket?log_level=info", "2.0.0", "wss://h/realtime/v1/websocket?apikey=KEY&vsn=2.0.0&log_level=info"},
	}
	for _, c := range cases {
		got, err := websocketURL(c.base, "KEY", c.vsn)
		if err != nil || got != c.want {
			t.Errorf("%s: %q %v, want %q", c.base, got, err, c.want)
		}
	}
	for _, bad := range []string{"ftp://h", "http://", "::"} {
		if _, err := websocketURL(bad, "KEY", "2.0.0"); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{URL: "http://h", APIKey: "k", Channel: "ABC123"}
	if _, err := New(ok); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"no URL":     func(c *Config) { c.URL = "" },
		"no key":     func(c *Config) { c.APIKey = "" },
		"no channel": func(c *Config) { c.Channel = "" },
		"bad vsn":    func(c *Config) { c.Vsn = "3.0.0" },
		"long":       func(c *Config) { c.Channel = strings.Repeat("x", 300) },
	} {
		c := ok
		mut(&c)
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, _ := New(ok)
	if !strings.HasPrefix(c.PresenceKey(), "ledbridge-") || c.Topic() != "realtime:ABC123" {
		t.Errorf("defaults: key %q topic %q", c.PresenceKey(), c.Topic())
	}
}

func TestRedact(t *testing.T) {
	c, _ := New(Config{URL: "http://h", APIKey: "secret-key", AccessToken: "user-jwt", Channel: "X"})
	msg := c.redact(`dial "ws://h/realtime/v1/websocket?apikey=secret-key": token user-jwt refused`)
	if strings.Contains(msg, "secret-key") || strings.Contains(msg, "user-jwt") {
		t.Errorf("not redacted: %s", msg)
	}
}

// FuzzPresenceTable: no presence_state or presence_diff payload panics the table or breaks its
// bounds.
func FuzzPresenceTable(f *testing.F) {
	f.Add([]byte(`{"a":{"metas":[{"phx_ref":"1"}]}}`), []byte(`{"joins":{"b":{"metas":[{"phx_ref":"2","phx_ref_prev":"1"}]}},"leaves":{"a":{"metas":[{"phx_ref":"1"}]}}}`))
	f.Add([]byte(`{}`), []byte(`{"joins":{},"leaves":{}}`))
	f.Add([]byte(`[]`), []byte(`null`))
	f.Fuzz(func(t *testing.T, state, diff []byte) {
		const maxMetaBytes, maxBytes = 64, 160
		p := newPresenceTable(4, 3, maxMetaBytes, maxBytes)
		p.joined()
		_, _ = p.applyDiff(diff)
		_, _ = p.applyState(state)
		for range 3 {
			_, _ = p.applyDiff(diff)
		}
		snap := p.snapshot()
		if len(snap) > 4 {
			t.Fatalf("%d keys over the bound", len(snap))
		}
		total := 0
		for k, metas := range snap {
			if len(metas) == 0 || len(metas) > 3 {
				t.Fatalf("key %q has %d metas", k, len(metas))
			}
			for _, m := range metas {
				if len(m.Data) > maxMetaBytes {
					t.Fatalf("key %q holds a meta of %d bytes", k, len(m.Data))
				}
				total += len(m.Data)
			}
		}
		if total != p.bytes {
			t.Fatalf("table counts %d bytes, holds %d", p.bytes, total)
		}
		// A diff can take the table over its budget only by what replacing and removing the same
		// metas in one diff frees twice; never by more than one diff's metas.
		if total > maxBytes+len(diff) {
			t.Fatalf("table holds %d bytes, bound %d", total, maxBytes)
		}
	})
}

// drainKinds empties q and returns its events' names (broadcasts) and "sync" (Presence syncs).
func drainKinds(q *eventQueue) []string {
	var out []string
	for len(q.ch) > 0 {
		ev := <-q.ch
		if ev.Kind == EventPresenceSync {
			out = append(out, "sync")
		} else {
			out = append(out, ev.Event)
		}
	}
	return out
}

// TestEventQueueKeepsPresenceSync: broadcasts flooding a full queue push out older broadcasts, but
// never the last Presence sync: a dropped sync is coalesced into a later one or queued again, and
// neither counts as dropped.
func TestEventQueueKeepsPresenceSync(t *testing.T) {
	sync := Event{Kind: EventPresenceSync}
	broadcast := func(i int) Event { return Event{Kind: EventBroadcast, Event: fmt.Sprint("b", i)} }
	for _, tc := range []struct {
		name   string
		syncs  int // pushed first
		events int // bound by count
		want   []string
	}{
		{"one sync", 1, 4, []string{"b7", "sync", "b8", "b9"}},
		{"two syncs coalesce", 2, 4, []string{"b7", "sync", "b8", "b9"}},
		{"queue of one", 1, 1, []string{"sync"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newEventQueue(tc.events, MaxFrameSize)
			var dropped uint64
			for range tc.syncs {
				dropped += q.push(sync)
			}
			for i := range 10 {
				dropped += q.push(broadcast(i))
			}
			got := drainKinds(&q)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("queue holds %v, want %v", got, tc.want)
			}
			if want := uint64(10 - (len(got) - 1)); dropped != want {
				t.Errorf("dropped %d, want the %d broadcasts that are gone", dropped, want)
			}
		})
	}
	// By bytes: 40-byte broadcasts in a 100-byte queue keep the sync and stay within the bound.
	q := newEventQueue(8, 100)
	q.push(sync)
	for i := range 5 {
		q.push(Event{Kind: EventBroadcast, Event: fmt.Sprint("b", i), Payload: json.RawMessage(strings.Repeat("x", 38))})
	}
	if q.queued > 100 {
		t.Errorf("%d bytes queued, bound 100", q.queued)
	}
	if got := drainKinds(&q); !reflect.DeepEqual(got, []string{"sync", "b3", "b4"}) {
		t.Errorf("byte-bound queue holds %v, want [sync b3 b4]", got)
	}
	// A queue drained by its consumer needs no sync queued again.
	q.push(broadcast(0))
	if got := drainKinds(&q); !reflect.DeepEqual(got, []string{"b0"}) {
		t.Errorf("after a drain the queue holds %v, want [b0]", got)
	}
}

// TestHeldDiffsBounded: diffs held for a presence_state are bounded in bytes (not only in count),
// a diff beyond the bound drops them all and asks for a resync, and a new join lets go of the
// diffs an earlier join held.
func TestHeldDiffsBounded(t *testing.T) {
	diff := func(i int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"joins":{"k%d":{"metas":[{"phx_ref":"r%d","pad":%q}]}},"leaves":{}}`, i, i, strings.Repeat("x", 250)))
	}
	heldBytes := func(p *presenceTable) int {
		n := 0
		for _, d := range p.pending {
			n += len(d)
		}
		return n
	}
	const maxBytes = 1000 // three diffs of ~300 bytes fit, four do not
	p := newPresenceTable(100, 10, DefaultMaxMetaBytes, maxBytes)
	p.joined()
	for i := range 3 {
		if _, err := p.applyDiff(diff(i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.pending) != 3 || p.overflow != 0 {
		t.Fatalf("%d diffs held, overflow %d: want the three that fit", len(p.pending), p.overflow)
	}
	// A new join lets go of them, not only of their count.
	p.joined()
	for i, d := range p.pending[:cap(p.pending)] {
		if d != nil {
			t.Fatalf("held diff %d of an earlier join still referenced after a new join", i)
		}
	}
	for i := range 10 {
		if _, err := p.applyDiff(diff(i)); err != nil {
			t.Fatal(err)
		}
		if n := heldBytes(p); n > maxBytes {
			t.Fatalf("after %d diffs, %d bytes held, bound %d", i+1, n, maxBytes)
		}
	}
	if p.overflow != 10 {
		t.Errorf("overflow %d, want all 10 diffs counted: the held ones were dropped with the first that did not fit", p.overflow)
	}
	if _, err := p.applyState(json.RawMessage(`{"alice":{"metas":[{"phx_ref":"a1"}]}}`)); err != nil {
		t.Fatal(err)
	}
	if !p.takeResync() || p.takeResync() {
		t.Error("a state applied without its held diffs must ask for one resync")
	}
	if snap := p.snapshot(); len(snap) != 1 || len(snap["alice"]) != 1 {
		t.Errorf("table %v, want the state alone", snap)
	}
	// The next join's diffs are held normally again.
	p.joined()
	if _, err := p.applyDiff(diff(0)); err != nil || len(p.pending) != 1 {
		t.Errorf("after a resync's join: %d held, %v", len(p.pending), err)
	}
	if _, err := p.applyState(json.RawMessage(`{}`)); err != nil || p.takeResync() {
		t.Errorf("a complete state asked for a resync (%v)", err)
	}
	if snap := p.snapshot(); len(snap["k0"]) != 1 {
		t.Errorf("table %v, want the held diff applied", snap)
	}
}

// A broadcast's envelope is read as JSON.parse reads it, as every browser in the room and the
// room server's sender check do: exact keys, the last of a repeated key. A case variant of a key
// (which encoding/json's struct decoding would take) is another key.
func TestBroadcastEnvelopeReadsKeysAsJSONParse(t *testing.T) {
	for _, c := range []struct {
		raw, event, payload string
	}{
		{`{"type":"broadcast","event":"led-update","payload":{"colors":[]}}`, "led-update", `{"colors":[]}`},
		{`{"type":"broadcast","event":"led-update","Event":"webrtc-signal","payload":1}`, "led-update", `1`},
		{`{"event":"webrtc-signal","payload":{"fromPeerId":"me"},"Payload":{"fromPeerId":"alice"}}`, "webrtc-signal", `{"fromPeerId":"me"}`},
		{`{"event":"a","event":"b","payload":2,"payload":3}`, "b", `3`},
		{`{"event":"tempo-change"}`, "tempo-change", `null`},
	} {
		event, payload, err := broadcastEnvelope(json.RawMessage(c.raw))
		if err != nil || event != c.event || string(payload) != c.payload {
			t.Errorf("%s: event %q payload %s err %v; want %q, %s", c.raw, event, payload, err, c.event, c.payload)
		}
	}
	for _, bad := range []string{`{"Event":"webrtc-signal","payload":{}}`, `{"event":""}`, `{"event":7}`, `[]`, `nul`} {
		if _, _, err := broadcastEnvelope(json.RawMessage(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
