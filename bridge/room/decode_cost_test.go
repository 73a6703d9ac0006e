package room

import (
	"fmt"
	"strings"
	"testing"
)

// The cost of a led-update matters beyond the frame itself: every broadcast,
// webrtc-signals included, is decoded on the session's one events goroutine, so
// a cheap-to-send payload that is expensive to decode delays musicians' offers.
// These payloads are the largest of their kind a participant may send.

// typicalLEDUpdate is a full strip of {r,g,b} objects, spaced out to the
// 64-byte-per-entry budget the size bound allows (217 107 bytes).
func typicalLEDUpdate() []byte {
	var b strings.Builder
	b.WriteString(`{"colors":[`)
	for i := range MaxLEDColors {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{ "r": 255, "g": 255, "b": 255 }                   `)
	}
	b.WriteString(`],"seq":1}`)
	return []byte(b.String())
}

// unknownKeysLEDUpdate is a valid led-update with no colours whose other
// ~256 KB are tens of thousands of distinct unknown keys, which the decoder
// must skip (PROTOCOL.md §3) without storing.
func unknownKeysLEDUpdate() []byte {
	var b strings.Builder
	b.WriteString(`{"colors":[],`)
	for i := 0; b.Len() < MaxLEDUpdateBytes-20; i++ {
		fmt.Fprintf(&b, `"%x":0,`, i)
	}
	b.WriteString(`"z":0}`)
	return []byte(b.String())
}

// deepEntriesLEDUpdate holds colour objects each with an unknown field nested
// nearly as deep as encoding/json allows (10000).
func deepEntriesLEDUpdate() []byte {
	var b strings.Builder
	b.WriteString(`{"colors":[`)
	entry := `{"r":1,"g":2,"b":3,"a":` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + `}`
	for n := 0; b.Len()+len(entry)+3 < MaxLEDUpdateBytes; n++ {
		if n > 0 {
			b.WriteString(",")
		}
		b.WriteString(entry)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// hugeNumberLEDUpdate is a ts of ~256 KB of digits, out of float64's range,
// so the payload is rejected, after the work of reading the number.
func hugeNumberLEDUpdate() []byte {
	var b strings.Builder
	b.WriteString(`{"colors":[],"ts":1`)
	for b.Len() < MaxLEDUpdateBytes-20 {
		b.WriteString(`0000000000`)
	}
	b.WriteString(`}`)
	return []byte(b.String())
}

var costPayloads = []struct {
	name       string
	build      func() []byte
	wantColors int  // -1: depends on the entry size
	wantErr    bool // the payload is rejected
}{
	{"typical", typicalLEDUpdate, MaxLEDColors, false},
	{"unknown-keys", unknownKeysLEDUpdate, 0, false},
	{"deep-entries", deepEntriesLEDUpdate, -1, false},
	{"huge-number", hugeNumberLEDUpdate, 0, false}, // the ts is left out (LEDUpdate.Ignored), the frame kept
}

// BenchmarkDecodeLEDUpdate: go test -run '^$' -bench DecodeLEDUpdate -benchmem ./bridge/room/
func BenchmarkDecodeLEDUpdate(b *testing.B) {
	for _, p := range costPayloads {
		payload := p.build()
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := DecodeEvent(EventLEDUpdate, payload); (err != nil) != p.wantErr {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeSignal decodes a browser-sized offer, the message the
// led-updates above must not starve.
func BenchmarkDecodeSignal(b *testing.B) {
	sdp := "v=0\r\n" + strings.Repeat("a=candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host\r\n", 80)
	payload := []byte(sigJSON("offer", "m1", "bridge", fmt.Sprintf(`{"type":"offer","sdp":%q}`, sdp)))
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := DecodeEvent(EventSignal, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLEDUpdateDecodeAllocationsBounded proves that what a led-update costs in
// allocations does not grow with what it carries: unknown keys are skipped,
// not stored, and colour entries are walked, not collected. The bound is
// generous (a handful of allocations would do); storing either costs
// thousands.
func TestLEDUpdateDecodeAllocationsBounded(t *testing.T) {
	const maxAllocs = 64
	for _, p := range costPayloads {
		payload := p.build()
		if len(payload) > MaxLEDUpdateBytes {
			t.Fatalf("%s: built %d bytes, over the %d-byte bound", p.name, len(payload), MaxLEDUpdateBytes)
		}
		u, err := DecodeLEDUpdate(payload)
		if (err != nil) != p.wantErr {
			t.Fatalf("%s: error %v, want one: %v", p.name, err, p.wantErr)
		}
		if !p.wantErr && p.wantColors >= 0 && u.NumColors != p.wantColors {
			t.Fatalf("%s: %d colours, want %d", p.name, u.NumColors, p.wantColors)
		}
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := DecodeLEDUpdate(payload); (err != nil) != p.wantErr {
				t.Fatal(err)
			}
		})
		if allocs > maxAllocs {
			t.Errorf("%s (%d bytes): %.0f allocations per decode, want at most %d", p.name, len(payload), allocs, maxAllocs)
		}
	}
}
