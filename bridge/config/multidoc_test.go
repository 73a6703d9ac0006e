package config

import (
	"errors"
	"strings"
	"testing"
)

// A second YAML document (after a '---' line) is refused, naming the file and the line where it
// begins: only the first document was read, so its settings (and its unknown keys) were dropped
// without a word, and a file starting with two '---' lines loaded as the defaults. A YAML syntax
// error after the first document, which was skipped the same way, is refused too.
func TestSecondYAMLDocumentIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"settings after ---", "room:\n  code: JAM234\n---\neffects:\n  brightness_cap: 0.5\n  bogus_key: 1\n",
			[]string{"a second YAML document begins at line 3"}},
		{"two leading ---", "---\n---\nroom:\n  code: JAM234\n",
			[]string{"a second YAML document begins at line 2"}},
		{"after a comment-only document", "room:\n  code: JAM234\n---\n# nothing here\n---\nlog:\n  level: debug\n",
			[]string{"a third YAML document begins at line 5"}},
		{"flow mapping after ---", "room: {code: JAM234}\n--- # the strips\nstrips: []\n",
			[]string{"a second YAML document begins at line 2"}},
		{"a syntax error after ---", "room:\n  code: JAM234\n---\ndevices: [wled://a\n",
			[]string{"not valid YAML"}},
		{"a bare document after ...", "room:\n  code: JAM234\n...\nlog:\n  level: debug\n",
			[]string{"not valid YAML"}},
	} {
		p := write(t, tc.body, 0o644)
		got, err := Load(Options{File: p, LookupEnv: noEnv, Getenv: noHome})
		if err == nil {
			t.Errorf("%s: loaded (room.code %q, brightness_cap %v, log.level %q), want it refused",
				tc.name, got.Room.Code, got.Effects.BrightnessCap, got.Log.Level)
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: want one *Error line wrapping ErrInvalid, got %T %q", tc.name, err, err)
		}
		for _, w := range append([]string{p}, tc.want...) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not mention %q", tc.name, err, w)
			}
		}
	}
}

// Documents with nothing in them (a leading '---', a trailing one, a comment or an explicit null
// after one, a closing '...') are still accepted, and the first document's settings apply.
func TestEmptyYAMLDocumentsAreAccepted(t *testing.T) {
	for _, body := range []string{
		"---\nroom:\n  code: JAM234\n",
		"room:\n  code: JAM234\n---\n",
		"room:\n  code: JAM234\n--- \n",
		"room:\n  code: JAM234\n---\n# kept for later:\n# log:\n#   level: debug\n",
		"room:\n  code: JAM234\n---\n# one\n---\n# two\n---\n",
		"room:\n  code: JAM234\n---\n~\n",
		"room:\n  code: JAM234\n...\n",
		"# a header\n---\nroom:\n  code: JAM234\n...\n---\n",
		"status:\n  token: 0042\nroom:\n  code: JAM234\n---\n", // keepTextAsWritten re-writes the first document
	} {
		got, err := Load(Options{File: write(t, body, 0o644), LookupEnv: noEnv, Getenv: noHome})
		if err != nil {
			t.Errorf("%q: %v", body, err)
			continue
		}
		if got.Room.Code != "JAM234" {
			t.Errorf("%q: room.code %q, want JAM234", body, got.Room.Code)
		}
	}
	for _, body := range []string{"---\n", "---\n---\n", "---\n# only a comment\n---\n# and another\n"} {
		got, err := Load(Options{File: write(t, body, 0o644), LookupEnv: noEnv, Getenv: noHome})
		if err != nil {
			t.Errorf("%q: %v", body, err)
			continue
		}
		if !got.FileEmpty {
			t.Errorf("%q: FileEmpty false, want true (the file holds no setting)", body)
		}
	}
}
