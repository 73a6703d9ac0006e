package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v4"
	"github.com/spf13/pflag"
	"golang.org/x/net/http/httpguts"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/wled"
)

// Validate checks ranges and choices; the first problem is returned as an *Error. Each section
// has its own validator; they run in the order of the file and collect into one problems list.
func (c *Config) Validate() error { return c.validate(nil) }

// validate is Validate for a command whose ledsFlag (nil for none) gives every device's LED count.
func (c *Config) validate(ledsFlag *pflag.Flag) error {
	var p problems
	validateDiscovery := func(p *problems) { c.validateDiscovery(p, ledsFlag) }
	for _, validate := range []func(*problems){
		c.validateRoom, c.validateSupabase, c.validateHub, c.validateWebRTC, validateDiscovery,
		c.validateOutput, c.validateAnalysis, c.validateEffects, c.validateStrips, c.validateStatus, c.validateLog,
	} {
		validate(&p)
	}
	if len(p) > 0 {
		return &Error{Key: p[0].key, Problem: p[0].text}
	}
	return nil
}

// problem is one key's problem, as Error.Problem words it.
type problem struct{ key, text string }

// problems collects what the section validators find, in the order they check.
type problems []problem

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, problem{key, fmt.Sprintf(format, args...)})
}

func (p *problems) oneOf(key, val string, choices ...string) {
	if !slices.Contains(choices, val) {
		p.add(key, "must be one of %s (got %q)", strings.Join(choices, ", "), val)
	}
}

func (p *problems) intRange(key string, val, lo, hi int) {
	if val < lo || val > hi {
		p.add(key, "must be between %d and %d (got %d)", lo, hi, val)
	}
}

func (p *problems) floatRange(key string, val, lo, hi float64) {
	if !(val >= lo && val <= hi) { // written so that NaN (YAML .nan, LEDBRIDGE_…=NaN) fails too
		p.add(key, "must be between %g and %g (got %g)", lo, hi, val)
	}
}

// floatRange32 is floatRange for a float32 key, compared as float32: widened to float64, a
// bound a float32 cannot hold exactly (0.999 is 0.9990000128746033) would refuse the value
// written as the bound itself.
func (p *problems) floatRange32(key string, val, lo, hi float32) {
	if !(val >= lo && val <= hi) {
		p.add(key, "must be between %g and %g (got %g)", lo, hi, val)
	}
}

func (p *problems) addr(key, val string, rule addrRule) {
	if val == "" && rule == listenOrOff {
		return
	}
	if problem := checkAddr(val, rule); problem != "" {
		p.add(key, "%s (got %q)", problem, val)
	}
}

func (c *Config) validateRoom(p *problems) {
	if strings.TrimSpace(c.Room.Name) == "" || len(c.Room.Name) > 64 {
		p.add("room.name", "must be 1 to 64 characters")
	}
	p.oneOf("room.mode", c.Room.Mode, "auto", "local", "broadcast")
	if c.Room.Code != "" {
		if _, err := room.ParseCode(c.Room.Code); err != nil {
			p.add("room.code", "%v", err)
		}
	}
}

func (c *Config) validateSupabase(p *problems) {
	s := c.Supabase
	if s.URL != "" {
		if problem := checkRealtimeURL(s.URL); problem != "" {
			p.add("supabase.url", "%s (got %q)", problem, redactURLPassword(s.URL))
		}
	}
	if s.URL != "" && s.Key == "" {
		p.add("supabase.key", "is required with supabase.url (the project's anon key)")
	}
	p.oneOf("supabase.vsn", s.Vsn, "2.0.0", "1.0.0")
	// At least one frame (realtime.MaxFrameSize, 1 MiB), so that any one event fits.
	p.intRange("supabase.event_queue_bytes", s.EventQueueBytes, 1<<20, 1<<30)
	if s.Private && s.AccessToken == "" {
		p.add("supabase.access_token", "is required for a private channel (a user JWT)")
	}
}

func (c *Config) validateHub(p *problems) {
	h := c.Hub
	p.addr("hub.listen", h.Listen, listen)
	p.intRange("hub.max_clients_per_room", h.MaxClientsPerRoom, 2, 10000)
	p.intRange("hub.max_messages_per_second", h.MaxMessagesPerSecond, 1, 100000)
	p.intRange("hub.max_rooms", h.MaxRooms, 1, 10000)
	// hub.max_rooms or more means no per-address bound (not an error: a config that lowers
	// max_rooms under the default 4 must still load).
	p.intRange("hub.max_rooms_per_address", h.MaxRoomsPerAddress, 1, 10000)
	// As above: max_clients_per_room or more means no per-address bound.
	p.intRange("hub.max_clients_per_room_per_address", h.MaxClientsPerRoomPerAddress, 1, 10000)
	p.intRange("hub.max_frame_bytes", h.MaxFrameBytes, 4096, 1<<20) // the wire decoders' own limit
	p.intRange("hub.max_bytes_per_second", h.MaxBytesPerSecond, 4096, 1<<30)
	// 1024 is the server's own socket limit (hub.DefaultMaxConnections): no per-address bound.
	p.intRange("hub.max_connections_per_address", h.MaxConnectionsPerAddress, 1, 1024)
	// As the status page's caps (status.max_connections): one browser opens up to 6 connections
	// to a host, so fewer than 8 could refuse a page's upgrade while it fetches; 1024 is far
	// beyond any LAN's REST traffic.
	p.intRange("hub.max_http_connections", h.MaxHTTPConnections, 8, 1024)
	// hub.max_http_connections or more means no per-address bound, as above.
	p.intRange("hub.max_http_connections_per_address", h.MaxHTTPConnectionsPerAddress, 8, 1024)
	for i, o := range h.AllowedOrigins {
		if err := hub.CheckOriginPattern(o); err != nil {
			p.add(fmt.Sprintf("hub.allowed_origins[%d]", i), "%v; want a host such as jam.example.com or a pattern such as *.example.com, optionally with a :port or a scheme (https://jam.example.com)", err)
		}
	}
	if h.MaxBytesPerSecond < h.MaxFrameBytes {
		p.add("hub.max_bytes_per_second", "must be at least hub.max_frame_bytes (%d): one largest frame must fit in a second's budget", h.MaxFrameBytes)
	}
}

func (c *Config) validateWebRTC(p *problems) {
	w := c.WebRTC
	for i, s := range w.ICEServers {
		if len(s.URLs) == 0 {
			p.add(fmt.Sprintf("webrtc.ice_servers[%d].urls", i), "must list at least one stun:, turn: or turns: URL")
		}
		for j, u := range s.URLs {
			if problem := checkICEURL(u, s); problem != "" {
				p.add(fmt.Sprintf("webrtc.ice_servers[%d].urls[%d]", i, j), "%s (got %q)", problem, u)
			}
		}
	}
	if len(w.NetworkTypes) == 0 {
		p.add("webrtc.network_types", "must list at least one of udp4, udp6, tcp4, tcp6")
	}
	udp := false
	for _, nt := range w.NetworkTypes {
		p.oneOf("webrtc.network_types", nt, "udp4", "udp6", "tcp4", "tcp6")
		udp = udp || nt == "udp4" || nt == "udp6"
	}
	if len(w.NetworkTypes) > 0 && !udp {
		p.add("webrtc.network_types", "must include udp4 or udp6: ledbridge has no ICE-TCP listener, so TCP types alone gather no candidate")
	}
	p.oneOf("webrtc.mdns", w.MDNS, "disabled", "query", "gather")
	p.intRange("webrtc.udp_port_min", w.UDPPortMin, 0, 65535)
	p.intRange("webrtc.udp_port_max", w.UDPPortMax, 0, 65535)
	if w.UDPPortMax < w.UDPPortMin {
		p.add("webrtc.udp_port_max", "must not be below webrtc.udp_port_min (%d)", w.UDPPortMin)
	}
	p.intRange("webrtc.max_peers", w.MaxPeers, 1, 64)
	// Each musician's connection binds at least one port of the range (one per address ICE
	// gathers on, plus one per STUN server: the peer package warns at start when it needs more).
	if w.UDPPortMin == 0 && w.UDPPortMax != 0 {
		// The peer package applies a range only from a minimum: this max would be ignored.
		p.add("webrtc.udp_port_min", "must be set with webrtc.udp_port_max (%d): 0 turns the port range off", w.UDPPortMax)
	} else if ports := w.UDPPortMax - w.UDPPortMin + 1; w.UDPPortMax != 0 && ports > 0 && ports < w.MaxPeers {
		p.add("webrtc.udp_port_max", "webrtc.udp_port_min..udp_port_max holds %d ports, fewer than webrtc.max_peers (%d): each musician's connection binds at least one", ports, w.MaxPeers)
	}
	p.intRange("webrtc.max_signals_per_second", w.MaxSignalsPerSecond, 10, 90)
	if w.OfferDelay < 0 || w.OfferDelay > time.Minute {
		p.add("webrtc.offer_delay", "must be between 0s and 1m (got %v)", w.OfferDelay)
	}
}

// validateDiscovery checks the configured devices and the discovery of more. A line that
// forces a protocol needs its LED count, from ?leds=N or from ledsFlag when that is set to one.
func (c *Config) validateDiscovery(p *problems, ledsFlag *pflag.Flag) {
	forced, _ := wled.ParseProtocol(c.Output.Protocol) // ProtocolUnknown when bad: validateOutput reports it
	countGiven, noCount := false, "needs ?leds=N: no JSON API is asked for this protocol"
	if ledsFlag != nil {
		n, err := strconv.Atoi(ledsFlag.Value.String())
		countGiven = ledsFlag.Changed && err == nil && n > 0
		noCount = fmt.Sprintf("needs ?leds=N or --%s: no JSON API is asked for this protocol", ledsFlag.Name)
	}
	for i, d := range c.Devices {
		t, err := wled.ParseTarget(d)
		switch {
		case strings.TrimSpace(d) == "":
			p.add(fmt.Sprintf("devices[%d]", i), "is empty; name a device as wled://HOST, ddp://HOST:PORT?leds=N, …")
		case err != nil:
			p.add(fmt.Sprintf("devices[%d]", i), "%v", err)
		case t.Protocol != wled.ProtocolAuto && t.LEDs == 0 && !countGiven:
			p.add(fmt.Sprintf("devices[%d]", i), "%q %s", d, noCount)
		case forced != wled.ProtocolUnknown:
			if err := wled.CheckForcedLEDs(t, forced); err != nil {
				p.add(fmt.Sprintf("devices[%d]", i), "%q: %v", d, err)
			}
		}
	}
	if c.Discovery.Interval < time.Second || c.Discovery.Interval > time.Hour {
		p.add("discovery.interval", "must be between 1s and 1h (got %v)", c.Discovery.Interval)
	}
}

func (c *Config) validateOutput(p *problems) {
	o := c.Output
	p.oneOf("output.protocol", o.Protocol, wled.ProtocolNames...)
	p.intRange("output.fps", o.FPS, 1, 60)
	if o.RealtimeTimeout < time.Second || o.RealtimeTimeout > 254*time.Second {
		p.add("output.realtime_timeout", "must be between 1s and 254s (got %v)", o.RealtimeTimeout)
	} else if shortest := wled.ShortestRealtimeTimeout(o.FPS); o.FPS >= 1 && wled.WholeSeconds(o.RealtimeTimeout) < shortest {
		p.add("output.realtime_timeout", "%v is too short for output.fps %d: WLED would leave realtime mode whenever a frame is late and flicker between its own effect and ours; set output.realtime_timeout to at least %v (two frames, in whole seconds) or raise output.fps",
			o.RealtimeTimeout, o.FPS, shortest)
	}
	p.intRange("output.max_milliamps", o.MaxMilliamps, 0, 100000)
	// Checked even while off, so that `config check` finds it before someone turns it on.
	if o.SoundSync.Enabled || o.SoundSync.Addr != "" {
		p.addr("output.sound_sync.addr", o.SoundSync.Addr, destination)
	}
}

// validateAnalysis leaves the ranges to the analyser (analysis.Config.Validate, where a zero
// key means its default) and names the key of the field it refuses.
func (c *Config) validateAnalysis(p *problems) {
	err := c.Analysis.Analyzer().Validate()
	if err == nil {
		return
	}
	var fe *analysis.FieldError
	if !errors.As(err, &fe) {
		p.add("analysis", "%s", strings.TrimPrefix(err.Error(), "analysis: "))
		return
	}
	switch key := analysisKey(fe.Field); {
	case fe.Above != "":
		p.add(key, "must be above %s", analysisKey(fe.Above))
	case fe.PowerOfTwo:
		p.add(key, "must be 0 (default) or a power of two from %g to %g (got %g)", fe.Min, fe.Max, fe.Value)
	case fe.Min > 0: // the analyser reads 0 as its default
		p.add(key, "must be between %g and %g, or 0 for the default (got %g)", fe.Min, fe.Max, fe.Value)
	default:
		p.add(key, "must be between %g and %g (got %g)", fe.Min, fe.Max, fe.Value)
	}
}

// analysisKey is the config key of analysis.Config's field: Analysis mirrors that struct field
// for field (TestAnalysisMirrorsTheAnalyserConfig holds them together), so the key is the
// mapstructure tag of the Analysis field of the same name.
func analysisKey(field string) string {
	if f, ok := reflect.TypeOf(Analysis{}).FieldByName(field); ok {
		return "analysis." + f.Tag.Get("mapstructure")
	}
	return "analysis"
}

func (c *Config) validateEffects(p *problems) {
	e := c.Effects
	p.oneOf("effects.effect", e.Effect, effect.EffectNames...)
	p.oneOf("effects.color_mode", e.ColorMode, color.ModeNames...)
	p.floatRange32("effects.musician_hue_spread", e.MusicianHueSpread, 0, 360)
	p.floatRange32("effects.brightness_cap", e.BrightnessCap, 0, 1)
	p.floatRange32("effects.gamma", e.Gamma, 0.1, 5)
	p.floatRange("effects.attack_ms", e.AttackMs, -1, 5000)
	p.floatRange("effects.decay_ms", e.DecayMs, -1, 20000)
	p.floatRange32("effects.pulse_floor", e.PulseFloor, 0.001, 0.999)
	p.intRange("effects.note_low", e.NoteLow, 0, 126)
	p.intRange("effects.note_high", e.NoteHigh, e.NoteLow+1, 127)
	p.floatRange32("effects.note_width", e.NoteWidth, 0.1, 24)
	p.oneOf("effects.idle", e.Idle, effect.IdleLookNames...)
	if _, err := color.ParseHex(e.IdleColor); err != nil {
		p.add("effects.idle_color", "must be #rrggbb (got %q)", e.IdleColor)
	}
	p.floatRange32("effects.idle_brightness", e.IdleBrightness, 0, 1)
	p.floatRange32("effects.beats_per_breath", e.BeatsPerBreath, 0.25, 64)
	p.floatRange("effects.crossfade_ms", e.CrossfadeMs, -1, 10000)
	p.oneOf("effects.resample", e.Resample, effect.ResampleNames...)
	// Above 0: a channel that draws nothing would turn output.max_milliamps off unseen.
	if !(e.ChannelMilliamps > 0 && e.ChannelMilliamps <= 100) {
		p.add("effects.led_channel_milliamps", "must be above 0 and at most 100 (got %g): the current one colour channel draws at full duty, 20 for WS2812B, by which output.max_milliamps estimates a frame", e.ChannelMilliamps)
	}
	p.floatRange32("effects.led_idle_milliamps", e.IdleMilliamps, 0, 10)
	p.floatRange32("effects.controller_milliamps", e.ControllerMilliamps, 0, 5000)
	if _, err := c.EffectConfig(); err != nil && len(*p) == 0 {
		p.add("effects", "%s", strings.TrimPrefix(err.Error(), "effect: "))
	}
}

// validateStrips checks each strips: entry, naming the entry by its index and its device. Two
// entries for one device are refused when the file alone shows it, by join's rule
// (session.DeviceNames.NamedBy; sameStripDevice); an entry by name and one by address for the
// same device can only be found once the device answers, and the session then applies the first
// (and says so).
func (c *Config) validateStrips(p *problems) {
	type named struct {
		sel   stripSelector
		entry int
	}
	var earlier []named // the entries so far that name a device
	for i, s := range c.Strips {
		key := fmt.Sprintf("strips[%d]", i)
		of := fmt.Sprintf(" (device %q)", s.Device)
		if strings.TrimSpace(s.Device) == "" {
			p.add(key+".device", "is required: the device's name as WLED reports it (the status page and `ledbridge discover` show it), its IP address or host name, or its line in devices:")
			of = ""
		}
		if s.Effect != "" {
			p.oneOf(key+".effect", s.Effect, effect.EffectNames...)
		}
		if s.ColorMode != "" {
			p.oneOf(key+".color_mode", s.ColorMode, color.ModeNames...)
		}
		if s.Brightness != nil && !(*s.Brightness >= 0 && *s.Brightness <= 1) {
			p.add(key+".brightness", "must be between 0 and 1 (got %g)%s", *s.Brightness, of)
		}
		if s.MaxMilliamps != nil {
			p.intRange(key+".max_milliamps", *s.MaxMilliamps, 0, 100000)
		}
		if of == "" {
			continue
		}
		sel := c.stripSelectorOf(s.Device)
		for _, other := range earlier {
			if sameStripDevice(sel, other.sel) {
				j := other.entry
				p.add(key+".device", "%q names the same device as strips[%d] (device %q): give each device one entry", s.Device, j, c.Strips[j].Device)
				break
			}
		}
		earlier = append(earlier, named{sel, i})
	}
}

// stripSelector is a strips: entry's device as the duplicate check compares it: its text; the
// host it names devices by (a URL's host, else the text); whether it is a URL; and whether it is
// a devices: line as written, which names that line's device alone.
type stripSelector struct {
	text, host string
	url, line  bool
}

func (c *Config) stripSelectorOf(sel string) stripSelector {
	sel = strings.TrimSpace(sel)
	s := stripSelector{text: sel, host: sel}
	if !strings.Contains(sel, "://") {
		return s
	}
	s.url = true
	s.line = slices.ContainsFunc(c.Devices, func(l string) bool { return strings.EqualFold(strings.TrimSpace(l), sel) })
	if t, err := wled.ParseTarget(sel); err == nil && t.Host != "" {
		s.host = t.Host
	}
	return s
}

// sameStripDevice reports whether two entries name one device by their text alone, by join's
// rule (session.DeviceNames.NamedBy): the same URL (case does not matter); or the same host by
// wled.SameHost (addresses as addresses, names without regard to case or a final dot), unless
// both are devices: lines, each naming its own device (several behind one address: emulators on
// two ports). A URL that is no line names what its host names, and a host names every device at
// it, a line's included.
func sameStripDevice(a, b stripSelector) bool {
	if a.url && b.url && strings.EqualFold(a.text, b.text) {
		return true
	}
	return !(a.line && b.line) && wled.SameHost(a.host, b.host)
}

func (c *Config) validateStatus(p *problems) {
	s := c.Status
	p.addr("status.addr", s.Addr, listenOrOff)
	// The page sends the token in a header (status.TokenHeader): a space or control character
	// could never arrive, and the page would be locked for good.
	if i := strings.IndexFunc(s.Token, func(r rune) bool { return r <= ' ' || r > '~' }); i >= 0 {
		p.add("status.token", "must be printable ASCII without spaces (character %d is not)", len([]rune(s.Token[:i]))+1)
	}
	for i, h := range s.AllowedHosts {
		if err := status.CheckHostPattern(h); err != nil {
			p.add(fmt.Sprintf("status.allowed_hosts[%d]", i), "%s; want a host name such as lights.venue.example or a pattern such as *.venue.example, without scheme or port", strings.TrimPrefix(err.Error(), "status: "))
		}
	}
	// The ceiling is the room server's own socket limit (hub.DefaultMaxConnections): the caps
	// exist to bound what LAN clients can make the page hold, and beyond the live viewers
	// (status.max_streams) more connections can only be idle or slow ones. The floor is one
	// browser's worth: the page holds its live stream open while it fetches the rest, over up to
	// 6 connections, so a lower cap passes here and then breaks the page. Neither cap is tied to
	// the stream caps: a lower connection cap simply admits fewer viewers.
	const minPageConnections = 8
	pageConnections := func(key string, val int) {
		if val < minPageConnections || val > 1024 {
			p.add(key, "must be between %d and 1024 (got %d): the page holds its live stream open while it fetches the rest, and a browser opens up to 6 connections to one host",
				minPageConnections, val)
		}
	}
	pageConnections("status.max_connections", s.MaxConnections)
	pageConnections("status.max_connections_per_client", s.MaxConnectionsPerClient)
	if s.MaxConnectionsPerClient > s.MaxConnections {
		p.add("status.max_connections_per_client", "must not be above status.max_connections (%d)", s.MaxConnections)
	}
	// One stream per open page; one per client is a valid choice (a single viewer per address).
	p.intRange("status.max_streams", s.MaxStreams, 1, 1024)
	p.intRange("status.max_streams_per_client", s.MaxStreamsPerClient, 1, 1024)
	if s.MaxStreamsPerClient > s.MaxStreams {
		p.add("status.max_streams_per_client", "must not be above status.max_streams (%d)", s.MaxStreams)
	}
}

// minStatusTokenLen is the shortest status.token statusTokenWarnings accepts without a word.
const minStatusTokenLen = 12

// statusTokenWarnings returns a warning for a status.token shorter than minStatusTokenLen: whoever
// guesses it controls the lights from the LAN (blackout, mode, test pattern). The page slows
// guessing down per client (a wait after 5 wrong tokens, doubling up to a minute) and compares at
// most 30 wrong tokens a minute from all clients together, however many addresses they use:
// some 43 000 a day, enough to find a PIN or a word within hours or days. A warning, not an
// error: an installation with a short token works, and an upgrade must not stop it. The warning
// gives the length, never the token.
func statusTokenWarnings(token string) []string {
	if token == "" || len(token) >= minStatusTokenLen { // validateStatus allows printable ASCII only: bytes are characters
		return nil
	}
	return []string{fmt.Sprintf("status.token is %d characters long: anyone on the LAN who guesses it controls the lights; use at least %d random ones (openssl rand -hex 16 makes 32)",
		len(token), minStatusTokenLen)}
}

func (c *Config) validateLog(p *problems) {
	p.oneOf("log.format", c.Log.Format, "text", "json")
	p.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
}

// checkRealtimeURL returns what `join` would refuse in a Supabase (Realtime) base URL, or "". That
// is what bridge/realtime refuses as it builds its WebSocket URL (a URL that does not parse, a
// scheme other than http, https, ws or wss, no host) and what Go's HTTP client and dialer refuse
// before a packet is sent (a port outside 1–65535, which url.Parse leaves to the dial; a host with
// no IDNA (punycode) form, or with characters no Host header may hold), so that such a URL stops
// `config check` (and the installer's upgrade guard) instead of keeping the daemon reconnecting for
// ever. Nothing more: a Docker service name (http://supabase_kong:8000), a proxy's
// user:password@ and a non-ASCII host name (https://bühne.example) all work, and refusing them
// would stop the upgrade of an installation that works. Doubtful hosts get a warning instead
// (realtimeURLWarnings).
func checkRealtimeURL(raw string) string {
	const want = "must be an https:// (or http://, wss://, ws://) URL such as https://<ref>.supabase.co"
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Sprintf("%s: %v", want, err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return want
	}
	if u.Host == "" {
		return want + " (the host is missing)"
	}
	if p := u.Port(); p != "" { // url.Parse has checked that it is digits
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return want + " with a port from 1 to 65535"
		}
	}
	// What net/http does to the host as it writes the request: a Unicode name becomes punycode
	// (its IDNA profile maps nearly anything, even bytes that are not UTF-8, but net/http gives up
	// on an error), and a host no Host header may hold (a<b) is sent with no Host header at all,
	// which no server routes.
	host, err := httpguts.PunycodeHostPort(u.Host)
	if err != nil {
		return fmt.Sprintf("%s: the host name has no IDNA (punycode) form: %v", want, err)
	}
	if !httpguts.ValidHostHeader(host) {
		return want + " (the host holds characters no host name may hold)"
	}
	return ""
}

// realtimeURLWarnings returns warnings about a Supabase URL that checkRealtimeURL accepts but that
// is probably a mistake: a host that is neither an IP address nor a DNS name (300.1.1.1, a mistyped
// address), which Go's resolver will not look up, so that only an /etc/hosts entry can make it
// work; and a port without a host (http://:8000), which the dialer takes as this machine.
func realtimeURLWarnings(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil
	}
	host := u.Hostname()
	if host == "" {
		return []string{fmt.Sprintf("supabase.url %q has no host name before the port: ledbridge connects to this machine (write localhost to say so)", redactURLPassword(raw))}
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	ascii, err := httpguts.PunycodeHostPort(host)
	if err != nil || resolvableName(ascii) {
		return nil
	}
	return []string{fmt.Sprintf("supabase.url: the host %q is neither an IP address nor a DNS name: unless /etc/hosts names it, connecting will fail with \"no such host\"", host)}
}

// resolvableName reports whether Go's resolver would look s up in DNS: dot-separated labels of
// letters, digits, hyphens and underscores (Docker's service names have them), at most 63
// characters each, no label starting or ending with a hyphen, at most 253 characters (a final dot
// aside), and not digits and dots alone (1.2.3.4.5 and 300.1.1.1 are no names).
func resolvableName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !resolvableLabel.MatchString(l) {
			return false
		}
	}
	return strings.Trim(s, "0123456789.") != ""
}

// resolvableLabel is one label resolvableName accepts.
var resolvableLabel = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)

// checkICEURL returns what is wrong with one URL of ICE server s, or "": pion's own parse
// (stun.ParseURI, as bridge/peer does when `join` starts) and its rule that a TURN server needs a
// username and a credential, so that `config check` refuses what `join` would.
func checkICEURL(raw string, s ICEServer) string {
	uri, err := stun.ParseURI(raw)
	if err != nil {
		return fmt.Sprintf("must be a stun:, stuns:, turn: or turns: URL such as stun:stun.example.org:3478: %v", err)
	}
	if uri.Port < 1 || uri.Port > 65535 {
		return "must have a port from 1 to 65535"
	}
	if (uri.Scheme == stun.SchemeTypeTURN || uri.Scheme == stun.SchemeTypeTURNS) && (s.Username == "" || s.Credential == "") {
		return "is a TURN server: it needs a username and a credential in the same entry (keep them in /etc/ledbridge/env as LEDBRIDGE_WEBRTC_ICE_SERVERS)"
	}
	return ""
}

// addrRule says what an address key may hold.
type addrRule int

const (
	// listen is a local address to listen on: the host may be empty (every interface) and port 0
	// asks the kernel for a free port (the tests' 127.0.0.1:0; the real port is printed).
	listen addrRule = iota
	// listenOrOff is listen, or empty to turn the listener off.
	listenOrOff
	// destination is where packets are sent: a host is required and port 0 cannot be reached.
	destination
)

// hostLabel is one DNS label (RFC 1123): letters, digits and inner hyphens, at most 63.
var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// checkAddr returns what is wrong with a HOST:PORT address under rule, or "". It is stricter than
// net.SplitHostPort so that ":99999" or "1.2.3.4.5:80" fail `config check` instead of failing at
// start-up, where systemd would restart the daemon every RestartSec.
func checkAddr(val string, rule addrRule) string {
	want := "must be HOST:PORT or :PORT"
	if rule == destination {
		want = "must be HOST:PORT"
	}
	host, port, err := net.SplitHostPort(val)
	if err != nil {
		return want
	}
	lo := 0
	if rule == destination {
		lo = 1
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < lo || n > 65535 || strconv.Itoa(n) != port {
		return fmt.Sprintf("%s with a port from %d to 65535", want, lo)
	}
	switch {
	case host == "":
		if rule == destination {
			return want + " (a host is required)"
		}
	case strings.Contains(host, ":"):
		// SplitHostPort only lets a colon through inside brackets: it must be an IPv6 address.
		if _, err := netip.ParseAddr(host); err != nil {
			return want + " with a valid IPv6 address in brackets"
		}
	default:
		if _, err := netip.ParseAddr(host); err != nil && !plausibleHostName(host) {
			return want + " where HOST is an IP address or a host name"
		}
	}
	return ""
}

// plausibleHostName reports whether s can be a DNS host name: dot-separated RFC 1123 labels, at
// most 253 characters, and a last label that is not all digits (so that 1.2.3.4.5 or 300.1.1.1,
// which are neither IPv4 addresses nor names, are refused).
func plausibleHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}
