package config

import (
	"strings"
	"testing"
)

// TestShortStatusTokenWarns: a status.token under 12 characters gets a warning (not an error:
// it validates) that gives its length and never the token; a long one, or none, gets none.
func TestShortStatusTokenWarns(t *testing.T) {
	for _, tc := range []struct {
		token string
		warn  bool
	}{
		{"", false}, // controls off
		{"Q7", true},
		{"hunter2", true},
		{"elevenchars", true},
		{"twelve-chars", false},
		{"3b1f0c9e2d4a7b6c5e8f9a0b1c2d3e4f", false},
	} {
		c := Default()
		c.Status.Token = tc.token
		if err := c.Validate(); err != nil {
			t.Errorf("token %q: Validate: %v, want no error (a short token is a warning)", tc.token, err)
		}
		got := statusTokenWarnings(tc.token)
		if (len(got) > 0) != tc.warn {
			t.Errorf("token %q (%d characters): warnings %q, want a warning: %v", tc.token, len(tc.token), got, tc.warn)
			continue
		}
		for _, w := range got {
			if !strings.Contains(w, "status.token") || !strings.Contains(w, "12") || strings.Contains(w, tc.token) {
				t.Errorf("token %q: warning %q must name the key and the minimum, and not quote the token", tc.token, w)
			}
		}
	}
}
