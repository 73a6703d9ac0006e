package config

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// stringLeaves lists every string (and []string entry) of v by key, a slice's entries as key[i].
func stringLeaves(prefix string, v reflect.Value, out map[string]string) {
	switch v.Kind() {
	case reflect.String:
		out[prefix] = v.String()
	case reflect.Slice:
		for i := range v.Len() {
			stringLeaves(fmt.Sprintf("%s[%d]", prefix, i), v.Index(i), out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			key := v.Type().Field(i).Tag.Get("mapstructure")
			if prefix != "" {
				key = prefix + "." + key
			}
			stringLeaves(key, v.Field(i), out)
		}
	}
}

// Redacted hides exactly the secrets, whatever else is set: every string of the configuration is
// given a value, and only the keys, tokens and credentials come back as "(set)", the URL with its
// password as xxxxx; the argument is left alone.
func TestRedactedHidesExactlyTheSecrets(t *testing.T) {
	c := Default()
	c.WebRTC.ICEServers = []ICEServer{{URLs: []string{"turn:a.example.org"}}, {URLs: []string{"turns:b.example.org"}}}
	c.Devices = []string{"wled://10.0.0.5"}
	v := reflect.ValueOf(&c).Elem()
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString("s3cret")
		case reflect.Slice:
			for i := range v.Len() {
				fill(v.Index(i))
			}
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		}
	}
	fill(v)
	c.Supabase.URL = "https://venue:s3cret@proxy.venue.lan"
	before := map[string]string{}
	stringLeaves("", v, before)

	after := map[string]string{}
	stringLeaves("", reflect.ValueOf(Redacted(c)), after)
	var masked []string
	for key, val := range after {
		if val != before[key] {
			masked = append(masked, key+"="+val)
		}
	}
	slices.Sort(masked)
	want := []string{
		"hub.secret=(set)", "status.token=(set)", "supabase.access_token=(set)", "supabase.key=(set)",
		"supabase.url=https://venue:xxxxx@proxy.venue.lan",
		"webrtc.ice_servers[0].credential=(set)", "webrtc.ice_servers[1].credential=(set)",
	}
	if !slices.Equal(masked, want) {
		t.Errorf("Redacted changed\n%s\nwant\n%s", strings.Join(masked, "\n"), strings.Join(want, "\n"))
	}
	again := map[string]string{}
	stringLeaves("", v, again)
	if !reflect.DeepEqual(again, before) {
		t.Error("Redacted changed its argument")
	}
	// An empty secret stays empty: "(set)" would say it was set.
	if r := Redacted(Default()); r.Supabase.Key != "" || r.Hub.Secret != "" || r.WebRTC.ICEServers[0].Credential != "" {
		t.Errorf("empty secrets shown as set: %+v", r)
	}
}

// A file readable by others is warned about for each secret key, and not for other keys.
func TestSecretsWarningForEverySecret(t *testing.T) {
	for _, tc := range []struct {
		body string
		warn bool
	}{
		{"supabase:\n  key: anon\n", true},
		{"supabase:\n  access_token: jwt\n", true},
		{"hub:\n  secret: s\n", true},
		{"status:\n  token: t\n", true},
		{"webrtc:\n  ice_servers:\n    - urls: [\"turn:t.example.org\"]\n      username: u\n      credential: c\n", true},
		{"supabase:\n  url: https://u:p@proxy.venue.lan\n  key: \"\"\n", true},
		{"webrtc:\n  ice_servers:\n    - urls: [\"stun:t.example.org\"]\n      username: u\n", false},
		{"room:\n  name: secret\n", false},
		{"hub:\n  secret: \"\"\n", false},
	} {
		p := write(t, tc.body, 0o644)
		if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
			t.Fatal(err)
		}
		got := secretsWarning(p, []byte(tc.body))
		if (got != "") != tc.warn {
			t.Errorf("%q: warning %q, want one: %v", tc.body, got, tc.warn)
		}
	}
}

// Every secret tag is one Redacted and hasSecret understand, and the secret keys are the ones
// the warning about readable files has always named.
func TestSecretTags(t *testing.T) {
	want := map[string]string{
		"key": secretValue, "access_token": secretValue, "secret": secretValue, "token": secretValue,
		"credential": secretValue, "url": secretURLPassword,
	}
	if !reflect.DeepEqual(secretKeys, want) {
		t.Errorf("secretKeys = %v, want %v", secretKeys, want)
	}
}

// The warning's advice fits the systemd unit: ledbridge.service runs as a dynamic user, never the
// file's owner, so a config chmodded 600 stops the service (exit 78, which it does not restart);
// the secrets belong in the EnvironmentFile, and the file must stay readable.
func TestSecretsWarningAdviceKeepsTheServiceRunning(t *testing.T) {
	p := write(t, "status:\n  token: t\n", 0o644)
	if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	got := secretsWarning(p, []byte("status:\n  token: t\n"))
	for _, want := range []string{"/etc/ledbridge/env", "ledbridge.service", "dynamic user", "keep this file readable"} {
		if !strings.Contains(got, want) {
			t.Errorf("warning does not say %q: %s", want, got)
		}
	}
}
