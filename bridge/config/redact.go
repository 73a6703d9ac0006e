package config

import (
	"net/url"
	"reflect"
	"strings"
)

// redactedMark replaces a secret's value wherever configuration is shown.
const redactedMark = "(set)"

// The values of a field's secret tag.
const (
	secretValue       = "value"        // the whole value is a secret
	secretURLPassword = "url-password" // a URL whose password, if it has one, is a secret
)

// Redacted returns a copy of c whose secrets (keys, tokens, JWTs, TURN credentials: the fields
// tagged secret:"value") are replaced by "(set)" when present, for `config show`, logs and the
// status page. So is the password of a supabase.url written as https://user:password@proxy…
// (secret:"url-password"), shown as xxxxx.
func Redacted(c Config) Config {
	redactSecrets(reflect.ValueOf(&c).Elem())
	return c
}

// redactSecrets masks the tagged fields of struct v in place. A slice of structs is copied before
// its entries are masked, as the caller's Config shares its array.
func redactSecrets(v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := v.Field(i)
		switch kind := t.Field(i).Tag.Get("secret"); {
		case !t.Field(i).IsExported():
		case kind == secretValue && f.String() != "":
			f.SetString(redactedMark)
		case kind == secretURLPassword:
			f.SetString(redactURLPassword(f.String()))
		case f.Kind() == reflect.Struct:
			redactSecrets(f)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			entries := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			reflect.Copy(entries, f)
			for j := range entries.Len() {
				redactSecrets(entries.Index(j))
			}
			f.Set(entries)
		}
	}
}

// secretKeys maps the last part of each secret's key ("key", "credential", "url") to its secret
// tag, for hasSecret, which reads a file's YAML before it is decoded into a Config.
var secretKeys = secretLeaves(reflect.TypeOf(Config{}), map[string]string{})

func secretLeaves(t reflect.Type, out map[string]string) map[string]string {
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		switch kind := f.Tag.Get("secret"); {
		case kind != "":
			out[f.Tag.Get("mapstructure")] = kind
		case ft.Kind() == reflect.Struct:
			secretLeaves(ft, out)
		}
	}
	return out
}

// Map returns c as nested maps keyed like the YAML file, durations as text.
func (c Config) Map() map[string]any {
	out := map[string]any{}
	for key, val := range flatten(c) {
		setPath(out, key, val)
	}
	return out
}

// urlWithPassword reports whether raw is a URL with a password in its user information.
func urlWithPassword(raw string) bool {
	_, _, _, ok := findPassword(raw)
	return ok
}

// findPassword finds the password of raw's user information: in u when url.Parse reads one, else
// (u nil) as the text after the first ':' in raw[start:end] (userinfoSpan). ok is false for raw
// without a password.
func findPassword(raw string) (u *url.URL, start, end int, ok bool) {
	if u, err := url.Parse(raw); err == nil {
		if _, ok := u.User.Password(); ok {
			return u, 0, 0, true
		}
	}
	start, end, ok = userinfoSpan(raw)
	if !ok || !strings.Contains(raw[start:end], ":") {
		return nil, 0, 0, false
	}
	return nil, start, end, true
}

// userinfoSpan finds raw's user information (after "scheme://", before the last '@' ahead of the
// path) by its text alone: a URL that url.Parse refuses (a stray %zz in the path), or reads
// otherwise (user:password@host without a scheme), must not show its password in the error that
// says so.
func userinfoSpan(raw string) (start, end int, ok bool) {
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	authority := raw[start:]
	if j := strings.IndexAny(authority, "/?#"); j >= 0 {
		authority = authority[:j]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return 0, 0, false
	}
	return start, start + at, true
}

// redactURLPassword returns raw with the password of its user information, if any, shown as
// xxxxx (url.URL.Redacted: redactedMark would be percent-encoded there); a URL without one is
// returned as it is.
func redactURLPassword(raw string) string {
	u, start, end, ok := findPassword(raw)
	switch {
	case !ok:
		return raw
	case u != nil:
		return u.Redacted()
	}
	user, _, _ := strings.Cut(raw[start:end], ":")
	return raw[:start] + user + ":xxxxx" + raw[end:]
}

// PublicURL is raw without any user information (a reverse proxy's user:password@), for pages
// anyone on the LAN may read.
func PublicURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	if start, end, ok := userinfoSpan(raw); ok {
		return raw[:start] + raw[end+1:]
	}
	return raw
}
