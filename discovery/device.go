// Package discovery keeps the list of the venue's WLED controllers: it browses mDNS for
// _wled._tcp, adds the devices named in the configuration, confirms every one with GET
// /json/info and keys them by MAC, so a device whose IP changes is updated rather than
// duplicated, and one that stops answering is marked offline and comes back when it answers. A
// device found by mDNS alone that stays offline, with no mDNS answer for it either, for
// Config.ForgetAfter (1 h) is forgotten, to be found again by mDNS if it ever returns;
// configured devices are never forgotten.
//
// One WLED per IP: a device found only by mDNS is not listed while a different confirmed device
// is online at the IP it answers from (ErrAddressTaken). A real controller has one address, and
// without this rule one LAN host answering _wled._tcp with many instance names and a new MAC per
// /json/info would get up to maxDevices 60 fps streams, all to its own IP. Configured devices
// are always listed, and a newcomer at the address of an offline device (a controller replaced
// on the same DHCP address) is listed too.
//
// Resolver looks up .local host names (wled-abcdef.local) by the same multicast DNS: the
// configured devices' names, here and in the session, which the system's resolver never finds
// in a build without cgo. LookupDeviceAddr picks the address to drive a looked-up device at (IPv4
// first, the current address kept while the name still has it), for the session and test-pattern.
package discovery

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// Sentinel errors.
var (
	// ErrBadStatic indicates a static device entry that is not a usable device URL.
	ErrBadStatic = errors.New("discovery: bad static device URL")

	// ErrNoMAC indicates that a device answered /json/info without a usable MAC address, so it
	// cannot be told apart from other devices.
	ErrNoMAC = errors.New("discovery: device reports no MAC address")

	// ErrOtherMAC indicates that where a confirmed device was looked for, a host with another
	// MAC answered: not that device.
	ErrOtherMAC = errors.New("discovery: another device answers there")

	// ErrAddressTaken indicates a newly found mDNS device at an IP where another confirmed
	// device is online: a WLED has one address, so it is not listed (see Registry).
	ErrAddressTaken = errors.New("discovery: another online device has this IP")

	// ErrNoInterface indicates that none of the configured network interfaces exists or can
	// carry multicast.
	ErrNoInterface = errors.New("discovery: no usable network interface for mDNS")
)

// Source says how a device entered the list.
type Source string

// Sources.
const (
	SourceMDNS   Source = "mdns"   // answered an mDNS _wled._tcp browse
	SourceStatic Source = "static" // listed in the configuration
	SourceBoth   Source = "mdns+static"
)

// Device is one WLED controller as the registry last saw it. It is a value: snapshots never
// change after they are handed out.
type Device struct {
	// Key identifies the device in the list: its MAC once /json/info gave it, otherwise a
	// provisional "mdns:<instance>" or "static:<url>" key for a device that has never answered.
	Key string `json:"key"`
	// Name is the WLED's own name (info.name), or the mDNS instance name until it answers.
	Name string `json:"name"`
	// Host is the mDNS host name ("wled-abcdef.local.") or the configured host.
	Host string `json:"host"`
	// IP is the IPv4 address frames go to; invalid until an address is known.
	IP netip.Addr `json:"ip"`
	// HTTPPort is the JSON API's TCP port (80 on a real WLED).
	HTTPPort int `json:"http_port"`
	// MAC is 12 lower-case hex digits without separators, as the device's /json/info reported
	// it; "" until then (an mDNS TXT mac= is anyone's claim and never fills it).
	MAC string `json:"mac"`
	// LEDs is the LED count frames are rendered for: the configured override, else info.leds.count.
	LEDs int `json:"leds"`
	// RGBW is true when the strip has a white channel (4 bytes per LED).
	RGBW bool `json:"rgbw"`
	// Protocol is how frames are sent; StreamPort is the UDP port they go to.
	Protocol   wled.Protocol `json:"protocol"`
	StreamPort int           `json:"stream_port"`
	// Info is the last successful /json/info reply (firmware version, live state, …).
	Info wled.Info `json:"info"`
	// Source says whether mDNS, the configuration, or both named the device.
	Source Source `json:"source"`
	// Static is the configured device URL, "" for a device found only by mDNS.
	Static string `json:"static,omitempty"`
	// Online is true while the last /json/info probe succeeded.
	Online bool `json:"online"`
	// LastSeen is when the device last answered /json/info (zero if never).
	LastSeen time.Time `json:"last_seen"`
	// LastError is the last probe's error text, "" after a successful probe.
	LastError string `json:"error,omitempty"`
}

// Target returns where and how to stream to the device, ready for a wled output; ok is false
// while its address or protocol is not known.
func (d Device) Target() (t wled.Target, ok bool) {
	if !d.IP.IsValid() || d.StreamPort == 0 || d.LEDs == 0 {
		return wled.Target{}, false
	}
	switch d.Protocol {
	case wled.ProtocolUnknown, wled.ProtocolAuto:
		return wled.Target{}, false
	}
	return wled.Target{Protocol: d.Protocol, Host: d.IP.String(), Port: d.StreamPort, HTTPPort: d.HTTPPort, LEDs: d.LEDs, RGBW: d.RGBW}, true
}

// EventKind says what changed about a device.
type EventKind int

// Event kinds. Only devices confirmed by /json/info (with their MAC) produce events.
const (
	EventUnknown EventKind = iota
	// EventAdded: a device answered /json/info with its MAC for the first time (it is online).
	// An mDNS answer alone adds nothing: forged answers are dropped after a few failed probes.
	EventAdded
	// EventUpdated: its address, LED count, colour order, protocol or name changed.
	EventUpdated
	// EventOnline: it answers /json/info again after being offline.
	EventOnline
	// EventOffline: it stopped answering /json/info.
	EventOffline
	// EventRemoved: the device left the list under this Key: another controller answered as
	// its replacement (another MAC where it was, which the entry now follows under the new MAC,
	// announced by an EventAdded after this one), or it was not configured and stayed offline
	// and unheard of on mDNS for Config.ForgetAfter (if it returns, mDNS finds it and an
	// EventAdded follows). Device is the last snapshot under the old Key; a consumer keyed by
	// Key must stop driving it, or it keeps a stream to a device that is gone.
	EventRemoved

	// lastEventKind bounds the kinds' text round trip.
	lastEventKind = EventRemoved
)

func (k EventKind) String() string {
	switch k {
	case EventAdded:
		return "added"
	case EventUpdated:
		return "updated"
	case EventOnline:
		return "online"
	case EventOffline:
		return "offline"
	case EventRemoved:
		return "removed"
	}
	return "unknown"
}

// MarshalText makes event kinds readable in JSON.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText is MarshalText's inverse; unknown names decode as EventUnknown.
func (k *EventKind) UnmarshalText(b []byte) error {
	*k = EventUnknown
	for c := EventAdded; c <= lastEventKind; c++ {
		if c.String() == string(b) {
			*k = c
		}
	}
	return nil
}

// Event reports one change; Device is the snapshot after the change.
type Event struct {
	Kind   EventKind `json:"kind"`
	Device Device    `json:"device"`
}

// staticDevice is one configured device.
type staticDevice struct {
	raw    string
	target wled.Target
}

func parseStatic(raw string) (staticDevice, error) {
	t, err := wled.ParseTarget(strings.TrimSpace(raw))
	if err != nil {
		return staticDevice{}, fmt.Errorf("%w: %w", ErrBadStatic, err)
	}
	return staticDevice{raw: raw, target: t}, nil
}

// forced reports whether the URL names the protocol (ddp://, dnrgb://, …) rather than wled://.
func (s staticDevice) forced() bool { return s.target.Protocol != wled.ProtocolAuto }

// httpPort is where to ask for /json/info: the wled:// port, else WLED's usual 80 (a forced
// target has no API port of its own; if nothing answers there the device stays unconfirmed).
func (s staticDevice) httpPort() int {
	if s.target.HTTPPort > 0 {
		return s.target.HTTPPort
	}
	return wled.DefaultHTTPPort
}
