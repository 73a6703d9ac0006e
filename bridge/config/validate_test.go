package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// loadFile loads body as the only source (no environment, no system file, no home).
func loadFile(t *testing.T, body string) (*Loaded, error) {
	t.Helper()
	p := write(t, body, 0o600)
	return Load(Options{File: p, LookupEnv: noEnv, Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
}

// wantKeyError checks that err is an *Error for key whose problem mentions every one of words.
func wantKeyError(t *testing.T, err error, key string, words ...string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *config.Error for %s", err, key)
	}
	if ce.Key != key {
		t.Fatalf("err names key %q, want %q (%v)", ce.Key, key, err)
	}
	for _, w := range words {
		if !strings.Contains(ce.Problem, w) {
			t.Errorf("problem %q does not mention %q", ce.Problem, w)
		}
	}
}

// Config check (and the installer's upgrade guard, which runs it) must refuse what `join` refuses
// when it starts: pion's parse of the ICE URLs, its TURN credential rule, and the Realtime URL
// (TestSupabaseURLCheckAgreesWithRealtimeClient holds the URL check to the real client).
func TestValidateRefusesWhatJoinRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, body, key string
		words           []string
	}{
		{"turn without credentials", "webrtc:\n  ice_servers:\n    - urls: [\"stun:stun.example.org:3478\", \"turn:turn.example.org:3478\"]\n",
			"webrtc.ice_servers[0].urls[1]", []string{"username", "credential"}},
		{"turn with a username only", "webrtc:\n  ice_servers:\n    - urls: [\"turns:turn.example.org\"]\n      username: u\n",
			"webrtc.ice_servers[0].urls[0]", []string{"credential"}},
		{"stun without host", "webrtc:\n  ice_servers:\n    - urls: [\"stun:\"]\n", "webrtc.ice_servers[0].urls[0]", []string{"stun:"}},
		{"stun port out of range", "webrtc:\n  ice_servers:\n    - urls: [\"stun:stun.example.org:99999\"]\n", "webrtc.ice_servers[0].urls[0]", nil},
		{"second server", "webrtc:\n  ice_servers:\n    - urls: [\"stun:a.example.org\"]\n    - urls: [\"http://b.example.org\"]\n", "webrtc.ice_servers[1].urls[0]", nil},
		{"url without host", "supabase:\n  url: \"https://\"\n  key: k\n", "supabase.url", []string{"host"}},
		{"url with a space", "supabase:\n  url: \"https://exa mple.co\"\n  key: k\n", "supabase.url", nil},
		{"url port out of range", "supabase:\n  url: \"wss://x.supabase.co:99999\"\n  key: k\n", "supabase.url", []string{"port"}},
		{"url port zero", "supabase:\n  url: \"https://x.supabase.co:0\"\n  key: k\n", "supabase.url", []string{"port"}},
		{"url bad scheme", "supabase:\n  url: \"ftp://x.supabase.co\"\n  key: k\n", "supabase.url", []string{"https://"}},
		{"url no scheme", "supabase:\n  url: \"x.supabase.co\"\n  key: k\n", "supabase.url", []string{"https://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFile(t, tc.body)
			wantKeyError(t, err, tc.key, tc.words...)
		})
	}
}

func TestValidateAcceptsRealURLs(t *testing.T) {
	for _, body := range []string{
		"webrtc:\n  ice_servers:\n    - urls: [\"stun:stun.l.google.com:19302\", \"stun:[fd00::1]\"]\n    - urls: [\"turn:turn.example.org:3478?transport=tcp\", \"turns:turn.example.org\"]\n      username: u\n      credential: c\n",
		"supabase:\n  url: https://abcdefgh.supabase.co\n  key: k\n",
		"supabase:\n  url: http://192.168.1.20:54321/\n  key: k\n",
		"supabase:\n  url: wss://[fd00::5]:4000/realtime/v1/websocket\n  key: k\n",
		"supabase:\n  url: ws://raspberrypi.local:4000\n  key: k\n",
	} {
		if _, err := loadFile(t, body); err != nil {
			t.Errorf("%v\n%s", err, body)
		}
	}
}

// An unquoted number given to a text key keeps the text as written: YAML alone reads 0042 as 34,
// a long number as a float that lost digits, 1e3 as 1000.
func TestNumbersInTextKeysKeepTheirText(t *testing.T) {
	got, err := loadFile(t, `
room:
  code: 234567
  name: 1e3
status:
  token: 0042
hub:
  secret: 12345678901234567890123
  allowed_origins: [0x1F, 7.50]
webrtc:
  ice_servers:
    - urls: ["turn:turn.example.org"]
      username: 000123
      credential: 1_000
effects:
  brightness_cap: 0.5
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, got, want string }{
		{"room.code", got.Room.Code, "234567"},
		{"room.name", got.Room.Name, "1e3"},
		{"status.token", got.Status.Token, "0042"},
		{"hub.secret", got.Hub.Secret, "12345678901234567890123"},
		{"hub.allowed_origins[0]", got.Hub.AllowedOrigins[0], "0x1F"},
		{"hub.allowed_origins[1]", got.Hub.AllowedOrigins[1], "7.50"},
		{"webrtc.ice_servers[0].username", got.WebRTC.ICEServers[0].Username, "000123"},
		{"webrtc.ice_servers[0].credential", got.WebRTC.ICEServers[0].Credential, "1_000"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q as written", c.key, c.got, c.want)
		}
	}
	if got.Effects.BrightnessCap != 0.5 {
		t.Errorf("a number key changed too: brightness_cap = %v", got.Effects.BrightnessCap)
	}

	// A code of digits and a letter E is a number in exponent form to YAML.
	got, err = loadFile(t, "room:\n  code: 234E56\n")
	if err != nil {
		t.Fatal(err)
	}
	if got.Room.Code != "234E56" {
		t.Errorf("room.code = %q, want 234E56", got.Room.Code)
	}
}

// A value out of range names the variable that set it, not only the key.
func TestRangeErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ env, val, key string }{
		{"LEDBRIDGE_ROOM_MODE", "loud", "room.mode"},
		{"LEDBRIDGE_WEBRTC_MAX_PEERS", "1000", "webrtc.max_peers"},
		{"LEDBRIDGE_WEBRTC_ICE_SERVERS", `[{"urls":["turn:t.example.org"]}]`, "webrtc.ice_servers[0].urls[0]"},
		{"LEDBRIDGE_DEVICES", "ddp://a?leds=3,ddp://b", "devices[1]"},
	} {
		_, err := Load(Options{
			LookupEnv:  func(k string) (string, bool) { return tc.val, k == tc.env },
			Getenv:     noHome,
			SystemFile: filepath.Join(t.TempDir(), "absent.yaml"),
		})
		wantKeyError(t, err, tc.key, "from "+tc.env+": ")
	}
	// The same value in the file names no variable.
	_, err := loadFile(t, "room:\n  mode: loud\n")
	wantKeyError(t, err, "room.mode")
	if strings.Contains(err.Error(), "LEDBRIDGE_") {
		t.Errorf("a file's value names a variable: %v", err)
	}
}

// A secret written as an unquoted number is a secret too: a file readable by others that holds
// status.token: 0042 is warned about like one holding a quoted token.
func TestSecretsWarningForNumericSecret(t *testing.T) {
	p := write(t, "status:\n  token: 0042\n", 0o644)
	got, err := Load(Options{File: p, LookupEnv: noEnv, Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	// The short token's own warning (TestLoadWarnsOfAShortStatusToken) comes second.
	if len(got.Warnings) != 2 || !strings.Contains(got.Warnings[0], "readable by other users") {
		t.Errorf("warnings = %q, want the secrets warning and the short token's", got.Warnings)
	}
}

// A value that can never work is refused by `config check` even while its feature is off: the
// operator learns it from the check, not from the day the feature is turned on.
func TestValidateRefusesDormantAndUnsendableValues(t *testing.T) {
	for _, tc := range []struct {
		name, body, key string
		words           []string
	}{
		{"sound sync port out of range while off", "output:\n  sound_sync:\n    enabled: false\n    addr: \":99999\"\n", "output.sound_sync.addr", nil},
		{"sound sync address without port while off", "output:\n  sound_sync:\n    addr: \"zz\"\n", "output.sound_sync.addr", nil},
		{"status token with a control character", "status:\n  token: \"abc\\x01def\"\n", "status.token", []string{"printable", "character 4"}},
		{"status token with a space", "status:\n  token: \"two words\"\n", "status.token", []string{"spaces"}},
		{"status token with a non-ASCII letter", "status:\n  token: \"çava-123\"\n", "status.token", []string{"character 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFile(t, tc.body)
			wantKeyError(t, err, tc.key, tc.words...)
			if err != nil && strings.Contains(err.Error(), "def") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	for _, ok := range []string{
		"status:\n  token: \"s3cr3t-Token_with.symbols~!\"\n",
		"output:\n  sound_sync:\n    enabled: false\n",
	} {
		if _, err := loadFile(t, ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestWebRTCSettingsThatConnectNobodyAreRefused: TCP network types alone gather no ICE candidate
// (there is no ICE-TCP listener), and a UDP port range narrower than max_peers cannot give each
// musician's connection a port: both passed `config check`, and no musician ever connected.
func TestWebRTCSettingsThatConnectNobodyAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(c *Config)
		wantKey string
	}{
		{"tcp only", func(c *Config) { c.WebRTC.NetworkTypes = []string{"tcp4", "tcp6"} }, "webrtc.network_types"},
		{"one port for 8", func(c *Config) { c.WebRTC.UDPPortMin, c.WebRTC.UDPPortMax = 40000, 40000 }, "webrtc.udp_port_max"},
		{"7 ports for 8", func(c *Config) { c.WebRTC.UDPPortMin, c.WebRTC.UDPPortMax = 40000, 40006 }, "webrtc.udp_port_max"},
		{"tcp beside udp", func(c *Config) { c.WebRTC.NetworkTypes = []string{"udp4", "tcp4"} }, ""},
		{"8 ports for 8", func(c *Config) { c.WebRTC.UDPPortMin, c.WebRTC.UDPPortMax = 40000, 40007 }, ""},
		{"any port", func(c *Config) { c.WebRTC.UDPPortMin, c.WebRTC.UDPPortMax = 0, 0 }, ""},
		{"a max without a min", func(c *Config) { c.WebRTC.UDPPortMin, c.WebRTC.UDPPortMax = 0, 5 }, "webrtc.udp_port_min"},
	} {
		c := Default()
		c.Room.Code = "JAM234"
		tc.set(&c)
		err := c.Validate()
		switch {
		case tc.wantKey == "" && err != nil:
			t.Errorf("%s: %v, want it accepted", tc.name, err)
		case tc.wantKey != "" && (err == nil || !strings.Contains(err.Error(), tc.wantKey)):
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.wantKey)
		}
	}
}
