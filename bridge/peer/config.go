package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/clock"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// MusicianID is a musician's Presence key, its peerId.
type MusicianID string

// RTPSink receives one musician track's RTP packets, in arrival order, from
// that track's read goroutine. The packet and its payload are reused for the
// next packet as soon as WriteRTP returns: copy what must outlive the call.
// Padding-only packets (no payload) and packets of a payload type the answer
// did not negotiate are not passed to WriteRTP; a sink that also implements
// EmptyMarker is told of their sequence numbers. If the sink also
// implements io.Closer, Close is called once, after the last WriteRTP, when
// the track ends (musician left, connection closed or renegotiated away).
type RTPSink interface {
	WriteRTP(pkt *rtp.Packet)
}

// ICEServer is one STUN or TURN server (config key webrtc.ice_servers).
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// Defaults for zero Config fields.
const (
	DefaultMaxPeers       = 8
	DefaultOfferDelay     = 2 * time.Second
	DefaultConnectTimeout = 15 * time.Second
	DefaultInboxSize      = 64
	DefaultPresenceGrace  = 10 * time.Second
	// DefaultRejoinGrace is how long a musician missing from the Presence the room server gives
	// on the bridge's own (re)join keeps her connection (Manager.MusicianMissing): a server that
	// restarted lists her only once her own client is back, and supabase-js (realtime-js) comes
	// back on its own schedule, not the bridge's. After an outage of more than 8 s her socket
	// retries every 10 s (reconnectAfterMs: 1, 2, 5, then 10 s), so it may reconnect up to 10 s
	// after the bridge did; its channel's join may then time out on a server still starting
	// (timeout 10 s, then rejoinAfterMs' 1 s) or be refused by it (Realtime answers a join
	// error after CHANNEL_ERROR_BACKOFF_MS, 5 s; then 2 s, then 5 s of rejoin backoff): one
	// timeout and two refusals cost 11 + 7 + 10 s; then her track reaches the bridge as a
	// presence_diff within about a second. 10 + 28 + 1 = 39 s, rounded up to 45 s. A musician
	// who really left meanwhile costs little: a tab that closed its PeerConnection is released
	// at once, and one that is gone at ICE's failed timeout (25 s); only her peer-cap slot is
	// held longer.
	DefaultRejoinGrace = 45 * time.Second
	// DefaultMaxSignalsPerSecond is half the 100 messages a second the LAN hub
	// allows each client (averaged): the bridge's Presence and requests share
	// that limit with its signals. Hosted Realtime's limit is the project's,
	// all rooms together (100 a second on the free plan, averaged over about a
	// minute), and counts deliveries: a signal in a room of N costs about N.
	// There the default caps bursts and cannot be held: at 50 a second in a
	// room of five, the bridge alone takes a free project over its limit in
	// about 24 s.
	DefaultMaxSignalsPerSecond = 50
	// DefaultMaxPacketsPerSecond is 2.5 times the 400 packets a second of Opus's shortest
	// frames (2.5 ms; a browser sends 20 ms, 50 a second), leaving room for retransmissions,
	// padding probes and a stall's backlog.
	DefaultMaxPacketsPerSecond = 1000
)

// DefaultRestartBackoff is the wait before each ICE restart after a failure;
// the last entry repeats.
var DefaultRestartBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second}

// Config configures a Manager. Zero fields mean the defaults above.
type Config struct {
	// SelfID is ledbridge's own peerId: the fromPeerId of its signals and the
	// targetPeerId it accepts. Required.
	SelfID string

	// ICEServers are the STUN/TURN servers. Empty means none (host candidates
	// only); the config package supplies the default STUN server.
	ICEServers []ICEServer
	// NetworkTypes are the candidate network types: "udp4", "udp6", "tcp4",
	// "tcp6". Empty means udp4, which worked in every set-up tried. At least one
	// must be UDP: with no ICE-TCP listener the TCP ones gather no candidate
	// (NewManager refuses TCP alone, and warns of TCP beside UDP).
	NetworkTypes []string
	// Interfaces, if not empty, are the only network interfaces (by name)
	// candidates are gathered on. pion lists them again at each gathering, so
	// one that comes up later is used then; NewManager warns of names that
	// match no interface up with an address of NetworkTypes.
	Interfaces []string
	// MDNSMode is "disabled" (default), "query" (resolve remote .local
	// candidates) or "gather" (also hide our own addresses behind .local names).
	MDNSMode string
	// PortMin and PortMax restrict the local UDP ports, for firewalls; both
	// zero means any port. Each musician's PeerConnection binds its own port on
	// every address it gathers on, and one per STUN server that answers, so the
	// range must hold MaxPeers times that many; NewManager warns when it does
	// not (gatheringPlan).
	PortMin, PortMax uint16
	// ICEDisconnectedTimeout and ICEFailedTimeout override pion's 5 s and
	// 25 s: how long without traffic before a connection counts as
	// disconnected, then failed (and so restarted).
	ICEDisconnectedTimeout, ICEFailedTimeout time.Duration

	// MaxPeers is how many musicians in Presence may be connected at once (default 8);
	// offers and joins past it are refused, logged and counted, and admitted
	// in order when a slot frees.
	MaxPeers int
	// SlotTimeout is how long a musician admitted into a MaxPeers slot may take to connect
	// while others wait for a slot, before the slot goes to the first waiting musician who never
	// had one (see Manager.reclaimSlotsLocked for the others; default
	// DefaultSlotTimeout): room members that join Presence and never answer an offer hold a
	// slot only this long.
	SlotTimeout time.Duration
	// OfferDelay is how long after a musician appears in Presence ledbridge
	// waits for its offer before offering itself (default 2 s).
	OfferDelay time.Duration
	// ConnectTimeout is how long a negotiated connection may take to connect
	// before ledbridge retries with an ICE restart (default 15 s).
	ConnectTimeout time.Duration
	// RestartBackoff is the wait before successive ICE restarts after a
	// failure; the last entry repeats (default DefaultRestartBackoff).
	RestartBackoff []time.Duration
	// InboxSize bounds each musician's queue of unprocessed signals (default 64).
	InboxSize int
	// PresenceGrace is how long the offer of a peer known only from that offer
	// (not yet from Presence) is held for Presence to confirm it (default 10 s).
	// Such an offer takes no MaxPeers slot until confirmed. It also bounds the
	// hold of a musician who leaves Presence with her connection up
	// (MusicianAway): her connection and slot are kept that long for a rejoin
	// under the same key (a Realtime socket blip), then released.
	PresenceGrace time.Duration
	// RejoinGrace is how long a musician missing from the Presence the room server gives on
	// the bridge's own (re)join keeps her connection and slot for her rejoin
	// (Manager.MusicianMissing; default DefaultRejoinGrace): a room server that restarted
	// lists each musician again only once her own client has rejoined.
	RejoinGrace time.Duration

	// MaxSignalsPerSecond bounds the webrtc-signals the bridge sends, all
	// musicians together, in any one second (default 50): past its limit a
	// room server shuts channels down (the LAN hub those of a client over its
	// own rate; hosted Realtime, whose limit is the project's, every channel of
	// the project that gets a message), cutting the bridge's signalling off
	// for everyone. Negotiations
	// of musicians that have connected may use all of it; answers to new or
	// storming offers and offers to new musicians only half, so that a storm
	// cannot crowd out the musicians already playing. Work that does not fit
	// waits (offers coalesce meanwhile) or, for trickled candidates, is dropped
	// and counted in Stats.
	MaxSignalsPerSecond int
	// MaxPacketsPerSecond bounds the RTP and RTCP packets a musician may send the bridge, all
	// her streams together, on average (default DefaultMaxPacketsPerSecond); floodSeconds'
	// worth may come at once. A connection that goes over it is closed until she offers again,
	// as for too many tracks (packetBudget).
	MaxPacketsPerSecond int

	// SendSignal sends a webrtc-signal to the room. It is called from the
	// musician's goroutine with the musician's context. Required.
	SendSignal func(ctx context.Context, sig room.Signal) error
	// OnTrack is called, from the track's read goroutine, when a musician's
	// audio track starts; the returned sink receives its packets. nil (or a
	// nil result) discards the packets but still reads them.
	OnTrack func(m MusicianID, codec webrtc.RTPCodecParameters) RTPSink
	// OnStateChange, if set, is called from the musician's goroutine whenever
	// its connection state changes, and with PeerConnectionStateClosed when
	// the musician is released. Calls are serialised. Once a musician that
	// left and joined again has reported a state of its new connection, the
	// old one reports nothing more (its release included, which may come
	// later as its PeerConnection closes).
	OnStateChange func(m MusicianID, state webrtc.PeerConnectionState)

	Clock  Clock        // default: the system clock
	Logger *slog.Logger // default: slog.Default()

	// net replaces the operating system's network (pion vnet), for tests.
	net transport.Net
	// listInterfaces replaces the listing of the host's interfaces (listHostInterfaces) that
	// ICE gathers on, for tests.
	listInterfaces interfaceLister
}

// ErrConfig indicates an invalid Config; the message names the field.
var ErrConfig = errors.New("invalid peer config")

// withDefaults returns a copy of cfg with every unset field at its default, or
// why cfg cannot be used.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.SelfID == "" {
		return cfg, fmt.Errorf("SelfID is empty: %w", ErrConfig)
	}
	if cfg.SendSignal == nil {
		return cfg, fmt.Errorf("SendSignal is nil: %w", ErrConfig)
	}
	if len(cfg.NetworkTypes) == 0 {
		cfg.NetworkTypes = []string{"udp4"}
	}
	if cfg.MDNSMode == "" {
		cfg.MDNSMode = "disabled"
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	if cfg.SlotTimeout <= 0 {
		cfg.SlotTimeout = DefaultSlotTimeout
	}
	if cfg.OfferDelay <= 0 {
		cfg.OfferDelay = DefaultOfferDelay
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if len(cfg.RestartBackoff) == 0 {
		cfg.RestartBackoff = DefaultRestartBackoff
	}
	for i, d := range cfg.RestartBackoff {
		if d <= 0 {
			return cfg, fmt.Errorf("RestartBackoff[%d] is %v, want > 0: %w", i, d, ErrConfig)
		}
	}
	cfg.RestartBackoff = slices.Clone(cfg.RestartBackoff)
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = DefaultInboxSize
	}
	if cfg.PresenceGrace <= 0 {
		cfg.PresenceGrace = DefaultPresenceGrace
	}
	if cfg.RejoinGrace <= 0 {
		cfg.RejoinGrace = DefaultRejoinGrace
	}
	if cfg.MaxSignalsPerSecond <= 0 {
		cfg.MaxSignalsPerSecond = DefaultMaxSignalsPerSecond
	}
	if cfg.MaxPacketsPerSecond <= 0 {
		cfg.MaxPacketsPerSecond = DefaultMaxPacketsPerSecond
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if (cfg.PortMin == 0) != (cfg.PortMax == 0) || cfg.PortMax < cfg.PortMin {
		return cfg, fmt.Errorf("UDP port range %d–%d: set both, min ≤ max: %w", cfg.PortMin, cfg.PortMax, ErrConfig)
	}
	return cfg, nil
}

// Codecs ledbridge accepts, in order of preference (PROTOCOL.md §4): those audio.SupportedCodecs
// names, in its order (TestCodecsAreTheDecodersInTheirOrder). Their fmtp lines are those of the
// answers and offers the bridge sends; pion's MediaEngine has Opus with none (newAPI).
var codecs = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp + ";" + opusBitrateAsk, RTCPFeedback: audioFeedback}, PayloadType: 111},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeG722, ClockRate: 8000, RTCPFeedback: audioFeedback}, PayloadType: 9},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, RTCPFeedback: audioFeedback}, PayloadType: 0},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, RTCPFeedback: audioFeedback}, PayloadType: 8},
}

const (
	// opusFmtp: 10 ms packets welcome, and in-band FEC asked for (it recovers most of a lost
	// packet's audio when the sender sends it).
	opusFmtp = "minptime=10;useinbandfec=1"
	// opusBitrateAsk asks the musician's Opus encoder for 64 kbit/s: RFC 7587's
	// maxaveragebitrate, the receiver's preference for the average bitrate it is sent (the
	// sender may send less). Without it Chromium's mono Opus targets 32 kbit/s, on which the
	// note detector lost about a point of F1 to the clean recordings; at 64 kbit/s it is level
	// with them, and better under loss (review 281). No stereo=1: stereo at 128 kbit/s is CELT
	// only, and so has no in-band FEC. The price: Chromium 156 no longer lets a page switch back
	// to Opus with setParameters (TestChromiumCodecSwitchWithoutRenegotiation).
	opusBitrateAsk = "maxaveragebitrate=64000"
)

// audioFeedback: webrtc.ConfigureNack offers NACK for video only, and pion's
// generator asks for a lost packet only on streams that negotiated it. For
// audio it is negotiated when the sender offers it too (browsers do not by
// default; a Go sender can); then a packet lost on the way can still arrive
// within the jitter buffer's delay.
var audioFeedback = []webrtc.RTCPFeedback{{Type: "nack"}}

// audioLevelURI is the RTP header extension carrying the sender's audio level;
// negotiating it lets the audio side light a strip before decoding.
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// pcScope ties a pion API to the one PeerConnection it builds. Its zero value is for no
// PeerConnection (NewManager checks the config with it).
type pcScope struct {
	// ctx ends the name lookups and TCP dials of the PeerConnection's ICE gatherer
	// (cancellableNet); closePC cancels it. nil: the operating system's network as it is.
	ctx context.Context
	// interfaces are the host's interfaces as that network shows them to the ICE agent (with
	// ctx only); the musician relists them before each negotiation step. nil: listed at the
	// first look-up, never again.
	interfaces *hostInterfaces
	// onUnhandledSSRC is called for each SSRC pion discarded (see slogFactory); may be nil.
	onUnhandledSSRC func()
	// packets, if set, counts the RTP and RTCP packets the PeerConnection decrypts.
	packets *packetCounter
}

// newAPI builds a pion API: our own MediaEngine (only the codecs above), NACK and
// RTCP-report interceptors, and the SettingEngine choices from the config. Each
// PeerConnection has its own, so that its network and pion's warnings are its own.
func newAPI(cfg Config, scope pcScope) (*webrtc.API, error) {
	var me webrtc.MediaEngine
	for _, c := range codecs {
		if c.MimeType == webrtc.MimeTypeOpus {
			// No fmtp, so that every offered Opus matches it exactly: pion matches a remote
			// codec by its fmtp (a parameter both sides give must be equal) and, when some
			// codec matches exactly, drops those that match by name only, so an Opus offered at
			// another maxaveragebitrate, minptime=20 or useinbandfec=0 was answered in G.722.
			// The descriptions the bridge sends carry the fmtp (its transceivers' preferences).
			c.SDPFmtpLine = ""
		}
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register codec %s: %w", c.MimeType, err)
		}
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register audio level extension: %w", err)
	}
	var reg interceptor.Registry
	if err := webrtc.ConfigureNack(&me, &reg); err != nil {
		return nil, fmt.Errorf("configure NACK: %w", err)
	}

	if err := webrtc.ConfigureRTCPReports(&reg); err != nil {
		return nil, fmt.Errorf("configure RTCP reports: %w", err)
	}

	var se webrtc.SettingEngine
	if scope.packets != nil {
		se.BufferFactory = scope.packets.bufferFactory
	}
	se.LoggerFactory = slogFactory{log: cfg.Logger.With("component", "pion"), onUnhandledSSRC: scope.onUnhandledSSRC}
	types, err := cfg.networkTypes()
	if err != nil {
		return nil, err
	}
	se.SetNetworkTypes(types)
	if len(cfg.Interfaces) > 0 {
		allowed := slices.Clone(cfg.Interfaces)
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(allowed, name) })
	}
	// Loopback candidates let a browser on the same machine connect.
	se.SetIncludeLoopbackCandidate(true)
	switch cfg.MDNSMode {
	case "disabled":
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	case "query":
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	case "gather":
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryAndGather)
	default:
		return nil, fmt.Errorf("mDNS mode %q (want disabled, query or gather): %w", cfg.MDNSMode, ErrConfig)
	}
	if cfg.PortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, fmt.Errorf("UDP port range: %w", err)
		}
	}
	if cfg.ICEDisconnectedTimeout > 0 || cfg.ICEFailedTimeout > 0 {
		disc, failed := cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout
		if disc <= 0 {
			disc = 5 * time.Second
		}
		if failed <= 0 {
			failed = 25 * time.Second
		}
		keepalive := min(2*time.Second, disc/4)
		se.SetICETimeouts(disc, failed, keepalive)
	}
	switch {
	case cfg.net != nil:
		se.SetNet(cfg.net)
	case scope.ctx != nil:
		osNet, err := stdnet.NewNet()
		if err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
		interfaces := scope.interfaces
		if interfaces == nil {
			interfaces = newHostInterfaces(nil)
		}
		se.SetNet(&cancellableNet{Net: osNet, ctx: scope.ctx, interfaces: interfaces})
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithInterceptorRegistry(&reg), webrtc.WithSettingEngine(se)), nil
}

// networkTypes parses NetworkTypes.
func (cfg *Config) networkTypes() ([]webrtc.NetworkType, error) {
	var types []webrtc.NetworkType
	for _, s := range cfg.NetworkTypes {
		nt, err := webrtc.NewNetworkType(s)
		if err != nil {
			return nil, fmt.Errorf("network type %q (want udp4, udp6, tcp4 or tcp6): %w", s, ErrConfig)
		}
		types = append(types, nt)
	}
	return types, nil
}

func (cfg *Config) rtcConfiguration() webrtc.Configuration {
	var servers []webrtc.ICEServer
	for _, s := range cfg.ICEServers {
		servers = append(servers, webrtc.ICEServer{
			URLs: slices.Clone(s.URLs), Username: s.Username, Credential: s.Credential,
		})
	}
	return webrtc.Configuration{ICEServers: servers}
}

// gatheringPlan is what each PeerConnection's ICE agent will gather on, worked out the way
// pion's agent does it (ice/v4 v4.4.8: localInterfaces, gatherCandidatesLocal,
// gatherCandidatesSrflx), so that a config that lets no musician connect, or only some, is
// said so at start instead of showing up only as pion's "Failed to ping without candidate pairs".
type gatheringPlan struct {
	// hostAddrs are the addresses host candidates are gathered on, as "iface address": pion
	// binds one UDP socket on each, per PeerConnection (link-local IPv6 ones too, though it
	// does not announce their candidates).
	hostAddrs []string
	// stunSockets is the most UDP sockets a PeerConnection's server-reflexive candidates hold
	// besides: one per STUN (or UDP TURN) URL and UDP network type, or, with an interface
	// filter, per URL and address of the type's family. Each is kept only if its server answers.
	stunSockets int
	// missing are the names in Config.Interfaces that are no interface up with an address
	// of a configured family.
	missing []string
	// available names the interfaces that are up with such an address, filter aside.
	available []string
}

// socketsPerPeer is the most UDP ports one musician's PeerConnection takes from the range.
func (p *gatheringPlan) socketsPerPeer() int { return len(p.hostAddrs) + p.stunSockets }

// planGathering lists the interfaces and addresses ICE will gather on with this config, now.
func planGathering(cfg *Config, types []webrtc.NetworkType) (gatheringPlan, error) {
	var plan gatheringPlan
	n := cfg.net
	if n == nil {
		osNet, err := stdnet.NewNet()
		if err != nil {
			return plan, err
		}
		n = osNet
	}
	ifaces, err := n.Interfaces()
	if err != nil {
		return plan, err
	}
	// pion takes the address families from every network type, TCP ones included.
	var want4, want6, anyUDP bool
	for _, t := range types {
		want4 = want4 || isIPv4(t)
		want6 = want6 || !isIPv4(t)
		anyUDP = anyUDP || isUDP(t)
	}
	filtered := len(cfg.Interfaces) > 0
	var hostV4, hostV6 int
	found := map[string]bool{}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue // loopback counts: the SettingEngine includes loopback candidates
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		var usable []netip.Addr
		for _, a := range addrs {
			if ip, ok := gatherableAddr(a, want4, want6); ok {
				usable = append(usable, ip)
			}
		}
		if len(usable) == 0 {
			continue
		}
		plan.available = append(plan.available, ifc.Name)
		if filtered && !slices.Contains(cfg.Interfaces, ifc.Name) {
			continue
		}
		found[ifc.Name] = true
		if !anyUDP {
			continue
		}
		for _, ip := range usable {
			plan.hostAddrs = append(plan.hostAddrs, ifc.Name+" "+ip.String())
			if ip.Is4() {
				hostV4++
			} else {
				hostV6++
			}
		}
	}
	for _, name := range cfg.Interfaces {
		if !found[name] && !slices.Contains(plan.missing, name) {
			plan.missing = append(plan.missing, name)
		}
	}
	for _, s := range cfg.ICEServers {
		for _, u := range s.URLs {
			uri, err := stun.ParseURI(u)
			if err != nil || !gathersSrflx(uri) {
				continue
			}
			for _, t := range types {
				switch {
				case !isUDP(t):
				case !filtered:
					plan.stunSockets++ // one socket on the unspecified address
				case isIPv4(t):
					plan.stunSockets += hostV4
				default:
					plan.stunSockets += hostV6
				}
			}
		}
	}
	return plan, nil
}

func isUDP(t webrtc.NetworkType) bool {
	return t == webrtc.NetworkTypeUDP4 || t == webrtc.NetworkTypeUDP6
}

func isIPv4(t webrtc.NetworkType) bool {
	return t == webrtc.NetworkTypeUDP4 || t == webrtc.NetworkTypeTCP4
}

// interfaceIP is the IP address of an interface address (net.Interface.Addrs gives *net.IPNet,
// some platforms *net.IPAddr); ok is false for anything else.
func interfaceIP(a net.Addr) (netip.Addr, bool) {
	var raw net.IP
	switch a := a.(type) {
	case *net.IPNet:
		raw = a.IP
	case *net.IPAddr:
		raw = a.IP
	default:
		return netip.Addr{}, false
	}
	return netip.AddrFromSlice(raw)
}

// gatherableAddr reports whether pion gathers on an interface address, as ice's
// localInterfaces decides: an address of a wanted family, and for IPv6 neither an
// IPv4-compatible (::1 among them) nor a site-local one.
func gatherableAddr(a net.Addr, want4, want6 bool) (netip.Addr, bool) {
	ip, ok := interfaceIP(a)
	if !ok {
		return netip.Addr{}, false
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip, want4
	}
	b := ip.As16()
	ipv4Compatible := [12]byte(b[:12]) == [12]byte{}
	siteLocal := b[0] == 0xfe && b[1]&0xc0 == 0xc0
	return ip, want6 && !ipv4Compatible && !siteLocal
}

// gathersSrflx reports whether pion gathers a server-reflexive candidate from a URL: STUN
// or TURN over UDP.
func gathersSrflx(uri *stun.URI) bool {
	proto := uri.Proto
	if proto == stun.ProtoTypeUnknown && (uri.Scheme == stun.SchemeTypeSTUN || uri.Scheme == stun.SchemeTypeTURN) {
		proto = stun.ProtoTypeUDP
	}
	return proto == stun.ProtoTypeUDP && (uri.Scheme == stun.SchemeTypeSTUN || uri.Scheme == stun.SchemeTypeTURN)
}

// checkGathering refuses network types that gather no candidate, and warns, on log, of
// interfaces and a UDP port range that let no musician, or not every one, connect.
func (cfg *Config) checkGathering(log *slog.Logger) error {
	types, err := cfg.networkTypes()
	if err != nil {
		return err
	}
	var udp, tcp []string
	for i, t := range types {
		if isUDP(t) {
			udp = append(udp, cfg.NetworkTypes[i])
		} else {
			tcp = append(tcp, cfg.NetworkTypes[i])
		}
	}
	// pion gathers TCP host candidates only from an ICE-TCP listener (a TCP mux), which
	// ledbridge does not run, and announces TURN relay candidates only for UDP types.
	if len(udp) == 0 {
		return fmt.Errorf("NetworkTypes (webrtc.network_types) %v gather no ICE candidate: ledbridge has no ICE-TCP listener, and relay candidates need a UDP type; no musician could connect: add udp4: %w", cfg.NetworkTypes, ErrConfig)
	}
	if len(tcp) > 0 {
		log.Warn("webrtc.network_types: TCP types gather no candidate (ledbridge has no ICE-TCP listener); candidates are gathered for the UDP ones only",
			"ignored", tcp, "gathering", udp)
	}

	plan, err := planGathering(cfg, types)
	if err != nil {
		log.Warn("cannot list the network interfaces to check webrtc.interfaces and the UDP port range", "err", err)
		return nil
	}
	switch {
	case len(plan.hostAddrs) == 0 && len(cfg.Interfaces) > 0:
		log.Warn("webrtc.interfaces matches no interface that is up with an address of webrtc.network_types: no musician can connect until one comes up",
			"interfaces", cfg.Interfaces, "available", plan.available, "network_types", cfg.NetworkTypes)
	case len(plan.hostAddrs) == 0:
		log.Warn("no interface is up with an address of webrtc.network_types: no musician can connect until one comes up",
			"network_types", cfg.NetworkTypes)
	case len(plan.missing) > 0:
		log.Warn("webrtc.interfaces names interfaces that are not up with an address of webrtc.network_types; candidates are gathered on the others",
			"missing", plan.missing, "interfaces", cfg.Interfaces, "available", plan.available)
	}
	if cfg.PortMin != 0 {
		ports := int(cfg.PortMax) - int(cfg.PortMin) + 1
		need := cfg.MaxPeers * plan.socketsPerPeer()
		if ports < need {
			log.Warn("webrtc.udp_port_min..webrtc.udp_port_max is too narrow for webrtc.max_peers musicians: each one's connection binds its own UDP port on every address ICE gathers on (and one per STUN server that answers), and musicians past the free ports cannot connect",
				"udp_port_min", cfg.PortMin, "udp_port_max", cfg.PortMax, "ports", ports, "ports_needed", need,
				"max_peers", cfg.MaxPeers, "addresses", plan.hostAddrs, "stun_sockets", plan.stunSockets)
		}
	}
	return nil
}
