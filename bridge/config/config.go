// Package config is ledbridge's configuration: the schema with its defaults, loading from a YAML
// file, LEDBRIDGE_<SECTION>_<KEY> environment variables and command-line flags (through viper), and
// validation that names the offending key. A LEDBRIDGE_* variable that is no key (a misspelling)
// is reported in Loaded.Warnings with the closest key, unless it is one read elsewhere (OtherEnv).
//
// The schema is the Config struct below; configs/ledbridge.example.yaml documents every key.
package config

import (
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/effect"
)

// Config is the whole configuration. Key names are the mapstructure tags, joined with dots
// ("webrtc.max_peers"); the environment variable for a key is LEDBRIDGE_ + the key upper-cased with
// dots replaced by underscores (LEDBRIDGE_WEBRTC_MAX_PEERS). A secret's field is tagged
// secret:"value" (a key, token, JWT or credential) or secret:"url-password" (a URL whose password
// is one): Redacted and the warning about a file readable by others both go by the tag.
type Config struct {
	Room      Room            `mapstructure:"room"`
	Supabase  Supabase        `mapstructure:"supabase"`
	Hub       Hub             `mapstructure:"hub"`
	WebRTC    WebRTC          `mapstructure:"webrtc"`
	Devices   []string        `mapstructure:"devices"`
	Discovery Discovery       `mapstructure:"discovery"`
	Output    Output          `mapstructure:"output"`
	Analysis  Analysis        `mapstructure:"analysis"`
	Effects   effect.Settings `mapstructure:"effects"`
	Strips    []Strip         `mapstructure:"strips"`
	Status    Status          `mapstructure:"status"`
	Log       Log             `mapstructure:"log"`
}

// Room is what ledbridge joins and how it appears there.
type Room struct {
	Code string `mapstructure:"code"` // the 6-character room code; `join CODE` overrides it
	Name string `mapstructure:"name"` // the name shown in Presence
	Mode string `mapstructure:"mode"` // auto, local or broadcast (README, "Modes")
}

// Supabase selects a Supabase Realtime deployment. With URL empty, ledbridge hosts the room on its
// embedded LAN server instead.
type Supabase struct {
	URL         string `mapstructure:"url" secret:"url-password"`   // base URL, e.g. https://<ref>.supabase.co
	Key         string `mapstructure:"key" secret:"value"`          // the project's anon (publishable) key
	AccessToken string `mapstructure:"access_token" secret:"value"` // a user JWT for private channels
	Private     bool   `mapstructure:"private"`                     // join as a private channel (RLS on realtime.messages)
	Vsn         string `mapstructure:"vsn"`                         // Realtime serializer: 2.0.0 or 1.0.0
	// EventQueueBytes bounds the bytes of received broadcasts and Presence changes waiting for
	// the session (realtime.Config.EventQueueBytes), on Supabase and on the LAN server alike:
	// past it the oldest are dropped, so a stalled session cannot pin 256 frames of a megabyte.
	EventQueueBytes int `mapstructure:"event_queue_bytes"`
}

// Hub is the embedded LAN room server.
type Hub struct {
	Listen               string `mapstructure:"listen"`                  // address for `join` without Supabase, and the default for `hub`
	Secret               string `mapstructure:"secret" secret:"value"`   // if set, clients must present it as their apikey
	MaxClientsPerRoom    int    `mapstructure:"max_clients_per_room"`    //
	MaxMessagesPerSecond int    `mapstructure:"max_messages_per_second"` // per client, averaged (a burst allowance)
	MaxRooms             int    `mapstructure:"max_rooms"`               //
	// MaxRoomsPerAddress bounds the rooms one client has started that exist at once, so one LAN
	// host cannot hold all max_rooms (hub.Config). Behind a reverse proxy: raise it.
	MaxRoomsPerAddress int `mapstructure:"max_rooms_per_address"`
	// MaxClientsPerRoomPerAddress bounds the members one client has in one room, so one LAN host
	// cannot fill max_clients_per_room and keep the musicians out (hub.Config). Behind a reverse
	// proxy: raise it.
	MaxClientsPerRoomPerAddress int      `mapstructure:"max_clients_per_room_per_address"`
	MaxFrameBytes               int      `mapstructure:"max_frame_bytes"`      // largest frame a client may send
	MaxBytesPerSecond           int      `mapstructure:"max_bytes_per_second"` // per client, averaged (a burst allowance), at least max_frame_bytes
	AllowedOrigins              []string `mapstructure:"allowed_origins"`      // browser Origin host patterns; empty allows any
	// MaxConnectionsPerAddress bounds the sockets one IP address may hold open, so one LAN host
	// cannot take all of the server's 1024 and lock the musicians out (hub.Config has the reasoning
	// behind the default). Behind a reverse proxy every client shares its address: raise it there.
	MaxConnectionsPerAddress int `mapstructure:"max_connections_per_address"`
	// MaxHTTPConnections and MaxHTTPConnectionsPerAddress bound the plain HTTP connections
	// (REST broadcasts, metrics scrapes, upgrade requests until their WebSocket opens) the server
	// holds, in all and from one client; one past either takes the place of the oldest idle one
	// (the client's own, past the per-client cap) or is closed at once (hub.Config).
	MaxHTTPConnections           int `mapstructure:"max_http_connections"`
	MaxHTTPConnectionsPerAddress int `mapstructure:"max_http_connections_per_address"`
	// Metrics makes `ledbridge hub` serve GET /metrics (the ledbridge_hub_* series and the Go
	// runtime's) on Listen, next to the WebSocket. Under `join` the status page serves the hub's
	// series instead, and the embedded hub serves no /metrics whatever this says.
	Metrics bool `mapstructure:"metrics"`
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	URLs       []string `mapstructure:"urls"`
	Username   string   `mapstructure:"username"`
	Credential string   `mapstructure:"credential" secret:"value"`
}

// WebRTC configures the receive-only peer connections.
type WebRTC struct {
	ICEServers   []ICEServer   `mapstructure:"ice_servers"`
	NetworkTypes []string      `mapstructure:"network_types"` // udp4, udp6, tcp4, tcp6
	Interfaces   []string      `mapstructure:"interfaces"`    // only gather candidates on these; empty means all
	MDNS         string        `mapstructure:"mdns"`          // disabled, query or gather
	UDPPortMin   int           `mapstructure:"udp_port_min"`  // 0 with udp_port_max 0: any port
	UDPPortMax   int           `mapstructure:"udp_port_max"`
	MaxPeers     int           `mapstructure:"max_peers"`   // musicians at once
	OfferDelay   time.Duration `mapstructure:"offer_delay"` // wait this long for a musician's offer before offering
	// MaxSignalsPerSecond bounds the webrtc-signals the bridge sends in any one second, all
	// musicians together: the LAN hub cuts off a client that averages more than 100 a second,
	// and hosted Realtime counts every delivery against the project's own limit (see
	// peer.DefaultMaxSignalsPerSecond).
	MaxSignalsPerSecond int `mapstructure:"max_signals_per_second"`
}

// Discovery finds WLED controllers on the LAN.
type Discovery struct {
	Enabled    bool          `mapstructure:"enabled"`
	Interval   time.Duration `mapstructure:"interval"`
	Interfaces []string      `mapstructure:"interfaces"`
}

// Output configures how frames are sent to devices.
type Output struct {
	Protocol        string        `mapstructure:"protocol"`         // auto, ddp, dnrgb, drgb, drgbw, warls
	FPS             int           `mapstructure:"fps"`              // the frame loop's rate
	RealtimeTimeout time.Duration `mapstructure:"realtime_timeout"` // WLED UDP realtime timeout byte
	MaxMilliamps    int           `mapstructure:"max_milliamps"`    // per-strip current limit (WLED ABL estimate); 0 = off
	SoundSync       SoundSync     `mapstructure:"sound_sync"`
}

// SoundSync is WLED's audio-reactive sound sync (v2) output.
type SoundSync struct {
	Enabled bool   `mapstructure:"enabled"`
	Addr    string `mapstructure:"addr"`
}

// Strip gives one device its own look (an entry of strips:): the global effects and
// output.max_milliamps hold for every key it leaves out, and for every device no entry matches.
//
// Device picks the device by what an operator sees, compared without regard to case with each of
// its names: the name WLED reports (the status page's and `ledbridge discover`'s name), its IP
// address, its mDNS or configured host name, and, for a configured device, its line in devices:
// (or --device) as written (a device URL names a discovered device by its host). Brightness and MaxMilliamps are pointers because leaving them out
// (full brightness, the global current limit) differs from 0 (dark, no limit).
type Strip struct {
	Device       string   `mapstructure:"device" yaml:"device"`
	Effect       string   `mapstructure:"effect" yaml:"effect,omitempty"`         // notes | pulse | spectrum; "" = effects.effect
	ColorMode    string   `mapstructure:"color_mode" yaml:"color_mode,omitempty"` // note | musician | spectrum; "" = effects.color_mode
	Brightness   *float64 `mapstructure:"brightness" yaml:"brightness,omitempty"` // 0–1 below effects.brightness_cap; unset = 1
	MaxMilliamps *int     `mapstructure:"max_milliamps" yaml:"max_milliamps,omitempty"`
	Reverse      bool     `mapstructure:"reverse" yaml:"reverse,omitempty"` // the effect starts at the last LED
	Mirror       bool     `mapstructure:"mirror" yaml:"mirror,omitempty"`   // rendered on half the strip and reflected from the centre
}

// Analysis tunes the note detector (analysis.Config), field for field (the same names, so that
// an analyser's FieldError names its key here). A zero value means the analyser's built-in
// default, which needs no tuning; Default spells out the first three, and the analyser's
// Validate holds the ranges (Config.Validate names the key of a value it refuses).
type Analysis struct {
	TuningHz         float64 `mapstructure:"tuning_hz"` // the frequency of A4
	MinHz            float64 `mapstructure:"min_hz"`
	MaxHz            float64 `mapstructure:"max_hz"`
	ShortFFT         int     `mapstructure:"short_fft"`         // samples at 48 kHz: onsets, bands
	MidFFT           int     `mapstructure:"mid_fft"`           // notes from C3 up
	LongFFT          int     `mapstructure:"long_fft"`          // bass notes
	WindowTail       float64 `mapstructure:"window_tail"`       //
	PeakProminence   float64 `mapstructure:"peak_prominence"`   // how far a tonal peak rises above its neighbourhood
	MinNoteDB        float64 `mapstructure:"min_note_db"`       // quietest note on a feed with hiss, hum or babble, dBFS
	QuietMinNoteDB   float64 `mapstructure:"quiet_min_note_db"` // quietest note on a quiet feed, dBFS
	MinNoteRelDB     float64 `mapstructure:"min_note_rel_db"`   // quietest note relative to recent loudness, dB
	RelThreshold     float64 `mapstructure:"rel_threshold"`     // weakest note relative to the strongest, 0–1
	MaxPolyphony     int     `mapstructure:"max_polyphony"`     // notes per source per frame
	Harmonics        int     `mapstructure:"harmonics"`         // partials matched per candidate pitch
	ConfirmFrames    int     `mapstructure:"confirm_frames"`    // frames a pitch must persist before it is reported
	HoldFrames       int     `mapstructure:"hold_frames"`       // frames a note stays after it was last detected
	OnsetSensitivity float64 `mapstructure:"onset_sensitivity"` // larger reports fewer onsets
	ReattackRatio    float64 `mapstructure:"reattack_ratio"`    // amplitude rise that re-attacks a held note
	RuleNotes        bool    `mapstructure:"rule_notes"`        // skip the note net: cheaper, less accurate
}

// Analyzer returns the analyser's configuration.
func (a Analysis) Analyzer() analysis.Config {
	return analysis.Config{
		TuningHz: a.TuningHz, MinHz: a.MinHz, MaxHz: a.MaxHz,
		ShortFFT: a.ShortFFT, MidFFT: a.MidFFT, LongFFT: a.LongFFT, WindowTail: a.WindowTail,
		PeakProminence: a.PeakProminence, MinNoteDB: a.MinNoteDB, QuietMinNoteDB: a.QuietMinNoteDB,
		MinNoteRelDB: a.MinNoteRelDB,
		RelThreshold: a.RelThreshold, MaxPolyphony: a.MaxPolyphony, Harmonics: a.Harmonics,
		ConfirmFrames: a.ConfirmFrames, HoldFrames: a.HoldFrames,
		OnsetSensitivity: a.OnsetSensitivity, ReattackRatio: a.ReattackRatio, RuleNotes: a.RuleNotes,
	}
}

// Status is the LAN status page.
type Status struct {
	Addr  string `mapstructure:"addr"`                 // empty disables the page
	Token string `mapstructure:"token" secret:"value"` // enables controls; sent as a header on POST
	// AllowedHosts are host names (or "*.suffix" patterns) the page answers to besides IP
	// addresses, localhost, single-label names and .local/.lan/.home.arpa/.internal names;
	// other Host headers get 421 (a guard against DNS rebinding).
	AllowedHosts []string `mapstructure:"allowed_hosts"`
	// MaxConnections caps the connections the page holds open in all, MaxConnectionsPerClient
	// those from one client (clientaddr.Key: an IPv4 address, an IPv6 one on the machine's own
	// links, an IPv6 /64 beyond them), so that one LAN host cannot hold them all (status.Config
	// has the reasoning behind the defaults); a connection past either takes the place of the
	// oldest one without a request in progress (the client's own, past the per-client cap), or is
	// closed as soon as it is accepted. Behind a reverse proxy every viewer has the proxy's
	// address: raise the per-client cap there. Read when the page starts: a reload cannot change them.
	MaxConnections          int `mapstructure:"max_connections"`
	MaxConnectionsPerClient int `mapstructure:"max_connections_per_client"`
	// MaxStreams caps the live viewers (GET /api/events streams, one per open page) in all,
	// MaxStreamsPerClient those from one client; a stream past MaxStreams gets 503, past
	// MaxStreamsPerClient 429. Behind a reverse
	// proxy every viewer has the proxy's address: raise the per-client cap there (with
	// MaxConnectionsPerClient, since each stream holds a connection). Read when the page starts.
	MaxStreams          int `mapstructure:"max_streams"`
	MaxStreamsPerClient int `mapstructure:"max_streams_per_client"`
}

// Log configures log/slog output on stderr.
type Log struct {
	Format string `mapstructure:"format"` // text or json
	Level  string `mapstructure:"level"`  // debug, info, warn, error
}

// DefaultSTUN is the STUN server used when none is configured.
const DefaultSTUN = "stun:stun.l.google.com:19302"

// Default returns the configuration every key falls back to.
func Default() Config {
	return Config{
		Room:     Room{Name: "LED bridge", Mode: "auto"},
		Supabase: Supabase{Vsn: "2.0.0", EventQueueBytes: 8 << 20}, // realtime.DefaultEventQueueBytes
		Hub: Hub{
			Listen:                      ":4000",
			MaxClientsPerRoom:           64,
			MaxMessagesPerSecond:        100,
			MaxRooms:                    16,
			MaxRoomsPerAddress:          4,         // hub.DefaultMaxRoomsPerAddress
			MaxClientsPerRoomPerAddress: 8,         // a few tabs, a few phones behind one NAT
			MaxFrameBytes:               260 << 10, // the largest led-update (256 KiB of payload) and its framing
			MaxBytesPerSecond:           1 << 20,
			// hub.DefaultMaxConnectionsPerAddress
			MaxConnectionsPerAddress: 32,
			// hub.DefaultMaxHTTPConnections and DefaultMaxHTTPConnectionsPerAddress
			MaxHTTPConnections:           256,
			MaxHTTPConnectionsPerAddress: 32,
			Metrics:                      true,
		},
		WebRTC: WebRTC{
			ICEServers:          []ICEServer{{URLs: []string{DefaultSTUN}}},
			NetworkTypes:        []string{"udp4"},
			MDNS:                "disabled",
			MaxPeers:            8,
			OfferDelay:          2 * time.Second,
			MaxSignalsPerSecond: 50,
		},
		Devices:   []string{},
		Discovery: Discovery{Enabled: true, Interval: 30 * time.Second},
		Output:    Output{Protocol: "auto", FPS: 60, RealtimeTimeout: 2 * time.Second, SoundSync: SoundSync{Addr: "239.0.0.1:11988"}},
		Analysis:  Analysis{TuningHz: 440, MinHz: 40, MaxHz: 4200},
		Effects:   effect.DefaultSettings(),
		Strips:    []Strip{},
		Status: Status{
			Addr: ":8080", AllowedHosts: []string{},
			// What status.New takes for zero caps (it exports no constants for them).
			MaxConnections: 256, MaxConnectionsPerClient: 32,
			MaxStreams: 32, MaxStreamsPerClient: 4,
		},
		Log: Log{Format: "text", Level: "info"},
	}
}
