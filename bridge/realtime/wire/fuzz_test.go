package wire_test

import (
	"bytes"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
	"github.com/ledbridge/ledbridge/bridge/realtime/wire/wiretest"
)

// addRecorded seeds f with every recorded frame of the wanted type (the committed corpus in
// testdata/fuzz holds the same frames plus malformed variants).
func addRecorded(f *testing.F, binary bool) {
	for _, name := range wiretest.Names {
		for _, fr := range wiretest.MustLoad(name).Frames {
			if fr.Binary == binary {
				f.Add(fr.Data)
			}
		}
	}
}

// FuzzDecodeText: no input panics either text decoder, and whatever decodes re-encodes to a frame
// that decodes to the same message (and re-encodes to the same bytes).
func FuzzDecodeText(f *testing.F) {
	addRecorded(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []wire.Version{wire.V2, wire.V1} {
			var m wire.Message
			if err := v.DecodeText(data, &m); err != nil {
				continue
			}
			out, err := v.AppendText(nil, &m)
			if err != nil {
				t.Fatalf("%s: decoded %+v but cannot re-encode: %v", v, m, err)
			}
			var m2 wire.Message
			if err := v.DecodeText(out, &m2); err != nil {
				t.Fatalf("%s: re-encoded %q does not decode: %v", v, out, err)
			}
			if m2.JoinRef != m.JoinRef || m2.Ref != m.Ref || m2.Topic != m.Topic || m2.Event != m.Event {
				t.Fatalf("%s: round trip changed %+v to %+v", v, m, m2)
			}
			out2, _ := v.AppendText(nil, &m2)
			if !bytes.Equal(out, out2) {
				t.Fatalf("%s: encoding not stable: %q then %q", v, out, out2)
			}
		}
	})
}

// FuzzDecodeBinary: no input panics the binary decoder, and whatever decodes re-encodes to the
// identical bytes (the binary layout is canonical).
func FuzzDecodeBinary(f *testing.F) {
	addRecorded(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		var b wire.UserBroadcast
		if err := wire.DecodeBinary(data, &b); err != nil {
			return
		}
		out, err := wire.AppendBinary(nil, &b)
		if err != nil {
			t.Fatalf("decoded %+v but cannot re-encode: %v", b, err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("re-encoded\n got %x\nwant %x", out, data)
		}
	})
}
