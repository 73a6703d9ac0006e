package config

// redactedMark replaces a secret's value wherever configuration is shown.
const redactedMark = "(set)"

// Redacted returns a copy of c whose secrets (keys, tokens, JWTs, TURN credentials) are replaced
// by "(set)" when present, for `config show`, logs and the status page.
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
