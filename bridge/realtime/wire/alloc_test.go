package wire_test

import (
	"encoding/hex"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

var (
	kind3Frame = mustHexB("0301010f0c000136397265616c74696d653a41424331323374656d706f2d6368616e67657b2274656d706f223a3132387d")
	textFrame  = []byte(`[null,"7","realtime:ABC123","broadcast",{"type":"broadcast","event":"tempo-change","payload":{"tempo":128}}]`)
)

func mustHexB(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestSteadyStateAllocs guards the broadcast path: decoding a stream of frames into a reused value
// and encoding into a reused buffer allocate nothing once topic and event strings are held.
func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items at random)")
	}
	var b wire.UserBroadcast
	buf := make([]byte, 0, 512)
	if err := wire.DecodeBinary(kind3Frame, &b); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() {
		if err := wire.DecodeBinary(kind3Frame, &b); err != nil {
			t.Fatal(err)
		}
		b.Kind = wire.KindUserBroadcast
		var err error
		if buf, err = wire.AppendBinary(buf[:0], &b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("binary decode+encode: %v allocs per frame, want 0", n)
	}

	var m wire.Message
	if err := wire.DecodeTextV2(textFrame, &m); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() {
		if err := wire.DecodeTextV2(textFrame, &m); err != nil {
			t.Fatal(err)
		}
		var err error
		if buf, err = wire.AppendTextV2(buf[:0], &m); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("text decode+encode: %v allocs per frame, want 0", n)
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	var ub wire.UserBroadcast
	b.ReportAllocs()
	b.SetBytes(int64(len(kind3Frame)))
	for b.Loop() {
		if err := wire.DecodeBinary(kind3Frame, &ub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendBinary(b *testing.B) {
	var ub wire.UserBroadcast
	if err := wire.DecodeBinary(kind3Frame, &ub); err != nil {
		b.Fatal(err)
	}
	ub.Kind = wire.KindUserBroadcast
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = wire.AppendBinary(buf[:0], &ub)
	}
}

func BenchmarkDecodeTextV2(b *testing.B) {
	var m wire.Message
	b.ReportAllocs()
	b.SetBytes(int64(len(textFrame)))
	for b.Loop() {
		if err := wire.DecodeTextV2(textFrame, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTextV2(b *testing.B) {
	var m wire.Message
	if err := wire.DecodeTextV2(textFrame, &m); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = wire.AppendTextV2(buf[:0], &m)
	}
}
