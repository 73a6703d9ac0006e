package status

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// valueController records each control call with the value it was given.
type valueController struct {
	mu    sync.Mutex
	calls []string
}

func (c *valueController) record(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, s)
	return nil
}
func (c *valueController) SetMode(m string) error { return c.record("mode " + m) }
func (c *valueController) SetBrightness(v float64) error {
	return c.record(fmt.Sprint("brightness ", v))
}
func (c *valueController) SetBlackout(on bool) error         { return c.record(fmt.Sprint("blackout ", on)) }
func (c *valueController) TestPattern(d time.Duration) error { return c.record("test " + d.String()) }
func (c *valueController) Identify(id string) error          { return c.record("identify " + id) }

func (c *valueController) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

// A control body is what a script or the page means: a misspelt field, a field of another
// control, data after the object or a test pattern too short to see is refused with 400 and
// a reason, and runs nothing (a typo in {"on":false} must not black the strips out).
func TestControlBodiesAreReadStrictly(t *testing.T) {
	ctl := &valueController{}
	base := start(t, Config{Provider: &fakeProvider{}, Controller: ctl, Token: "tok"})
	refused := []struct{ action, body, reason string }{
		{"blackout", `{"onn":false}`, `unknown field "onn"`},
		{"blackout", `{"value":0}`, `unknown field "value"`},
		{"test-pattern", `{"secnds":30}`, `unknown field "secnds"`},
		{"test-pattern", `{"seconds":1e-300}`, "at least 1 second"},
		{"test-pattern", `{"seconds":0.5}`, "at least 1 second"},
		{"test-pattern", `{"seconds":0}`, "at least 1 second"},
		{"test-pattern", `{"seconds":-3}`, "at least 1 second"},
		{"test-pattern", `{"seconds":61}`, "at most 60 seconds"},
		{"test-pattern", `{"seconds":30} trailing garbage`, "after the JSON object"},
		{"test-pattern", `{"seconds":30}}`, "after the JSON object"},
		{"test-pattern", `{"seconds":30}{"seconds":1}`, "after the JSON object"},
		{"mode", `{"mode":"local","seconds":3}`, `unknown field "seconds"`},
		{"brightness", `{"valeu":0.5}`, `unknown field "valeu"`},
		{"identify", `{"device":"strip-1","on":true}`, `unknown field "on"`},
		{"blackout", `[true]`, "not such a JSON object"},
	}
	for _, tc := range refused {
		code, body := post(t, base+"/api/control/"+tc.action, "tok", tc.body)
		var reply struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal([]byte(body), &reply)
		if code != 400 || !strings.Contains(reply.Error, tc.reason) {
			t.Errorf("%s %s: %d %s, want 400 saying %q", tc.action, tc.body, code, strings.TrimSpace(body), tc.reason)
		}
	}
	if calls := ctl.take(); len(calls) != 0 {
		t.Fatalf("refused bodies ran %q", calls)
	}

	accepted := []struct{ action, body, call string }{
		{"blackout", `{"on":false}`, "blackout false"},
		{"blackout", `{"on":true}` + "\n", "blackout true"},
		{"test-pattern", `{"seconds":1}`, "test 1s"},
		{"test-pattern", ` {"seconds":60} ` + "\r\n", "test 1m0s"},
		{"test-pattern", `{}`, "test 5s"},
		{"brightness", `{"value":0.25}`, "brightness 0.25"},
		{"mode", `{"mode":"local"}`, "mode local"},
		{"identify", `{"device":"strip-1"}`, "identify strip-1"},
	}
	var want []string
	for _, tc := range accepted {
		if code, body := post(t, base+"/api/control/"+tc.action, "tok", tc.body); code != 200 {
			t.Errorf("%s %s: %d %s, want 200", tc.action, tc.body, code, strings.TrimSpace(body))
		}
		want = append(want, tc.call)
	}
	if calls := ctl.take(); strings.Join(calls, ",") != strings.Join(want, ",") {
		t.Fatalf("controller calls = %q, want %q", calls, want)
	}
}
