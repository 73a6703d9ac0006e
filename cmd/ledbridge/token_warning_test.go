package main

import (
	"strings"
	"testing"
	"time"
)

// The start-up and reload warning about supabase.access_token's exp: past, within 7 days, later.
func TestAccessTokenWarning(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, token string
		want        string // in the warning; "" for none
	}{
		{"none", "", ""},
		{"expired", testJWT("u", now.Add(-90*time.Minute)), "expired at 2026-11-26T10:30:00Z (1h30m0s ago)"},
		{"expires now", testJWT("u", now), "expired at"},
		{"expires in 3 days", testJWT("u", now.Add(72*time.Hour)), "expires at 2026-11-29T12:00:00Z (in 72h0m0s)"},
		{"expires in 8 days", testJWT("u", now.Add(8*24*time.Hour)), ""},
		{"not a JWT", "sb_secret_not-a-jwt", "cannot tell when it expires"},
	} {
		got := accessTokenWarning(tc.token, now)
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: warning %q, want none", tc.name, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s: warning %q, want it to say %q", tc.name, got, tc.want)
		case tc.token != "" && strings.Contains(got, tc.token):
			t.Errorf("%s: the warning quotes the token", tc.name)
		}
	}
	if keys := restartKeys([]string{"supabase.access_token"}, false); len(keys) != 0 {
		t.Errorf("a changed supabase.access_token needs a restart (%v): it must be reloadable", keys)
	}
}
