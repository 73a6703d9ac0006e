package wled

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ErrBadTarget indicates a device URL that cannot be used; the message says what is wrong.
var ErrBadTarget = errors.New("wled: bad device URL")

// Target names one device and how to reach it, as parsed from a device URL:
//
//	wled://HOST[:HTTPPORT][?leds=N]     ask the JSON API, then DDP (vid ≥ MinDDPVID) or DNRGB
//	HOST[:HTTPPORT]                     the same
//	ddp://HOST[:PORT][?leds=N][&rgbw=1] DDP straight to that UDP port (default 4048)
//	drgb://, drgbw://, dnrgb://, warls://HOST[:PORT][?leds=N]
//	                                    UDP realtime straight to that port (default 21324)
//
// On wled:// targets ?leds=N overrides the device's LED count, and ?ddpport=N sends DDP to a port
// other than 4048 (real WLEDs always use 4048; test doubles cannot).
type Target struct {
	Protocol Protocol // ProtocolAuto until Complete picks DDP or DNRGB
	Host     string   // host name or IP address, without brackets
	Port     int      // UDP port for frames; 0 for an unresolved wled:// target
	HTTPPort int      // JSON API port; 0 when no API is known (ddp://, dnrgb://, …)
	LEDs     int      // LED count; 0 = not given yet (--leds or the JSON API supply it)
	RGBW     bool     // 4 bytes per LED
	DDPPort  int      // wled:// only: DDP port override; 0 means DDPPort (4048)
}

// ParseTarget parses a device URL (see Target).
func ParseTarget(s string) (Target, error) {
	t, err := parseTarget(s)
	if err != nil {
		return Target{}, fmt.Errorf("%w %q: %v", ErrBadTarget, s, err)
	}
	return t, nil
}

func parseTarget(s string) (Target, error) {
	if s == "" {
		return Target{}, errors.New("empty")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return Target{}, errors.New("contains white space")
	}
	if !strings.Contains(s, "://") {
		if strings.Count(s, ":") >= 2 && !strings.HasPrefix(s, "[") {
			s = "[" + s + "]" // a bare IPv6 literal (HOST:PORT has one colon)
		}
		s = "wled://" + s
	}
	s, err := escapeZone(s)
	if err != nil {
		return Target{}, err
	}
	u, err := url.Parse(s)
	if err != nil {
		return Target{}, err
	}
	var t Target
	defaultPort := RealtimePort
	switch strings.ToLower(u.Scheme) {
	case "wled":
		t.Protocol, defaultPort = ProtocolAuto, DefaultHTTPPort
	case "ddp":
		t.Protocol, defaultPort = ProtocolDDP, DDPPort
	case "warls":
		t.Protocol = ProtocolWARLS
	case "drgb":
		t.Protocol = ProtocolDRGB
	case "drgbw":
		t.Protocol, t.RGBW = ProtocolDRGBW, true
	case "dnrgb":
		t.Protocol = ProtocolDNRGB
	default:
		return Target{}, fmt.Errorf("unknown scheme %q (want wled, ddp, dnrgb, drgb, drgbw or warls)", u.Scheme)
	}
	switch {
	case u.Opaque != "":
		return Target{}, fmt.Errorf("want %s://HOST[:PORT]", u.Scheme)
	case u.User != nil:
		return Target{}, errors.New("user info is not allowed")
	case u.Path != "" && u.Path != "/":
		return Target{}, fmt.Errorf("unexpected path %q", u.Path)
	case u.Fragment != "" || strings.HasSuffix(s, "#"):
		return Target{}, errors.New("unexpected #fragment")
	case u.Hostname() == "":
		return Target{}, errors.New("no host")
	}
	t.Host = u.Hostname()
	if strings.ContainsAny(t.Host, "/?#@[]\\") {
		return Target{}, fmt.Errorf("bad host %q", t.Host)
	}
	if strings.Contains(t.Host, ":") {
		if a, err := netip.ParseAddr(t.Host); err != nil || !a.Is6() {
			return Target{}, fmt.Errorf("bad host %q", t.Host)
		}
	}
	port := defaultPort
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		if port, err = parsePort(p); err != nil {
			return Target{}, err
		}
	}
	if t.Protocol == ProtocolAuto {
		t.HTTPPort = port
	} else {
		t.Port = port
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Target{}, fmt.Errorf("query: %v", err)
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return Target{}, fmt.Errorf("?%s given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "leds":
			n, err := strconv.Atoi(v)
			max := t.Protocol.maxLEDs()
			if err != nil || n < 1 || n > max {
				return Target{}, fmt.Errorf("?leds=%q: want a whole number 1..%d for %v", v, max, t.Protocol)
			}
			t.LEDs = n
		case "rgbw":
			var w bool
			switch v {
			case "1", "true":
				w = true
			case "0", "false":
			default:
				return Target{}, fmt.Errorf("?rgbw=%q: want 1 or 0", v)
			}
			switch t.Protocol {
			case ProtocolAuto:
				return Target{}, errors.New("?rgbw is not allowed on wled:// (the JSON API reports it)")
			case ProtocolDRGBW:
				if !w {
					return Target{}, errors.New("drgbw:// always carries RGBW")
				}
			case ProtocolDDP:
				t.RGBW = w
			default:
				if w {
					return Target{}, fmt.Errorf("%v:// carries RGB only; use drgbw:// or ddp://…?rgbw=1", t.Protocol)
				}
			}
		case "ddpport":
			if t.Protocol != ProtocolAuto {
				return Target{}, fmt.Errorf("?ddpport is only for wled:// (use the port of %v://HOST:PORT)", t.Protocol)
			}
			if t.DDPPort, err = parsePort(v); err != nil {
				return Target{}, fmt.Errorf("?ddpport: %v", err)
			}
		default:
			return Target{}, fmt.Errorf("unknown parameter ?%s (want leds, rgbw or, on wled://, ddpport)", key)
		}
	}
	return t, nil
}

// escapeZone writes the zone of a bracketed IPv6 host as a URL must (RFC 6874: "%25" then the
// zone): operators copy link-local addresses as `ip` prints them, fe80::1%eth0, whose "%" a URL
// parser takes for an escape ("invalid URL escape %et"). A zone already escaped is kept.
func escapeZone(s string) (string, error) {
	scheme, rest, _ := strings.Cut(s, "://")
	host, after, closed := strings.Cut(strings.TrimPrefix(rest, "["), "]")
	if !strings.HasPrefix(rest, "[") || !closed {
		return s, nil // no bracketed host: url.Parse says what is wrong, if anything
	}
	addr, zone, hasZone := strings.Cut(host, "%")
	if !hasZone {
		return s, nil
	}
	zone = strings.TrimPrefix(zone, "25")
	if a, err := netip.ParseAddr(addr); err != nil || !a.Is6() || !isZoneName(zone) {
		return "", fmt.Errorf("bad host %q: want an IPv6 address with its interface name, as [fe80::1%%25eth0] or fe80::1%%eth0", host)
	}
	return scheme + "://[" + addr + "%25" + zone + "]" + after, nil
}

// isZoneName reports whether zone looks like an interface name or index (eth0, wlan0, br-lan,
// enp1s0.100, 3): ASCII letters, digits, ".", "_" and "-" only, so it needs no escaping in a URL.
func isZoneName(zone string) bool {
	if zone == "" || len(zone) > 64 {
		return false
	}
	for _, c := range []byte(zone) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func parsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
		return 0, fmt.Errorf("port %q is not 1..65535", p)
	}
	return n, nil
}

// String is the canonical device URL for t.
func (t Target) String() string {
	port := t.Port
	if t.Protocol == ProtocolAuto {
		port = t.HTTPPort
	}
	var q []string
	if t.LEDs > 0 {
		q = append(q, "leds="+strconv.Itoa(t.LEDs))
	}
	if t.RGBW && t.Protocol == ProtocolDDP {
		q = append(q, "rgbw=1")
	}
	if t.DDPPort > 0 && t.Protocol == ProtocolAuto {
		q = append(q, "ddpport="+strconv.Itoa(t.DDPPort))
	}
	u := url.URL{Scheme: t.Protocol.String(), Host: net.JoinHostPort(t.Host, strconv.Itoa(port)), RawQuery: strings.Join(q, "&")}
	return u.String() // escapes an IPv6 zone's "%" as "%25"
}

// UDPAddr is "host:port" for frames.
func (t Target) UDPAddr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// HTTPAddr is "host:port" of the JSON API, or "" when none is known.
func (t Target) HTTPAddr() string {
	if t.HTTPPort == 0 {
		return ""
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(t.HTTPPort))
}

// ChooseProtocol picks the protocol for a device from its /json/info: DDP from vid MinDDPVID on,
// DNRGB (UDP realtime, which every WLED version understands) before that.
func ChooseProtocol(info Info) Protocol {
	if info.VID >= MinDDPVID {
		return ProtocolDDP
	}
	return ProtocolDNRGB
}

// MinDDPRGBWVID is the first WLED build (2022-09, 0.14 development) that reads RGBW over DDP;
// 0.13.x takes every DDP frame as RGB, so 4-byte pixels would come out garbled.
const MinDDPRGBWVID = 2209000

// StreamFormat says how frames for protocol p should look for a device with info: whether they
// carry a white channel (DDP only from 0.14 on; DRGBW always; DNRGB, DRGB and WARLS never — WLED
// derives white itself) and how many LEDs one frame can address.
func StreamFormat(p Protocol, info Info) (rgbw bool, maxLEDs int) {
	switch p {
	case ProtocolDDP:
		rgbw = info.LEDs.HasWhite() && info.VID >= MinDDPRGBWVID
	case ProtocolDRGBW:
		rgbw = true
	}
	return rgbw, p.maxLEDs()
}

// ProtocolNames are the values of a protocol setting (the config's output.protocol) that
// ParseProtocol reads.
var ProtocolNames = []string{"auto", "ddp", "dnrgb", "drgb", "drgbw", "warls"}

// ParseProtocol reads a protocol setting (the config's output.protocol): "" or "auto" is
// ProtocolAuto, "ddp", "dnrgb", "drgb", "drgbw" and "warls" (any case) name that protocol.
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return ProtocolAuto, nil
	case "ddp":
		return ProtocolDDP, nil
	case "dnrgb":
		return ProtocolDNRGB, nil
	case "drgb":
		return ProtocolDRGB, nil
	case "drgbw":
		return ProtocolDRGBW, nil
	case "warls":
		return ProtocolWARLS, nil
	}
	return ProtocolUnknown, fmt.Errorf("unknown protocol %q (want one of %s)", s, strings.Join(ProtocolNames, ", "))
}

// Complete fills in a wled:// target from the device's JSON API, making it sendable: protocol
// (ChooseProtocol), LED count (unless the URL gave ?leds), RGBW and ports. It looks no names up
// (the caller dials the host it is given). Other targets are returned unchanged with a zero Info.
// It is CompleteAs with ProtocolAuto.
func (c *Client) Complete(ctx context.Context, t Target) (Target, Info, error) {
	return c.CompleteAs(ctx, t, ProtocolAuto)
}

// CompleteAs is Complete with the protocol for a wled:// target forced to p (the config's
// output.protocol; ProtocolAuto chooses as Complete does): see StreamTarget. A ddp://, dnrgb://, …
// target keeps its own protocol and is returned unchanged with a zero Info.
func (c *Client) CompleteAs(ctx context.Context, t Target, p Protocol) (Target, Info, error) {
	if t.Protocol != ProtocolAuto {
		return t, Info{}, nil
	}
	if err := checkStreamProtocol(p); err != nil {
		return Target{}, Info{}, fmt.Errorf("resolving %s: %w", t, err) // before any request
	}
	info, err := c.Info(ctx, t.HTTPAddr())
	if err != nil {
		return Target{}, Info{}, fmt.Errorf("resolving %s: %w", t, err)
	}
	out, err := StreamTarget(t, info, p)
	if err != nil {
		return Target{}, info, fmt.Errorf("resolving %s: %w", t, err)
	}
	return out, info, nil
}

// StreamPort is the UDP port frames with protocol p go to on a device with info: DDP to
// ddpPort (a URL's ?ddpport; 0 for DDPPort), the UDP realtime protocols to the device's udpport
// (else RealtimePort).
func StreamPort(p Protocol, info Info, ddpPort int) int {
	switch {
	case p == ProtocolDDP && ddpPort != 0:
		return ddpPort
	case p == ProtocolDDP:
		return DDPPort
	case info.UDPPort > 0:
		return info.UDPPort
	}
	return RealtimePort
}

// checkStreamProtocol returns an error unless p is ProtocolAuto or a protocol frames can be sent with.
func checkStreamProtocol(p Protocol) error {
	switch p {
	case ProtocolAuto, ProtocolDDP, ProtocolDNRGB, ProtocolDRGB, ProtocolDRGBW, ProtocolWARLS:
		return nil
	}
	return fmt.Errorf("cannot stream with %v", p)
}

// StreamProtocol is the protocol frames for a device with info go out with when p is asked for
// (the config's output.protocol): for ProtocolAuto the firmware's best (ChooseProtocol); for DDP
// on firmware known to predate it (vid 1 to MinDDPVID-1: WLED before 0.13 drops DDP packets,
// so the strip would stay dark without a word) DNRGB, the automatic choice for that firmware,
// which every WLED version takes; p otherwise, also DDP to a device that reports no vid (the
// operator's choice stands where nothing says it cannot work). A caller that forced p can
// compare the result with it to log the fallback; the returned Target of StreamTarget and
// Client.CompleteAs carries it.
func StreamProtocol(p Protocol, info Info) Protocol {
	switch {
	case p == ProtocolAuto:
		return ChooseProtocol(info)
	case p == ProtocolDDP && info.VID > 0 && info.VID < MinDDPVID:
		return ProtocolDNRGB
	}
	return p
}

// StreamTarget is where frames for wled:// target t go, given the device's /json/info: with
// StreamProtocol(p, info) (so the returned Protocol is the one actually sent, DNRGB for a forced
// DDP the firmware predates); its LED count (the URL's ?leds, else the device's), clamped to
// what that protocol carries; RGBW per StreamFormat; DDP to DDPPort (or the URL's ?ddpport), UDP
// realtime to the device's udpport (else RealtimePort). Client.CompleteAs goes through here, and
// discovery, for the devices it finds, through StreamProtocol with the same ports, so that a
// forced protocol means the same everywhere. It returns an error for a p that is not a
// protocol, or when no LED count is known.
func StreamTarget(t Target, info Info, p Protocol) (Target, error) {
	if err := checkStreamProtocol(p); err != nil {
		return Target{}, err
	}
	p = StreamProtocol(p, info)
	out := t
	out.Protocol = p
	out.DDPPort = 0
	if out.LEDs == 0 {
		out.LEDs = info.LEDs.Count
	}
	if out.LEDs == 0 {
		return Target{}, errors.New("the device reports 0 LEDs")
	}
	if err := CheckForcedLEDs(t, p); err != nil {
		return Target{}, err
	}
	out.Port = StreamPort(p, info, t.DDPPort)
	var most int
	out.RGBW, most = StreamFormat(p, info)
	out.LEDs = min(out.LEDs, most) // the device's own count: the caller warns (compare info.LEDs.Count)
	return out, nil
}

// DriveAllLEDsAdvice is what an operator does about a device with more LEDs than the forced
// output.protocol carries (MostLEDs), whose strip then lights only at its start: join's warning
// and test-pattern's note give the same advice.
const DriveAllLEDsAdvice = "set output.protocol to dnrgb or ddp (or auto) to drive them all"

// MostLEDs is the most LEDs one frame of protocol p addresses: MaxLEDs for DDP and DNRGB, 490
// for DRGB, 367 for DRGBW, 255 for WARLS (0 for a value that is no protocol).
func MostLEDs(p Protocol) int { return p.maxLEDs() }

// CheckForcedLEDs returns a *ForcedLEDsError (ErrTooManyLEDs) when wled:// target t gives an
// LED count (?leds=N) that the protocol p forced on it (the config's output.protocol) cannot
// carry: the operator said how long the strip is, and driving only its start would contradict
// that without a word, as a drgb://…?leds=491 line is refused. A device's own count above the
// limit is no error: the stream covers the strip's start, and the caller warns. Other targets
// keep their own protocol, already checked by ParseTarget.
func CheckForcedLEDs(t Target, p Protocol) error {
	if t.Protocol != ProtocolAuto || p == ProtocolAuto || t.LEDs <= MostLEDs(p) {
		return nil
	}
	return &ForcedLEDsError{LEDs: t.LEDs, Protocol: p, Most: MostLEDs(p)}
}

// ForcedLEDsError is CheckForcedLEDs's refusal: a wled:// line asks for LEDs (?leds=) more than
// the forced Protocol carries (Most). Its message is the one every check of the limit gives; a
// caller with more to say (a reload whose file sets another protocol than the running one)
// finds it with errors.As. It is ErrTooManyLEDs.
type ForcedLEDsError struct {
	LEDs     int
	Protocol Protocol
	Most     int
}

func (e *ForcedLEDsError) Error() string {
	return fmt.Sprintf("%v: ?leds=%d is more than output.protocol %v carries (%d LEDs); set output.protocol to dnrgb or ddp to drive the whole strip, or give ?leds=%d or fewer",
		ErrTooManyLEDs, e.LEDs, e.Protocol, e.Most, e.Most)
}

// Unwrap makes the error ErrTooManyLEDs to errors.Is.
func (e *ForcedLEDsError) Unwrap() error { return ErrTooManyLEDs }
