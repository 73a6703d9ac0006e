package room

import (
	"errors"
	"strings"
	"testing"
)

// A host whose seq is performance.now() sends a fractional seq in every frame, 60 times a
// second: the frame is kept with its seq left out, and saying why must cost no allocation on
// that hot path (the session logs LEDUpdate.Ignored once; its message is built only then).
func TestDecodeLEDUpdateWithAnUnusableSeqAllocatesNothing(t *testing.T) {
	if raceEnabled {
		// encoding/json keeps its scanners in a sync.Pool, which the race detector empties at
		// random; .ci/test runs this test again on a normal build.
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, p := range []string{
		`{"colors":["#ff0000"],"seq":1234}`,
		`{"colors":["#ff0000"],"seq":1234.567}`,
		`{"colors":["#ff0000"],"seq":1234.567,"ts":-1}`,
		`{"colors":["#ff0000"],"seq":-3,"ts":"now"}`,
		`{"colors":["#ff0000"],"seq":1e300,"ts":1700000000000.5}`,
	} {
		b := []byte(p)
		if n := testing.AllocsPerRun(100, func() {
			if _, err := DecodeLEDUpdate(b); err != nil {
				t.Fatal(err)
			}
		}); n > 0 {
			t.Errorf("%s: %.0f allocations per frame, want none", p, n)
		}
	}
}

// The reasons are still said in full, both fields named when both are left out, and each field
// found with errors.As and errors.Is(ErrInvalidPayload).
func TestDecodeLEDUpdateIgnoredSaysBothFields(t *testing.T) {
	u, err := DecodeLEDUpdate([]byte(`{"colors":[],"seq":2.5,"ts":-1}`))
	if err != nil {
		t.Fatal(err)
	}
	msg := u.Ignored.Error()
	for _, want := range []string{`"seq" must be an integer`, `"ts" must not be negative`} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ignored = %q, want it to say %s", msg, want)
		}
	}
	if !errors.Is(u.Ignored, ErrInvalidPayload) {
		t.Errorf("Ignored = %v: not an ErrInvalidPayload", u.Ignored)
	}
	var fe *FieldError
	if !errors.As(u.Ignored, &fe) || fe.Field != "seq" || fe.Event != EventLEDUpdate {
		t.Errorf("errors.As(Ignored) = %+v, want the seq field first", fe)
	}
}
