package room

import (
	"errors"
	"strings"
	"testing"
)

// A led-update whose seq or ts cannot be used still carries its colours: the field is left out
// (the frame stands as if it had none), and LEDUpdate.Ignored says which and why, for the
// session to say once. A frame whose seq a browser cannot count to exactly, or that is not a
// whole number, would otherwise drop every frame of a host with a bug in its counter.
func TestDecodeLEDUpdateIgnoresAnUnusableSeqOrTS(t *testing.T) {
	for _, c := range []struct {
		payload       string
		seqOK, tsOK   bool
		field, reason string
	}{
		{`{"colors":["#00ff00"],"seq":1.5,"ts":1700000000000}`, false, true, "seq", "must be an integer"},
		{`{"colors":["#00ff00"],"seq":-1,"ts":0}`, false, true, "seq", "want 0…"},
		{`{"colors":["#00ff00"],"seq":9007199254740993,"ts":0}`, false, true, "seq", "want 0…"},
		{`{"colors":["#00ff00"],"seq":1e300,"ts":0}`, false, true, "seq", "want 0…"},
		{`{"colors":["#00ff00"],"seq":"3","ts":0}`, false, true, "seq", "finite number"},
		{`{"colors":["#00ff00"],"seq":4,"ts":-5}`, true, false, "ts", "must not be negative"},
		{`{"colors":["#00ff00"],"seq":4,"ts":"now"}`, true, false, "ts", "finite number"},
		{`{"colors":["#00ff00"],"seq":true,"ts":-1}`, false, false, "seq", "finite number"},
	} {
		u, err := DecodeLEDUpdate([]byte(c.payload))
		if err != nil {
			t.Errorf("%s: refused (%v), want the frame with the field left out", c.payload, err)
			continue
		}
		if u.NumColors != 1 || string(u.Colors) != `["#00ff00"]` {
			t.Errorf("%s: colours %s (%d)", c.payload, u.Colors, u.NumColors)
		}
		if u.HasSeq != c.seqOK || u.HasTS != c.tsOK {
			t.Errorf("%s: HasSeq %v HasTS %v, want %v %v", c.payload, u.HasSeq, u.HasTS, c.seqOK, c.tsOK)
		}
		var fe *FieldError
		if !errors.As(u.Ignored, &fe) || fe.Field != c.field || !strings.Contains(fe.Reason, c.reason) {
			t.Errorf("%s: Ignored = %v, want field %q reason %q", c.payload, u.Ignored, c.field, c.reason)
		}
		if !c.seqOK && !c.tsOK && !strings.Contains(u.Ignored.Error(), `"ts"`) {
			t.Errorf("%s: Ignored = %v, want both fields named", c.payload, u.Ignored)
		}
		v, err := DecodeEvent(EventLEDUpdate, []byte(c.payload))
		if got, ok := v.(LEDUpdate); err != nil || !ok || got.Ignored == nil {
			t.Errorf("DecodeEvent(%s) = %+v, %v; want the frame, its ignored field said", c.payload, v, err)
		}
	}
	// null is JSON.stringify's undefined made explicit: absent, nothing to say.
	u, err := DecodeLEDUpdate([]byte(`{"colors":[],"seq":null,"ts":null}`))
	if err != nil || u.HasSeq || u.HasTS || u.Ignored != nil {
		t.Fatalf("null seq and ts: %+v, %v; want both absent, nothing ignored", u, err)
	}
	u, err = DecodeLEDUpdate([]byte(`{"colors":[],"seq":9007199254740991,"ts":0}`))
	if err != nil || !u.HasSeq || !u.HasTS || u.Ignored != nil {
		t.Fatalf("valid seq and ts: %+v, %v", u, err)
	}
}
