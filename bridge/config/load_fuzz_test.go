package config

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLoad feeds Load what an operator controls: the text of a config file and one LEDBRIDGE_*
// variable (the fuzzer picks the setting by index into every key, and its value). Load must
// never panic; when it refuses, the error is one *Error line wrapping ErrInvalid, which is what
// the daemon prints and what callers branch on; when it accepts, the result must be usable as it
// stands: it validates again, yields an effect config and a look for every strip (the session
// builds those without checking again), and Redacted, Map and ChangedKeys, which the status page
// and a reload run on it, do not panic. A config that loads and then fails one of these would take
// the daemon down at start or at the first reload instead of being refused with a reason.
func FuzzLoad(f *testing.F) {
	keys := slices.Sorted(maps.Keys(flatten(Default())))
	key := func(name string) uint8 {
		i := slices.Index(keys, name)
		if i < 0 || i > 255 {
			f.Fatalf("no config key %q to seed with (or past index 255)", name)
		}
		return uint8(i)
	}
	example, err := os.ReadFile("../../configs/ledbridge.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	const strip = "devices: [\"wled://a\"]\nstrips:\n  - device: a\n    effect: notes\n"
	f.Add(string(example), key("room.code"), "ABCDEF")
	f.Add("", key("devices"), "")
	f.Add("# only a comment\n", key("log.level"), "debug")
	f.Add(strip, key("strips"), `[{"device":"bar","effect":"notes","reverse":true}]`)
	f.Add(strip+"    brightness: 1e-50\n    max_milliamps: 0\n", key("output.max_milliamps"), "-1")
	f.Add("webrtc:\n  ice_servers:\n    - urls: [\"turn:h:3478\"]\n", key("webrtc.ice_servers"),
		`[{"urls":["turn:host:3478"],"username":"u","credential":"c"}]`)
	f.Add("webrtc:\n  udp_port_min: 50000\n", key("webrtc.udp_port_max"), "49999")
	f.Add("output:\n  fps: 1\n  realtime_timeout: 1s\n", key("output.fps"), "99999999999")
	f.Add("effects:\n  brightness_cap: 1e-50\n  gamma: .nan\n", key("effects.idle_brightness"), "+Inf")
	f.Add("effects:\n  idle_color: \"#ff00zz\"\n", key("effects.color_mode"), "rainbow")
	f.Add("status:\n  allowed_hosts: [\"*.stage.example\"]\n", key("status.allowed_hosts"), "*,[::1]")
	f.Add("room: [1, 2]\n", key("discovery.interval"), "1ns")
	f.Add("a: &a [x, x]\nb: &b [*a, *a]\n", key("hub.max_frame_bytes"), "0x10")
	f.Add("\xff\xfe: \x00\n", key("supabase.url"), "http://[::1")
	f.Fuzz(func(t *testing.T, text string, k uint8, value string) {
		name := EnvName(keys[int(k)%len(keys)])
		got, err := Load(Options{
			File:       write(t, text, 0o600),
			LookupEnv:  func(v string) (string, bool) { return value, v == name },
			Environ:    func() []string { return []string{name + "=" + value} },
			Getenv:     noHome,
			SystemFile: filepath.Join(t.TempDir(), "absent.yaml"),
		})
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s=%q: error is no *Error wrapping ErrInvalid: %T %v", name, value, err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s=%q: error spans lines: %q", name, value, err)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("%s=%q: loaded config does not validate again: %v", name, value, err)
		}
		if _, err := got.EffectConfig(); err != nil {
			t.Fatalf("%s=%q: loaded config has no effect config: %v", name, value, err)
		}
		for _, s := range got.Strips {
			if _, _, err := s.Look(); err != nil {
				t.Fatalf("%s=%q: loaded strip %+v has no look: %v", name, value, s, err)
			}
		}
		_ = Redacted(got.Config).Map()
		_ = ChangedKeys(Default(), got.Config)
	})
}
