package realtime

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// maxTokenBytes bounds the token AccessTokenExpiry decodes: Supabase user JWTs are about 1 KiB.
const maxTokenBytes = 16 << 10

// errNotJWT marks an access token whose expiry cannot be read.
var errNotJWT = errors.New("realtime: access token is not a JWT with a numeric exp claim")

// AccessTokenExpiry returns the exp claim of a JWT access token. The signature is not checked: the
// token is the operator's own, and only the server can verify it; the client reads exp to warn
// before the server starts refusing the token.
func AccessTokenExpiry(token string) (time.Time, error) {
	if len(token) > maxTokenBytes {
		return time.Time{}, fmt.Errorf("%w: %d bytes", errNotJWT, len(token))
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, fmt.Errorf("%w: %d dot-separated parts, want 3", errNotJWT, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: payload: %v", errNotJWT, err)
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, fmt.Errorf("%w: payload: %v", errNotJWT, err)
	}
	if claims.Exp == nil {
		return time.Time{}, fmt.Errorf("%w: no exp claim", errNotJWT)
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp < 0 || exp > math.MaxInt32*16 { // past year 10000 is no expiry
		return time.Time{}, fmt.Errorf("%w: exp %s", errNotJWT, claims.Exp.String())
	}
	sec, frac := math.Modf(exp)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
