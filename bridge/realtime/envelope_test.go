package realtime

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// unknownKeysBroadcast is a text broadcast's {type, event, payload} of about size bytes whose
// envelope is padded with distinct unknown keys (nkeys of them), the shape a member can send
// to make each receiver's reading of it expensive.
func unknownKeysBroadcast(size int) (raw json.RawMessage, nkeys int) {
	var b strings.Builder
	b.WriteString(`{"type":"broadcast","event":"led-update",`)
	for ; b.Len() < size-40; nkeys++ {
		fmt.Fprintf(&b, `"%x":0,`, nkeys)
	}
	b.WriteString(`"payload":{"colors":[]}}`)
	return json.RawMessage(b.String()), nkeys
}

// TestBroadcastEnvelopeAllocationsDoNotGrowWithKeys: the envelope of a 256 KiB broadcast of tens
// of thousands of unknown keys is read, on the session loop, with as many allocations as that of
// a small one (the event name's string): unknown keys are stepped over, not stored. Reading it
// into a map, as before, cost one allocation and more per key.
func TestBroadcastEnvelopeAllocationsDoNotGrowWithKeys(t *testing.T) {
	small := json.RawMessage(`{"type":"broadcast","event":"led-update","payload":{"colors":[]}}`)
	large, nkeys := unknownKeysBroadcast(256 << 10)
	if nkeys < 10000 {
		t.Fatalf("built %d unknown keys, want tens of thousands", nkeys)
	}
	allocs := func(raw json.RawMessage) float64 {
		return testing.AllocsPerRun(5, func() {
			event, payload, err := broadcastEnvelope(raw)
			if err != nil || event != "led-update" || string(payload) != `{"colors":[]}` {
				t.Fatalf("event %q payload %s err %v", event, payload, err)
			}
		})
	}
	// One allocation is the event name's string; the race detector's sync.Pool drops a pooled
	// json.Valid scanner now and then, which makes a few more. One per key would be tens of
	// thousands.
	const maxAllocs = 4
	smallAllocs, largeAllocs := allocs(small), allocs(large)
	if largeAllocs > maxAllocs {
		t.Errorf("%d unknown keys: %.0f allocations (a small broadcast: %.0f); want at most %d, not one per key",
			nkeys, largeAllocs, smallAllocs, maxAllocs)
	}
}

// BenchmarkBroadcastEnvelopeUnknownKeys: go test -run '^$' -bench BroadcastEnvelope -benchmem ./bridge/realtime/
func BenchmarkBroadcastEnvelopeUnknownKeys(b *testing.B) {
	raw, _ := unknownKeysBroadcast(256 << 10)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := broadcastEnvelope(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// A Presence meta's refs are read with exact keys, as the server and presence.js read them: a
// case variant a client tracks is a member of its own, neither a second ref nor a bad one.
func TestMetaRefsReadWithExactKeys(t *testing.T) {
	for _, c := range []struct {
		meta, ref, prev string
		ok              bool
	}{
		{`{"phx_ref":"a","PHX_REF":"forged"}`, "a", "", true},
		{`{"PHX_REF":"forged","phx_ref":"a"}`, "a", "", true},
		{`{"phx_ref":"a","Phx_Ref":5,"PHX_REF_PREV":{}}`, "a", "", true},
		{`{"phx_ref":"a","phx_ref":"b","phx_ref_prev":"p"}`, "b", "p", true},
		{`{"phx_r\u0065f":"a","phx_ref_prev":null}`, "a", "", true},
		{`{"phx_ref":"a","phx_ref_prev":1}`, "", "", false},
		{` {"phx_ref":"a"}`, "a", "", true},
		{`["phx_ref"]`, "", "", false},
		{`{"phx_ref":"a"`, "", "", false},
	} {
		ref, prev, ok := decodeMetaRefs(json.RawMessage(c.meta))
		if ok != c.ok || ok && (ref != c.ref || prev != c.prev) {
			t.Errorf("%s: ref %q prev %q ok %v; want %q %q %v", c.meta, ref, prev, ok, c.ref, c.prev, c.ok)
		}
	}
}
