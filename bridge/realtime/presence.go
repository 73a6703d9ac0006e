package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/ledbridge/ledbridge/bridge/jsonkeys"
)

// errPresenceShape marks a presence_state or presence_diff payload that is not the documented
// {"<key>":{"metas":[{…,"phx_ref":…}]}} shape.
var errPresenceShape = errors.New("malformed presence payload")

// presenceEntries is the wire shape of presence_state and of each half of presence_diff.
type presenceEntries map[string]struct {
	Metas []json.RawMessage `json:"metas"`
}

// presenceTable is the Presence state machine of Phoenix's presence.js (syncState / syncDiff),
// bounded: at most maxKeys keys, maxMetas metas per key, maxMetaBytes per meta and maxBytes of
// metas in all; what does not fit is dropped and counted. It is used only by the session loop.
type presenceTable struct {
	maxKeys, maxMetas      int
	maxMetaBytes, maxBytes int
	state                  map[string][]Meta
	// bytes is the sum of len(Data) over state's metas.
	bytes int
	// awaitingState is true between a join and its presence_state: diffs are held until then
	// (Phoenix's pendingDiffs), at most maxPendingDiffs of them and maxBytes of their JSON
	// (pendingBytes), a bound of their own: the table they will be applied to may be full.
	awaitingState bool
	pending       []json.RawMessage
	pendingBytes  int
	// pendingLost is set when a held diff did not fit: all held diffs were dropped, and those to
	// come until presence_state are too. The state alone may then miss a change made after the
	// server took it, so applyState sets resync: the channel must be joined again for a fresh one.
	pendingLost bool
	resync      bool
	// joinApplied is set once this join's presence_state is applied (or given up on: stateLost);
	// joinKeys are the keys it listed. A participant listed there was in the channel when the
	// join's reply came, so it heard every broadcast sent after that reply (PresenceView.InJoinState).
	joinApplied bool
	joinKeys    map[string]struct{}
	// joins counts the joins (joined): the number of the current one, 0 before the first.
	joins uint64
	// survived is set when this join's presence_state lists a meta under a phx_ref the table held
	// before it (not a phx_ref_prev: see keepsARef): the server's Presence outlived
	// the rejoin (the bridge's socket dropped, or the channel was joined again), since a server
	// that restarted gives every meta a new ref. Clear until the state, and when it lists no
	// meta seen before (a restart, or nobody left who could tell).
	survived bool
	// overflow counts metas dropped for the bounds (and held diffs dropped, one each).
	overflow uint64
	// badMetas counts metas dropped as malformed (not an object, or a ref that is not a string).
	badMetas uint64
	// lostStates counts presence_states in a row that could not be applied (malformed, or dropped
	// as oversize): the first asks for a resync, the next ones do not, so that a server that
	// keeps sending such a state cannot make the client rejoin for ever.
	lostStates int
}

const maxPendingDiffs = 64

// presenceChange is one join or leave to report.
type presenceChange struct {
	kind  EventKind
	key   string
	metas []Meta
}

func newPresenceTable(maxKeys, maxMetas, maxMetaBytes, maxBytes int) *presenceTable {
	return &presenceTable{maxKeys: maxKeys, maxMetas: maxMetas, maxMetaBytes: maxMetaBytes, maxBytes: maxBytes,
		state: map[string][]Meta{}}
}

// parseEntries decodes and bounds a presence payload into key → metas. With sizeBound, metas over
// maxMetaBytes are dropped and counted (leaves are not bounded by size: they only name metas).
func (p *presenceTable) parseEntries(raw json.RawMessage, sizeBound bool) (map[string][]Meta, error) {
	var entries presenceEntries
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("%w: %v", errPresenceShape, err)
	}
	out := make(map[string][]Meta, min(len(entries), p.maxKeys))
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		metas := entries[key].Metas
		if len(out) >= p.maxKeys {
			p.overflow += uint64(len(metas))
			continue
		}
		list := make([]Meta, 0, min(len(metas), p.maxMetas))
		for _, data := range metas {
			if len(list) >= p.maxMetas || (sizeBound && len(data) > p.maxMetaBytes) {
				p.overflow++
				continue
			}
			ref, prev, ok := decodeMetaRefs(data)
			if !ok {
				// One participant's bad meta costs only that meta: the server passes the keys a
				// client tracks through (a tab tracking {"phx_ref_prev":1} puts it into every
				// presence_state and diff), and rejecting the whole payload would let one peer
				// hide every musician from the bridge.
				p.badMetas++
				continue
			}
			list = append(list, Meta{Ref: ref, PrevRef: prev, Data: data})
		}
		if len(list) > 0 { // a key without metas is no participant
			out[key] = list
		}
	}
	return out, nil
}

// metaRefMembers are the members of a Presence meta that decodeMetaRefs reads.
var metaRefMembers = []string{"phx_ref", "phx_ref_prev"}

// decodeMetaRefs returns a meta's phx_ref and phx_ref_prev; ok is false unless the meta is a JSON object
// whose two refs are strings (or absent, or null). The keys are matched exactly, as the Phoenix
// server and presence.js (JSON.parse) match them: a client tracking {"PHX_REF":…} adds a member of
// its own, not a second ref (encoding/json's struct decoding would fold it onto phx_ref).
func decodeMetaRefs(data json.RawMessage) (ref, prev string, ok bool) {
	meta, err := jsonkeys.Parse(data, metaRefMembers)
	if err != nil {
		return "", "", false
	}
	ref, okRef := refString(meta.Value("phx_ref"))
	prev, okPrev := refString(meta.Value("phx_ref_prev"))
	return ref, prev, okRef && okPrev
}

// refString decodes a ref that must be a JSON string; absent or null is "".
func refString(raw json.RawMessage, present bool) (string, bool) {
	if !present || string(raw) == "null" {
		return "", true
	}
	return jsonkeys.String(raw)
}

// joined starts a new join: the next presence_state replaces the table. Diffs still held for an
// earlier join are let go (not kept referenced by a reused slice).
func (p *presenceTable) joined() {
	p.joins++
	p.awaitingState = true
	p.joinApplied, p.joinKeys, p.survived = false, nil, false
	p.dropPending()
	p.pendingLost, p.resync = false, false
}

// dropPending lets go of the held diffs.
func (p *presenceTable) dropPending() {
	p.pending, p.pendingBytes = nil, 0
}

// takeResync reports (once) whether a presence_state was applied without diffs that were held
// for it and dropped: the caller must rejoin for a complete state.
func (p *presenceTable) takeResync() bool {
	r := p.resync
	p.resync = false
	return r
}

// applyState handles presence_state: the table becomes the new state; the changes are the
// difference to the old table (so a rejoin reports only who came and went meanwhile). Held diffs
// are applied after it.
func (p *presenceTable) applyState(raw json.RawMessage) ([]presenceChange, error) {
	next, err := p.parseEntries(raw, true)
	if err != nil {
		changes, _ := p.stateLost()
		return changes, err
	}
	p.lostStates = 0
	nextBytes := 0
	for _, key := range sortedKeys(next) {
		n := metaBytes(next[key])
		if nextBytes+n > p.maxBytes {
			p.overflow += uint64(len(next[key]))
			delete(next, key)
			continue
		}
		nextBytes += n
	}
	var changes []presenceChange
	for _, key := range sortedKeys(p.state) {
		if _, ok := next[key]; !ok {
			changes = append(changes, presenceChange{EventPresenceLeave, key, p.state[key]})
		}
	}
	for _, key := range sortedKeys(next) {
		cur, ok := p.state[key]
		if !ok {
			changes = append(changes, presenceChange{EventPresenceJoin, key, next[key]})
			continue
		}
		if joined := withoutRefs(next[key], cur); len(joined) > 0 {
			changes = append(changes, presenceChange{EventPresenceJoin, key, joined})
		}
		if left := withoutRefs(cur, next[key]); len(left) > 0 {
			changes = append(changes, presenceChange{EventPresenceLeave, key, left})
		}
	}
	if p.awaitingState {
		p.survived = keepsARef(next, p.state)
	}
	p.state, p.bytes = next, nextBytes
	if p.awaitingState {
		p.joinApplied = true
		p.joinKeys = make(map[string]struct{}, len(next))
		for key := range next {
			p.joinKeys[key] = struct{}{}
		}
	}
	p.awaitingState = false
	p.resync = p.pendingLost
	p.pendingLost = false
	more, err := p.applyHeld()
	return append(changes, more...), err
}

// keepsARef reports whether a meta of next has the phx_ref of a meta that prev lists under the
// same key. Only the server's phx_ref counts: a server passes a freshly tracked meta's
// phx_ref_prev through as the client wrote it, so any participant could name an old ref there and
// make a restart look survived (review 333). A participant who updated her meta during the outage
// therefore does not tell, and the cautious 45 s applies.
func keepsARef(next, prev map[string][]Meta) bool {
	for key, metas := range next {
		for _, m := range metas {
			if slices.ContainsFunc(prev[key], func(o Meta) bool {
				return o.Ref != "" && o.Ref == m.Ref
			}) {
				return true
			}
		}
	}
	return false
}

// applyHeld applies the diffs held for the presence_state and lets go of them. A malformed one
// does not stop the others; the first error is returned.
func (p *presenceTable) applyHeld() ([]presenceChange, error) {
	held := p.pending
	p.dropPending()
	var changes []presenceChange
	var first error
	for _, d := range held {
		more, err := p.applyDiffNow(d)
		if err != nil && first == nil {
			first = err
		}
		changes = append(changes, more...)
	}
	return changes, first
}

// stateLost handles a presence_state that cannot be applied: malformed, or a frame dropped as
// oversize. Waiting on for it would hold every later diff (then drop them) until the next join,
// freezing the table: instead the diffs flow again, applied to the table as it is, and the first
// such state in a row asks for a resync (a rejoin brings a new presence_state).
func (p *presenceTable) stateLost() ([]presenceChange, error) {
	if !p.awaitingState {
		return nil, nil // a stray state after this join's own: the table stands
	}
	p.awaitingState = false
	p.joinApplied = true // listing no one: the table it keeps is an earlier join's
	p.pendingLost = false
	p.resync = p.lostStates == 0
	p.lostStates++
	return p.applyHeld()
}

// applyDiff handles presence_diff; before the join's presence_state it is held (bounded). A diff
// that does not fit drops every held one: applying the rest would still leave the table
// incomplete, and a resync (applyState) replaces it all anyway.
func (p *presenceTable) applyDiff(raw json.RawMessage) ([]presenceChange, error) {
	if p.awaitingState {
		if p.pendingLost || len(p.pending) >= maxPendingDiffs || p.pendingBytes+len(raw) > p.maxBytes {
			p.overflow += uint64(len(p.pending)) + 1
			p.dropPending()
			p.pendingLost = true
			return nil, nil
		}
		p.pending = append(p.pending, slices.Clone(raw))
		p.pendingBytes += len(raw)
		return nil, nil
	}
	return p.applyDiffNow(raw)
}

func (p *presenceTable) applyDiffNow(raw json.RawMessage) ([]presenceChange, error) {
	var diff struct {
		Joins  json.RawMessage `json:"joins"`
		Leaves json.RawMessage `json:"leaves"`
	}
	if err := json.Unmarshal(raw, &diff); err != nil {
		return nil, fmt.Errorf("%w: %v", errPresenceShape, err)
	}
	joins, leaves := map[string][]Meta{}, map[string][]Meta{}
	var err error
	if len(diff.Joins) > 0 {
		if joins, err = p.parseEntries(diff.Joins, true); err != nil {
			return nil, err
		}
	}
	if len(diff.Leaves) > 0 {
		if leaves, err = p.parseEntries(diff.Leaves, false); err != nil {
			return nil, err
		}
	}
	// The joins are applied before the leaves (as presence.js does), so the bytes this diff's
	// leaves free count toward its joins: a meta update (the new meta joins with phx_ref_prev, the
	// old one leaves) still fits a full table.
	freed := 0
	for key, left := range leaves {
		freed += metaBytes(p.state[key]) - metaBytes(withoutRefs(p.state[key], left))
	}
	var changes []presenceChange
	for _, key := range sortedKeys(joins) {
		cur, ok := p.state[key]
		if !ok && len(p.state) >= p.maxKeys {
			p.overflow += uint64(len(joins[key]))
			continue
		}
		// Keep the current metas that this join does not replace, then the joined ones.
		merged := append(withoutRefs(cur, joins[key]), joins[key]...)
		if len(merged) > p.maxMetas {
			p.overflow += uint64(len(merged) - p.maxMetas)
			merged = merged[len(merged)-p.maxMetas:]
		}
		grow := metaBytes(merged) - metaBytes(cur)
		if p.bytes+grow > p.maxBytes+freed {
			p.overflow += uint64(len(joins[key]))
			continue
		}
		p.bytes += grow
		p.state[key] = merged
		changes = append(changes, presenceChange{EventPresenceJoin, key, joins[key]})
	}
	for _, key := range sortedKeys(leaves) {
		cur, ok := p.state[key]
		if !ok {
			continue
		}
		remaining := withoutRefs(cur, leaves[key])
		p.bytes -= metaBytes(cur) - metaBytes(remaining)
		if len(remaining) == 0 {
			delete(p.state, key)
		} else {
			p.state[key] = remaining
		}
		changes = append(changes, presenceChange{EventPresenceLeave, key, leaves[key]})
	}
	return changes, nil
}

// snapshot returns a copy of the table (the metas' Data is shared, read-only).
func (p *presenceTable) snapshot() map[string][]Meta {
	out := make(map[string][]Meta, len(p.state))
	for k, v := range p.state {
		out[k] = slices.Clone(v)
	}
	return out
}

// metaBytes returns the JSON bytes the metas hold.
func metaBytes(metas []Meta) int {
	n := 0
	for _, m := range metas {
		n += len(m.Data)
	}
	return n
}

// withoutRefs returns the metas of a whose phx_ref is not in b, in a new slice.
func withoutRefs(a, b []Meta) []Meta {
	out := make([]Meta, 0, len(a))
	for _, m := range a {
		if !slices.ContainsFunc(b, func(o Meta) bool { return o.Ref == m.Ref }) {
			out = append(out, m)
		}
	}
	return out
}

func sortedKeys(m map[string][]Meta) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
