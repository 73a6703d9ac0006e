package realtime_test

import (
	"errors"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// Join refusals as hosted Realtime words them (realtime_channel.ex, "<Code>: <message>").
const (
	refusedUnauthorized = "Unauthorized: You do not have permissions to read from this Channel topic: ABC123"
	refusedTenant       = "TenantNotFound: Tenant with the given ID does not exist"
)

// TestTokenRefusalsMatchErrAccessTokenRejected: every way hosted Realtime refuses a token (at the
// join, or when a refreshed token is pushed to a joined channel) reads as ErrAccessTokenRejected,
// for which the bridge says to replace supabase.access_token; other refusals do not.
func TestTokenRefusalsMatchErrAccessTokenRejected(t *testing.T) {
	for _, tc := range []struct {
		err   error
		token bool
	}{
		{&realtime.ReplyError{Op: "join", Reason: "InvalidJWTToken: Token has expired 12 seconds ago"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "InvalidJWTToken: Fields `role` and `exp` are required in JWT"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "InvalidJWTToken: Token expiration time is invalid"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "MalformedJWT: The token provided is not a valid JWT"}, true},
		{&realtime.ReplyError{Op: "join", Reason: "JwtSignatureError: Failed to validate JWT signature"}, true},
		{&realtime.SystemError{Extension: "system", Message: "Token has expired 0 seconds ago"}, true},
		{&realtime.SystemError{Extension: "system", Message: "Fields `role` and `exp` are required in JWT"}, true},
		{&realtime.SystemError{Extension: "system", Message: "The token provided is not a valid JWT"}, true},
		{&realtime.ReplyError{Op: "join", Reason: refusedUnauthorized}, false},
		{&realtime.ReplyError{Op: "join", Reason: "PrivateOnly: This project only allows private channels"}, false},
		{&realtime.ReplyError{Op: "join", Reason: refusedTenant}, false},
		{&realtime.ReplyError{Op: "join", Reason: "JwtSignerError: Failed to generate JWT signer, check your JWT secret or JWKS configuration"}, false},
		{&realtime.ReplyError{Op: "track", Reason: "MalformedJWT: The token provided is not a valid JWT"}, false},
		{&realtime.SystemError{Extension: "system", Message: "Too many messages per second"}, false},
	} {
		if got := errors.Is(tc.err, realtime.ErrAccessTokenRejected); got != tc.token {
			t.Errorf("%v: errors.Is(ErrAccessTokenRejected) = %v, want %v", tc.err, got, tc.token)
		}
	}
}
