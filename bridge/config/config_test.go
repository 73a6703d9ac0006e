package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func write(t *testing.T, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

func noHome(string) string { return "" }

func TestDefaultsValidate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults are invalid: %v", err)
	}
}

func TestLoadNoFileGivesDefaults(t *testing.T) {
	got, err := Load(Options{LookupEnv: noEnv, Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if got.File != "" {
		t.Fatalf("File = %q", got.File)
	}
	if got.WebRTC.MaxPeers != 8 || got.Hub.Listen != ":4000" || !got.Hub.Metrics || got.WebRTC.ICEServers[0].URLs[0] != DefaultSTUN {
		t.Fatalf("defaults not applied: %+v", got.Config)
	}
}

func TestLoadFileEnvFlagsPrecedence(t *testing.T) {
	p := write(t, `
room:
  name: Main stage
  mode: broadcast
webrtc:
  max_peers: 4
  offer_delay: 500ms
  ice_servers:
    - urls: ["turn:turn.example.org:3478"]
      username: u
      credential: c
devices: ["ddp://10.0.0.5:4048?leds=300"]
`, 0o600)
	env := map[string]string{
		"LEDBRIDGE_WEBRTC_MAX_PEERS":                "6",
		"LEDBRIDGE_EFFECTS_BRIGHTNESS_CAP":          "0.5",
		"LEDBRIDGE_DEVICES":                         "wled://a,wled://b",
		"LEDBRIDGE_HUB_MAX_CONNECTIONS_PER_ADDRESS": "128",
		"LEDBRIDGE_SUPABASE_EVENT_QUEUE_BYTES":      "16777216",
		"LEDBRIDGE_HUB_METRICS":                     "false",
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	mode := fs.String("mode", "auto", "")
	if err := fs.Parse([]string{"--mode", "local"}); err != nil {
		t.Fatal(err)
	}
	_ = mode
	got, err := Load(Options{
		File:      p,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Flags:     map[string]*pflag.Flag{"room.mode": fs.Lookup("mode")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Room.Name != "Main stage" {
		t.Errorf("room.name from file = %q", got.Room.Name)
	}
	if got.Room.Mode != "local" {
		t.Errorf("flag did not override file: room.mode = %q", got.Room.Mode)
	}
	if got.WebRTC.MaxPeers != 6 {
		t.Errorf("env did not override file: max_peers = %d", got.WebRTC.MaxPeers)
	}
	if got.WebRTC.OfferDelay != 500*time.Millisecond {
		t.Errorf("offer_delay = %v", got.WebRTC.OfferDelay)
	}
	if got.Effects.BrightnessCap != 0.5 {
		t.Errorf("brightness = %v", got.Effects.BrightnessCap)
	}
	if len(got.Devices) != 2 || got.Devices[1] != "wled://b" {
		t.Errorf("devices from env = %q", got.Devices)
	}
	if len(got.WebRTC.ICEServers) != 1 || got.WebRTC.ICEServers[0].Username != "u" || got.WebRTC.ICEServers[0].URLs[0] != "turn:turn.example.org:3478" {
		t.Errorf("ice_servers = %+v", got.WebRTC.ICEServers)
	}
	if got.Supabase.EventQueueBytes != 16<<20 {
		t.Errorf("supabase.event_queue_bytes from env = %d", got.Supabase.EventQueueBytes)
	}
	if got.Hub.MaxConnectionsPerAddress != 128 {
		t.Errorf("hub.max_connections_per_address from env = %d", got.Hub.MaxConnectionsPerAddress)
	}
	if got.Hub.Metrics {
		t.Error("hub.metrics from env LEDBRIDGE_HUB_METRICS=false is still true")
	}
	if got.Status.Addr != ":8080" {
		t.Errorf("untouched key lost its default: status.addr = %q", got.Status.Addr)
	}
}

func TestLoadRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name, body, env, key, want string
	}{
		{"unknown key", "webrtc:\n  max_peer: 3\n", "", "webrtc.max_peer", `did you mean "max_peers"`},
		{"unknown section", "rooms:\n  code: JAM234\n", "", "rooms", "unknown key"},
		{"wrong type", "webrtc:\n  max_peers: lots\n", "", "webrtc.max_peers", "whole number"},
		{"wrong bool", "discovery:\n  enabled: 5\n", "", "discovery.enabled", "true or false"},
		{"bad duration", "discovery:\n  interval: soon\n", "", "discovery.interval", "duration"},
		{"out of range", "output:\n  max_milliamps: -5\n", "", "output.max_milliamps", "between 0 and 100000"},
		{"bad choice", "room:\n  mode: disco\n", "", "room.mode", "auto, local, broadcast"},
		{"list expected", "devices: wled://x\n", "", "devices", "a list"},
		{"bad env", "", "LEDBRIDGE_WEBRTC_MAX_PEERS=many", "webrtc.max_peers", `from LEDBRIDGE_WEBRTC_MAX_PEERS: want a whole number, got "many"`},
		{"bad env float", "", "LEDBRIDGE_EFFECTS_BRIGHTNESS_CAP=bright", "effects.brightness_cap", `from LEDBRIDGE_EFFECTS_BRIGHTNESS_CAP: want a number, got "bright"`},
		{"bad env bool", "", "LEDBRIDGE_DISCOVERY_ENABLED=yes please", "discovery.enabled", `from LEDBRIDGE_DISCOVERY_ENABLED: want true or false`},
		{"bad env duration", "", "LEDBRIDGE_WEBRTC_OFFER_DELAY=2", "webrtc.offer_delay", `from LEDBRIDGE_WEBRTC_OFFER_DELAY: want a duration`},
		{"hub port too large", "hub:\n  listen: \":99999\"\n", "", "hub.listen", "port from 0 to 65535"},
		{"hub port not a number", "hub:\n  listen: \":http\"\n", "", "hub.listen", "port from 0 to 65535"},
		{"hub host not an address", "hub:\n  listen: \"1.2.3.4.5:80\"\n", "", "hub.listen", "IP address or a host name"},
		{"hub host bad name", "hub:\n  listen: \"my_host:80\"\n", "", "hub.listen", "IP address or a host name"},
		{"hub host bad ipv6", "hub:\n  listen: \"[fe80::zz]:80\"\n", "", "hub.listen", "IPv6"},
		{"hub no port", "hub:\n  listen: \"0.0.0.0\"\n", "", "hub.listen", "HOST:PORT"},
		{"status port negative", "status:\n  addr: \":-1\"\n", "", "status.addr", "port from 0 to 65535"},
		{"status bad host", "status:\n  addr: \"300.1.1.1:8080\"\n", "", "status.addr", "IP address or a host name"},
		{"status from env", "", "LEDBRIDGE_STATUS_ADDR=:70000", "status.addr", "port from 0 to 65535"},
		{"allowed host with scheme", "status:\n  allowed_hosts: [\"http://lights.example\"]\n", "", "status.allowed_hosts[0]", "not a host name or *.suffix pattern"},
		{"allowed host with port", "status:\n  allowed_hosts: [\"ok.example\", \"lights.example:8080\"]\n", "", "status.allowed_hosts[1]", "without scheme or port"},
		{"allowed hosts not a list", "status:\n  allowed_hosts: lights.example\n", "", "status.allowed_hosts", "a list"},
		{"allowed host from env", "", "LEDBRIDGE_STATUS_ALLOWED_HOSTS=lights.example,*.", "status.allowed_hosts[1]", "host name"},
		{"hub frame over the wire limit", "hub:\n  max_frame_bytes: 2097152\n", "", "hub.max_frame_bytes", "between 4096 and 1048576"},
		{"hub metrics not a bool", "hub:\n  metrics: maybe\n", "", "hub.metrics", "true or false"},
		{"hub metrics from env not a bool", "", "LEDBRIDGE_HUB_METRICS=yes please", "hub.metrics", "LEDBRIDGE_HUB_METRICS"},
		{"hub per-address sockets zero", "", "LEDBRIDGE_HUB_MAX_CONNECTIONS_PER_ADDRESS=0", "hub.max_connections_per_address", "between 1 and 1024"},
		{"hub per-address sockets over the server's", "hub:\n  max_connections_per_address: 5000\n", "", "hub.max_connections_per_address", "between 1 and 1024"},
		{"hub rooms per address zero", "", "LEDBRIDGE_HUB_MAX_ROOMS_PER_ADDRESS=0", "hub.max_rooms_per_address", "between 1 and 10000"},
		{"hub rooms per address over the limit", "hub:\n  max_rooms_per_address: 10001\n", "", "hub.max_rooms_per_address", "between 1 and 10000"},
		{"hub room members per address zero", "", "LEDBRIDGE_HUB_MAX_CLIENTS_PER_ROOM_PER_ADDRESS=0", "hub.max_clients_per_room_per_address", "between 1 and 10000"},
		{"hub room members per address over the limit", "hub:\n  max_clients_per_room_per_address: 10001\n", "", "hub.max_clients_per_room_per_address", "between 1 and 10000"},
		{"hub HTTP connections under a browser's", "hub:\n  max_http_connections: 4\n", "", "hub.max_http_connections", "between 8 and 1024"},
		{"hub per-address HTTP connections zero", "", "LEDBRIDGE_HUB_MAX_HTTP_CONNECTIONS_PER_ADDRESS=0", "hub.max_http_connections_per_address", "between 8 and 1024"},
		{"status connections zero", "status:\n  max_connections: 0\n", "", "status.max_connections", "between 8 and 1024 (got 0)"},
		{"status connections under one page's", "status:\n  max_connections: 4\n", "", "status.max_connections", "between 8 and 1024 (got 4): the page holds its live stream open"},
		{"status connections over the ceiling", "", "LEDBRIDGE_STATUS_MAX_CONNECTIONS=5000", "status.max_connections", "between 8 and 1024 (got 5000)"},
		{"status connections not a number", "", "LEDBRIDGE_STATUS_MAX_CONNECTIONS=lots", "status.max_connections", `from LEDBRIDGE_STATUS_MAX_CONNECTIONS: want a whole number, got "lots"`},
		{"status per-client connections negative", "", "LEDBRIDGE_STATUS_MAX_CONNECTIONS_PER_CLIENT=-1", "status.max_connections_per_client", "between 8 and 1024 (got -1)"},
		{"status per-client connections one", "status:\n  max_connections_per_client: 1\n", "", "status.max_connections_per_client", "between 8 and 1024 (got 1): the page holds its live stream open while it fetches"},
		{"status per-client connections under one page's", "", "LEDBRIDGE_STATUS_MAX_CONNECTIONS_PER_CLIENT=7", "status.max_connections_per_client", "between 8 and 1024 (got 7)"},
		{"status streams zero", "status:\n  max_streams: 0\n", "", "status.max_streams", "between 1 and 1024 (got 0)"},
		{"status streams over the ceiling", "", "LEDBRIDGE_STATUS_MAX_STREAMS=2000", "status.max_streams", "between 1 and 1024 (got 2000)"},
		{"status streams not a number", "", "LEDBRIDGE_STATUS_MAX_STREAMS=many", "status.max_streams", `from LEDBRIDGE_STATUS_MAX_STREAMS: want a whole number, got "many"`},
		{"status per-client streams zero", "", "LEDBRIDGE_STATUS_MAX_STREAMS_PER_CLIENT=0", "status.max_streams_per_client", "between 1 and 1024 (got 0)"},
		{"status per-client streams a fraction", "status:\n  max_streams_per_client: 1.5\n", "", "status.max_streams_per_client", "whole number"},
		{"status per-client streams over the total", "status:\n  max_streams: 8\n  max_streams_per_client: 16\n", "", "status.max_streams_per_client", "must not be above status.max_streams (8)"},
		{"status streams from env under the per-client default", "", "LEDBRIDGE_STATUS_MAX_STREAMS=2", "status.max_streams_per_client", "must not be above status.max_streams (2)"},
		{"status per-client connections a fraction", "status:\n  max_connections_per_client: 2.5\n", "", "status.max_connections_per_client", "whole number"},
		{"status per-client over the total", "status:\n  max_connections: 16\n  max_connections_per_client: 32\n", "", "status.max_connections_per_client", "must not be above status.max_connections (16)"},
		{"status total from env under the per-client default", "", "LEDBRIDGE_STATUS_MAX_CONNECTIONS=8", "status.max_connections_per_client", "must not be above status.max_connections (8)"},
		{"event queue under a frame", "", "LEDBRIDGE_SUPABASE_EVENT_QUEUE_BYTES=65536", "supabase.event_queue_bytes", "between 1048576 and 1073741824"},
		{"hub byte rate under a frame", "hub:\n  max_frame_bytes: 266240\n  max_bytes_per_second: 100000\n", "", "hub.max_bytes_per_second", "at least hub.max_frame_bytes"},
		{"sound sync port 0", "output:\n  sound_sync:\n    enabled: true\n    addr: \"239.0.0.1:0\"\n", "", "output.sound_sync.addr", "port from 1 to 65535"},
		{"sound sync no host", "output:\n  sound_sync:\n    enabled: true\n    addr: \":11988\"\n", "", "output.sound_sync.addr", "host is required"},
		{"NaN from YAML", "effects:\n  brightness_cap: .nan\n", "", "effects.brightness_cap", "between 0 and 1 (got NaN)"},
		{"NaN from env", "", "LEDBRIDGE_ANALYSIS_TUNING_HZ=NaN", "analysis.tuning_hz", "got NaN"},
		{"analysis key named", "analysis:\n  window_tail: 0.9\n", "", "analysis.window_tail", "between 0.02 and 0.5"},
		{"analysis NaN named", "analysis:\n  onset_sensitivity: .nan\n", "", "analysis.onset_sensitivity", "got NaN"},
		{"env out of range", "", "LEDBRIDGE_WEBRTC_MAX_PEERS=0", "webrtc.max_peers", "between 1 and 64"},
		{"not yaml", "room: [\n", "", "", "config.yaml: not valid YAML"},
		{"supabase without key", "supabase:\n  url: https://x.supabase.co\n", "", "supabase.key", "required"},
		{"bad device scheme", "devices: [\"foo://x\"]\n", "", "devices[0]", "foo"},
		{"ddp without leds", "devices: [\"ddp://10.0.0.5\"]\n", "", "devices[0]", "?leds=N"},
		{"bad room code", "room:\n  code: ABC123\n", "", "room.code", "not allowed"},
		{"ice servers env not JSON", "", "LEDBRIDGE_WEBRTC_ICE_SERVERS=turn:x", "webrtc.ice_servers", "JSON list"},
		{"ice servers env wrong shape", "", `LEDBRIDGE_WEBRTC_ICE_SERVERS=[{"urls":"turn:x"}]`, "webrtc.ice_servers[0].urls", "a list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.body, 0o600)
			env := map[string]string{}
			if tc.env != "" {
				k, v, _ := strings.Cut(tc.env, "=")
				env[k] = v
			}
			_, err := Load(Options{File: p, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
			if err == nil {
				t.Fatal("accepted")
			}
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %T %v is not a *config.Error", err, err)
			}
			if ce.Key != tc.key {
				t.Errorf("key = %q, want %q (%v)", ce.Key, tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestMissingExplicitFile(t *testing.T) {
	_, err := Load(Options{File: filepath.Join(t.TempDir(), "nope.yaml"), LookupEnv: noEnv})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestXDGFallback(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ledbridge"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ledbridge", "config.yaml"), []byte("room:\n  name: XDG\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(Options{LookupEnv: noEnv, SystemFile: filepath.Join(dir, "absent.yaml"), Getenv: func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return dir
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Room.Name != "XDG" {
		t.Fatalf("room.name = %q from %q", got.Room.Name, got.File)
	}
}

func TestSecretsWarning(t *testing.T) {
	p := write(t, "supabase:\n  url: https://x.supabase.co\n  key: anon\n", 0o644)
	got, err := Load(Options{File: p, LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "readable by other users") {
		t.Fatalf("warnings = %q", got.Warnings)
	}
	if strings.Contains(got.Warnings[0], "anon") {
		t.Fatalf("warning leaks the secret: %q", got.Warnings[0])
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = Load(Options{File: p, LookupEnv: noEnv})
	if err != nil || len(got.Warnings) != 0 {
		t.Fatalf("0600 file: warnings %q, err %v", got.Warnings, err)
	}
}

func TestExampleConfigIsValidAndComplete(t *testing.T) {
	p := filepath.Join("..", "..", "configs", "ledbridge.example.yaml")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(Options{File: p, LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if len(got.Warnings) != 0 { // the example sets no effects key to a 0 that changed meaning
		t.Errorf("example config warns: %q", got.Warnings)
	}
	// Every key must be documented in the example (commented-out or set).
	for key := range flatten(Default()) {
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(raw), leaf+":") {
			t.Errorf("example config does not document %s", key)
		}
	}
}

func TestExampleConfigEqualsDefaults(t *testing.T) {
	got, err := Load(Options{File: filepath.Join("..", "..", "configs", "ledbridge.example.yaml"), LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := flatten(Default())
	have := flatten(got.Config)
	for k, v := range want {
		if fmt.Sprint(have[k]) != fmt.Sprint(v) {
			t.Errorf("example sets %s = %v, default is %v", k, have[k], v)
		}
	}
}

func TestICEServersFromEnvironment(t *testing.T) {
	env := map[string]string{"LEDBRIDGE_WEBRTC_ICE_SERVERS": `[{"urls":["turn:turn.example.org:3478"],"username":"venue","credential":"s3cret"}]`}
	got, err := Load(Options{File: write(t, "", 0o600), LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	s := got.WebRTC.ICEServers
	if len(s) != 1 || s[0].URLs[0] != "turn:turn.example.org:3478" || s[0].Username != "venue" || s[0].Credential != "s3cret" {
		t.Fatalf("ice servers = %+v", s)
	}
	if r := Redacted(got.Config); r.WebRTC.ICEServers[0].Credential != "(set)" || got.WebRTC.ICEServers[0].Credential != "s3cret" {
		t.Fatalf("redaction wrong or aliased: %+v", r.WebRTC.ICEServers)
	}
}

// TestListenAddressesAccepted keeps the addresses the daemon and its tests use working: an empty
// host, port 0 for a kernel-chosen port, "" to turn the status page off, names and IPv6.
func TestListenAddressesAccepted(t *testing.T) {
	for _, a := range []string{":4000", "127.0.0.1:0", ":0", "0.0.0.0:65535", "[::]:4000", "[::1]:0", "[fe80::1%eth0]:4000", "localhost:4000", "pi.local:8080", "venue-pi.example.org.:80", "10.0.0.5:1"} {
		for _, key := range []string{"hub.listen", "status.addr"} {
			c := Default()
			c.Hub.Listen, c.Status.Addr = ":4000", ":8080"
			if key == "hub.listen" {
				c.Hub.Listen = a
			} else {
				c.Status.Addr = a
			}
			if err := c.Validate(); err != nil {
				t.Errorf("%s %q refused: %v", key, a, err)
			}
		}
	}
	c := Default()
	c.Status.Addr = ""
	if err := c.Validate(); err != nil {
		t.Errorf("status.addr \"\" (off) refused: %v", err)
	}
	c = Default()
	c.Hub.Listen = ""
	if err := c.Validate(); err == nil {
		t.Error("hub.listen \"\" accepted; the room server needs an address")
	}
	c = Default()
	c.Output.SoundSync.Enabled, c.Output.SoundSync.Addr = true, "239.0.0.1:11988"
	if err := c.Validate(); err != nil {
		t.Errorf("default sound sync address refused: %v", err)
	}
}

func TestStatusAllowedHosts(t *testing.T) {
	got, err := Load(Options{File: write(t, "status:\n  allowed_hosts: [\"lights.venue.example\", \"*.stage.example\"]\n", 0o600), LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if h := got.Status.AllowedHosts; len(h) != 2 || h[0] != "lights.venue.example" || h[1] != "*.stage.example" {
		t.Errorf("status.allowed_hosts from file = %q", h)
	}
	env := map[string]string{"LEDBRIDGE_STATUS_ALLOWED_HOSTS": "pi.venue.example,*.venue.example"}
	got, err = Load(Options{File: write(t, "", 0o600), LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	if h := got.Status.AllowedHosts; len(h) != 2 || h[0] != "pi.venue.example" || h[1] != "*.venue.example" {
		t.Errorf("status.allowed_hosts from env = %q", h)
	}
	if d := Default().Status.AllowedHosts; len(d) != 0 {
		t.Errorf("default status.allowed_hosts = %q, want empty", d)
	}
}

// TestStatusCaps: the status page's connection caps (status.max_connections,
// status.max_connections_per_client) and stream caps (status.max_streams,
// status.max_streams_per_client) default to status.New's, and the file and their
// LEDBRIDGE_STATUS_* variables set them (the variable winning); a per-client cap equal to the
// total is allowed (and one stream per client); a misspelled variable gets a warning naming the
// key, and ChangedKeys names each, so that a reload reports them as needing a restart.
func TestStatusCaps(t *testing.T) {
	for _, tc := range []struct {
		total, perClient     string // the keys
		get                  func(Config) (int, int)
		defaults, file, envs [2]int
		misspelled           string
	}{
		{"max_connections", "max_connections_per_client",
			func(c Config) (int, int) { return c.Status.MaxConnections, c.Status.MaxConnectionsPerClient },
			[2]int{256, 32}, [2]int{512, 8}, [2]int{64, 64}, "MAX_CONNECTION"},
		{"max_streams", "max_streams_per_client",
			func(c Config) (int, int) { return c.Status.MaxStreams, c.Status.MaxStreamsPerClient },
			[2]int{32, 4}, [2]int{64, 1}, [2]int{40, 40}, "MAX_STREAM"},
	} {
		t.Run(tc.total, func(t *testing.T) {
			check := func(what string, c Config, want [2]int) {
				t.Helper()
				if a, b := tc.get(c); a != want[0] || b != want[1] {
					t.Errorf("%s: status.%s %d, status.%s %d; want %d, %d", what, tc.total, a, tc.perClient, b, want[0], want[1])
				}
			}
			got, err := Load(Options{LookupEnv: noEnv, Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
			if err != nil {
				t.Fatal(err)
			}
			check("defaults", got.Config, tc.defaults)

			file := write(t, fmt.Sprintf("status:\n  %s: %d\n  %s: %d\n", tc.total, tc.file[0], tc.perClient, tc.file[1]), 0o600)
			got, err = Load(Options{File: file, LookupEnv: noEnv})
			if err != nil {
				t.Fatal(err)
			}
			check("from the file", got.Config, tc.file)

			variable := func(key string) string { return "LEDBRIDGE_STATUS_" + strings.ToUpper(key) }
			env := []string{fmt.Sprintf("%s=%d", variable(tc.total), tc.envs[0]), fmt.Sprintf("%s=%d", variable(tc.perClient), tc.envs[1]),
				"LEDBRIDGE_STATUS_" + tc.misspelled + "=3"}
			lookup := func(k string) (string, bool) {
				for _, kv := range env {
					if name, val, _ := strings.Cut(kv, "="); name == k {
						return val, true
					}
				}
				return "", false
			}
			got, err = Load(Options{File: file, LookupEnv: lookup, Environ: func() []string { return env }})
			if err != nil {
				t.Fatal(err)
			}
			check("the environment over the file", got.Config, tc.envs)
			if wantHint := fmt.Sprintf("did you mean %s (status.%s)?", variable(tc.total), tc.total); len(got.Warnings) != 1 ||
				!strings.Contains(got.Warnings[0], "LEDBRIDGE_STATUS_"+tc.misspelled+" ") || !strings.Contains(got.Warnings[0], wantHint) {
				t.Errorf("warnings = %q, want one for LEDBRIDGE_STATUS_%s: %q", got.Warnings, tc.misspelled, wantHint)
			}

			for _, key := range []string{"status." + tc.total, "status." + tc.perClient} {
				if !slices.Contains(ChangedKeys(Default(), got.Config), key) {
					t.Errorf("ChangedKeys misses %s, so a reload would not report it as needing a restart", key)
				}
			}
		})
	}
}

// TestHubPerAddressCapsMayExceedTotals: a config that lowers a hub total under its per-address
// default (max_rooms: 2 with max_rooms_per_address' 4; max_http_connections: 16 with the
// per-address 32) still loads, as it did before the per-address keys existed: a per-address cap at
// or above its total simply means no per-address bound.
func TestHubPerAddressCapsMayExceedTotals(t *testing.T) {
	p := write(t, "hub:\n  max_rooms: 2\n  max_http_connections: 16\n", 0o600)
	got, err := Load(Options{File: p, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if got.Hub.MaxRooms != 2 || got.Hub.MaxRoomsPerAddress != 4 || got.Hub.MaxHTTPConnections != 16 || got.Hub.MaxHTTPConnectionsPerAddress != 32 {
		t.Errorf("hub caps = %+v", got.Hub)
	}
}

// TestHubRoomMembersPerAddress: one client may hold 8 members of a room by default, so one LAN
// host cannot fill max_clients_per_room; it may be set up to the room's size and beyond (no
// per-address bound), also under a lowered max_clients_per_room.
func TestHubRoomMembersPerAddress(t *testing.T) {
	if got := Default().Hub.MaxClientsPerRoomPerAddress; got != 8 {
		t.Errorf("default hub.max_clients_per_room_per_address = %d, want 8", got)
	}
	p := write(t, "hub:\n  max_clients_per_room: 4\n  max_clients_per_room_per_address: 64\n", 0o600)
	got, err := Load(Options{File: p, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if got.Hub.MaxClientsPerRoomPerAddress != 64 {
		t.Errorf("hub.max_clients_per_room_per_address = %d, want 64", got.Hub.MaxClientsPerRoomPerAddress)
	}
}
