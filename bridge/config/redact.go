package config

import "net/url"

// redactedMark replaces a secret's value wherever configuration is shown.
const redactedMark = "(set)"

// Redacted returns a copy of c whose secrets (keys, tokens, JWTs, TURN credentials) are replaced
// by "(set)" when present, for `config show`, logs and the status page. So is the password of a
// supabase.url written as https://user:password@proxy…, shown as xxxxx.
func Redacted(c Config) Config {
	mask := func(s *string) {
		if *s != "" {
			*s = redactedMark
		}
	}
	mask(&c.Supabase.Key)
	mask(&c.Supabase.AccessToken)
	mask(&c.Hub.Secret)
	mask(&c.Status.Token)
	c.Supabase.URL = redactURLPassword(c.Supabase.URL)
	servers := make([]ICEServer, len(c.WebRTC.ICEServers))
	copy(servers, c.WebRTC.ICEServers)
	for i := range servers {
		mask(&servers[i].Credential)
	}
	c.WebRTC.ICEServers = servers
	return c
}

// Map returns c as nested maps keyed like the YAML file, durations as text.
func (c Config) Map() map[string]any {
	out := map[string]any{}
	for key, val := range flatten(c) {
		setPath(out, key, val)
	}
	return out
}

// redactURLPassword returns raw with the password of its user information, if any, shown as
// xxxxx (url.URL.Redacted: redactedMark would be percent-encoded there); a URL without one, or
// that does not parse, is returned as it is.
func redactURLPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	return u.Redacted()
}

// PublicURL is raw without any user information (a reverse proxy's user:password@), for pages
// anyone on the LAN may read; a URL that does not parse is returned as it is.
func PublicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
