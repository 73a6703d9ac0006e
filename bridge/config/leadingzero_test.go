package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// A whole number written with a leading 0 is refused on a number key, naming the key and the
// decimal spelling: YAML reads 060 as octal (48), and the environment's decoding parses with base
// 0, so LEDBRIDGE_WEBRTC_MAX_PEERS=010 was 8.
func TestLeadingZeroNumberIsRefused(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		{"output:\n  fps: 060\n", []string{"output.fps", "write 60, not 060", "(060 is 48)"}},
		{"output:\n  fps: 08\n", []string{"output.fps", "write 8, not 08"}}, // no octal: YAML fell back to the float 8
		{"analysis:\n  tuning_hz: 0440\n", []string{"analysis.tuning_hz", "write 440, not 0440", "(0440 is 288)"}},
		{"effects:\n  note_low: -024\n", []string{"effects.note_low", "write -24, not -024"}},
		{"effects:\n  crossfade_ms: +0100\n", []string{"effects.crossfade_ms", "write +100, not +0100"}},
		{"hub:\n  max_rooms: 0_16\n", []string{"hub.max_rooms", "write 16, not 0_16"}},
		{"webrtc:\n  max_peers: 00\n", []string{"webrtc.max_peers", "write 0, not 00"}},
		{"devices: [\"wled://a\"]\nstrips:\n  - device: a\n    max_milliamps: 0500\n", []string{"strips[0].max_milliamps", "write 500, not 0500"}},
		{"output:\n  <<: {fps: 030}\n", []string{"output.fps", "write 30, not 030"}}, // a merge key
	} {
		_, err := Load(Options{File: write(t, tc.body, 0o644), LookupEnv: noEnv, Getenv: noHome})
		checkLeadingZeroError(t, tc.body, err, tc.want)
	}
	for _, tc := range []struct {
		name, value string
		want        []string
	}{
		{"LEDBRIDGE_WEBRTC_MAX_PEERS", "010", []string{"webrtc.max_peers", "from LEDBRIDGE_WEBRTC_MAX_PEERS", "write 10, not 010", "(010 is 8)"}},
		{"LEDBRIDGE_OUTPUT_FPS", "-060", []string{"output.fps", "from LEDBRIDGE_OUTPUT_FPS", "write -60, not -060"}},
		{"LEDBRIDGE_OUTPUT_FPS", "09", []string{"output.fps", "write 9, not 09"}},
		{"LEDBRIDGE_ANALYSIS_TUNING_HZ", "0440", []string{"analysis.tuning_hz", "from LEDBRIDGE_ANALYSIS_TUNING_HZ", "write 440, not 0440"}},
		{"LEDBRIDGE_STRIPS", `[{"device":"a","max_milliamps":0500}]`, []string{"strips[0].max_milliamps", "from LEDBRIDGE_STRIPS", "write 500, not 0500"}},
	} {
		env := func(k string) (string, bool) { return tc.value, k == tc.name }
		_, err := Load(Options{LookupEnv: env, Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
		checkLeadingZeroError(t, tc.name+"="+tc.value, err, tc.want)
	}
}

func checkLeadingZeroError(t *testing.T, what string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Errorf("%q: loaded, want it refused", what)
		return
	}
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "\n") {
		t.Errorf("%q: want one *Error line wrapping ErrInvalid, got %T %q", what, err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q: %q does not mention %q", what, err, w)
		}
	}
}

// Numbers without a leading 0 still load as they did: 0 itself, negative numbers, fractions
// (0.5, and 00.5, which no reader takes as octal), and the explicit 0x, 0o and 0b prefixes;
// text keys keep a leading 0 as written (status.token: 0042).
func TestNumbersWithoutLeadingZeroStillLoad(t *testing.T) {
	body := "output:\n  max_milliamps: 0\n  fps: 0x3c\n" +
		"hub:\n  max_rooms: 0o20\n  max_rooms_per_address: 0b11\n" +
		"effects:\n  brightness_cap: 0.5\n  gamma: 00.5\n  attack_ms: -1\n  decay_ms: -0.5\n  note_low: 0\n" +
		"status:\n  token: \"0042\"\nroom:\n  name: 007\n"
	got, err := Load(Options{File: write(t, body, 0o644), LookupEnv: noEnv, Getenv: noHome})
	if err != nil {
		t.Fatal(err)
	}
	c := got.Config
	if c.Output.MaxMilliamps != 0 || c.Output.FPS != 60 || c.Hub.MaxRooms != 16 || c.Hub.MaxRoomsPerAddress != 3 ||
		c.Effects.BrightnessCap != 0.5 || c.Effects.Gamma != 0.5 || c.Effects.AttackMs != -1 || c.Effects.DecayMs != -0.5 ||
		c.Effects.NoteLow != 0 || c.Status.Token != "0042" || c.Room.Name != "007" {
		t.Errorf("loaded %+v %+v %+v %+v %+v", c.Output, c.Hub, c.Effects, c.Status, c.Room)
	}
	env := map[string]string{
		"LEDBRIDGE_WEBRTC_MAX_PEERS":     "0x4",
		"LEDBRIDGE_OUTPUT_FPS":           "0o36",
		"LEDBRIDGE_OUTPUT_MAX_MILLIAMPS": "0",
		"LEDBRIDGE_EFFECTS_ATTACK_MS":    "-1",
		"LEDBRIDGE_EFFECTS_GAMMA":        "0.8",
		"LEDBRIDGE_STATUS_TOKEN":         "0042",
	}
	got, err = Load(Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	c = got.Config
	if c.WebRTC.MaxPeers != 4 || c.Output.FPS != 30 || c.Output.MaxMilliamps != 0 || c.Effects.AttackMs != -1 ||
		c.Effects.Gamma != 0.8 || c.Status.Token != "0042" {
		t.Errorf("from the environment: max_peers %d, fps %d, max_milliamps %d, attack_ms %v, gamma %v, token %q",
			c.WebRTC.MaxPeers, c.Output.FPS, c.Output.MaxMilliamps, c.Effects.AttackMs, c.Effects.Gamma, c.Status.Token)
	}
}

// A duration key is no number key, though time.Duration's Kind is Int64: 010 there gets the
// duration's own refusal, as 10 does, not the leading-0 line, which told the operator to write
// 10 and so to meet that refusal next (review 318, finding 4).
func TestLeadingZeroOnADurationKeyGetsTheDurationLine(t *testing.T) {
	// The line quotes the number as written: YAML decodes 010 as 8, and "got whole number 8"
	// named a value nobody wrote (review 328).
	for _, tc := range []struct{ key, body, written string }{
		{"webrtc.offer_delay", "webrtc:\n  offer_delay: 010\n", `"010"`},
		{"discovery.interval", "discovery:\n  interval: 030\n", `"030"`},
		{"output.realtime_timeout", "output:\n  realtime_timeout: 00\n", `"00"`},
		{"webrtc.offer_delay", "webrtc:\n  offer_delay: 10\n", `"10"`}, // the spelling the leading-0 line asked for
	} {
		_, err := Load(Options{File: write(t, tc.body, 0o644), LookupEnv: noEnv, Getenv: noHome})
		checkDurationError(t, tc.body, err, tc.key, "got whole number "+tc.written)
	}
	for _, tc := range []struct{ key, name, value string }{
		{"webrtc.offer_delay", "LEDBRIDGE_WEBRTC_OFFER_DELAY", "010"},
		{"discovery.interval", "LEDBRIDGE_DISCOVERY_INTERVAL", "-030"},
		{"webrtc.offer_delay", "LEDBRIDGE_WEBRTC_OFFER_DELAY", "10"},
	} {
		env := func(k string) (string, bool) { return tc.value, k == tc.name }
		_, err := Load(Options{LookupEnv: env, Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
		checkDurationError(t, tc.name+"="+tc.value, err, tc.key, "from "+tc.name, "got \""+tc.value+"\"")
	}
}

func checkDurationError(t *testing.T, what string, err error, key string, more ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%q: loaded, want it refused", what)
		return
	}
	for _, w := range append([]string{key + ": ", "want a duration such as 2s"}, more...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q: %q does not mention %q", what, err, w)
		}
	}
	if strings.Contains(err.Error(), "octal") || strings.Contains(err.Error(), "write ") {
		t.Errorf("%q: %q gives the leading-0 line on a duration key", what, err)
	}
}

// An explicit tag does not let a leading 0 through: the node of `!!int 060` has the tagged
// style, not the plain one, yet YAML reads it as 48, and so it does `!!int "060"`, whose quotes
// an explicit number tag overrides (review 318, finding 6). `!!str 060` is text, which a number
// key refuses as before.
func TestLeadingZeroWithAnExplicitTagIsRefused(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		{"output:\n  fps: !!int 060\n", []string{"output.fps", "write 60, not 060", "(060 is 48)"}},
		{"output:\n  fps: !!float 060\n", []string{"output.fps", "write 60, not 060", "(060 is 48)"}},
		{"output:\n  fps: !<tag:yaml.org,2002:int> 060\n", []string{"output.fps", "write 60, not 060"}},
		{"output:\n  fps: !!int \"060\"\n", []string{"output.fps", "write 60, not 060", "(060 is 48)"}},
		{"output:\n  fps: !!int '060'\n", []string{"output.fps", "write 60, not 060", "(060 is 48)"}},
		{"analysis:\n  tuning_hz: !!float 0440\n", []string{"analysis.tuning_hz", "write 440, not 0440", "(0440 is 288)"}},
		{"output:\n  fps: !!float 08\n", []string{"output.fps", "write 8, not 08"}},
		{"hub:\n  max_rooms: !!int 0_16\n", []string{"hub.max_rooms", "write 16, not 0_16"}},
		{"output:\n  fps: &f !!int 030\nhub:\n  max_rooms: *f\n", []string{"output.fps", "write 30, not 030"}},
		{"devices: [\"wled://a\"]\nstrips:\n  - device: a\n    max_milliamps: !!int 0500\n", []string{"strips[0].max_milliamps", "write 500, not 0500"}},
	} {
		_, err := Load(Options{File: write(t, tc.body, 0o644), LookupEnv: noEnv, Getenv: noHome})
		checkLeadingZeroError(t, tc.body, err, tc.want)
	}
	for _, body := range []string{"output:\n  fps: !!str 060\n", "output:\n  fps: \"060\"\n"} {
		_, err := Load(Options{File: write(t, body, 0o644), LookupEnv: noEnv, Getenv: noHome})
		if err == nil || !strings.Contains(err.Error(), "want a whole number, got text") {
			t.Errorf("%q: %v, want the refusal of text on a number key", body, err)
		}
	}
	got, err := Load(Options{File: write(t, "output:\n  fps: !!int 30\neffects:\n  gamma: !!float 00.5\n", 0o644), LookupEnv: noEnv, Getenv: noHome})
	if err != nil || got.Output.FPS != 30 || got.Effects.Gamma != 0.5 {
		t.Errorf("!!int 30, !!float 00.5: %v, fps %v, gamma %v", err, got.Output.FPS, got.Effects.Gamma)
	}
}
