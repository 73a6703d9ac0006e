package wled

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ledbridge/ledbridge/bridge/printable"
)

// Defaults for Client's zero fields.
const (
	// DefaultAPITimeout bounds one JSON API request (connect, send, read).
	DefaultAPITimeout = 2 * time.Second
	// DefaultMaxResponseBytes caps a JSON API reply. A real /json/info is 1–3 KiB.
	DefaultMaxResponseBytes = 64 << 10
	// DefaultHTTPPort is WLED's web server port.
	DefaultHTTPPort = 80
)

// MaxLEDs is the largest LED count ledbridge accepts for one device. It bounds the memory a
// device (or a hostile /json/info) can make us allocate: 16384 RGBW LEDs are a 64 KiB frame.
const MaxLEDs = 16384

// Client talks to WLED's JSON API. The zero value is ready to use; it is safe for concurrent use.
type Client struct {
	// HTTP is the client used for requests; nil means a private client with no redirects.
	HTTP *http.Client
	// Timeout bounds each request in addition to the caller's context; 0 means DefaultAPITimeout.
	Timeout time.Duration
	// MaxResponseBytes caps a reply body; 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int64
}

// defaultHTTPClient refuses redirects: a WLED never redirects its JSON API, and following one
// could lead a LAN-discovered "device" to make us fetch arbitrary URLs. It talks to the device
// directly (a proxy from the environment would never reach a LAN controller) and keeps no idle
// connections: requests are rare, and an ESP's few sockets are better left free.
var defaultHTTPClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		Proxy:                  nil,
		DialContext:            (&net.Dialer{Timeout: DefaultAPITimeout}).DialContext,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 16 << 10,
		ResponseHeaderTimeout:  DefaultAPITimeout,
	},
}

func (c *Client) httpClient() *http.Client {
	if c != nil && c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTPClient
}

func (c *Client) timeout() time.Duration {
	if c != nil && c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultAPITimeout
}

func (c *Client) maxBytes() int64 {
	if c != nil && c.MaxResponseBytes > 0 {
		return c.MaxResponseBytes
	}
	return DefaultMaxResponseBytes
}

// infoReply mirrors Info with pointers for the fields whose absence means "not WLED".
type infoReply struct {
	Name    string  `json:"name"`
	Version *string `json:"ver"`
	VID     int     `json:"vid"`
	MAC     string  `json:"mac"`
	IP      string  `json:"ip"`
	Arch    string  `json:"arch"`
	LEDs    *struct {
		Count *int  `json:"count"`
		RGBW  bool  `json:"rgbw"`
		LC    int   `json:"lc"`
		SegLC []int `json:"seglc"`
		FPS   int   `json:"fps"`
	} `json:"leds"`
	UDPPort  int    `json:"udpport"`
	Live     bool   `json:"live"`
	LiveMode string `json:"lm"`
	LiveIP   string `json:"lip"`
}

// ParseInfo decodes a GET /json/info body. It returns an error wrapping ErrNotWLED when the body
// is not JSON, lacks ver or leds.count, has a field of the wrong type, or has values out of range.
// The strings it keeps are made safe to store and show: name is cut to MaxNameRunes, ver, arch and
// lm to MaxTagRunes, and control and bidi-override characters are replaced by U+FFFD; a mac that
// is not a MAC address becomes "" (as a missing one), and so does an ip or lip that is not an
// address; lip 0.0.0.0 (WLED's "no realtime sender") becomes "" too.
func ParseInfo(body []byte) (Info, error) {
	var r infoReply
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&r); err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrNotWLED, err)
	}
	// More would miss a stray } or ]: only the end of the body may follow the object.
	if _, err := dec.Token(); err != io.EOF {
		return Info{}, fmt.Errorf("%w: trailing data after the JSON object", ErrNotWLED)
	}
	switch {
	case r.Version == nil || *r.Version == "":
		return Info{}, fmt.Errorf("%w: no \"ver\" string", ErrNotWLED)
	case r.LEDs == nil || r.LEDs.Count == nil:
		return Info{}, fmt.Errorf("%w: no \"leds.count\"", ErrNotWLED)
	case *r.LEDs.Count < 0 || *r.LEDs.Count > MaxLEDs:
		return Info{}, fmt.Errorf("%w: leds.count %d outside 0..%d", ErrNotWLED, *r.LEDs.Count, MaxLEDs)
	case r.UDPPort < 0 || r.UDPPort > 65535:
		return Info{}, fmt.Errorf("%w: udpport %d outside 0..65535", ErrNotWLED, r.UDPPort)
	case r.VID < 0:
		return Info{}, fmt.Errorf("%w: negative vid %d", ErrNotWLED, r.VID)
	}
	return Info{
		Name:    printable.Replace(r.Name, MaxNameRunes),
		Version: printable.Replace(*r.Version, MaxTagRunes),
		VID:     r.VID,
		MAC:     NormalizeMAC(r.MAC),
		IP:      cleanIP(r.IP),
		Arch:    printable.Replace(r.Arch, MaxTagRunes),
		LEDs: LEDsInfo{
			Count: *r.LEDs.Count,
			RGBW:  r.LEDs.RGBW,
			LC:    r.LEDs.LC,
			SegLC: segLC(r.LEDs.SegLC),
			FPS:   r.LEDs.FPS,
		},
		UDPPort:  r.UDPPort,
		Live:     r.Live,
		LiveMode: printable.Replace(r.LiveMode, MaxTagRunes),
		LiveIP:   cleanLiveIP(r.LiveIP),
	}, nil
}

// maxSegLC bounds the seglc kept per device: a WLED has at most 64 segments (FX.h
// MAX_NUM_SEGMENTS), and any host on the LAN can answer as a "WLED".
const maxSegLC = 256

// segLC is seglc as kept: nil when empty or longer than any WLED sends, so that lc decides.
func segLC(s []int) []int {
	if len(s) == 0 || len(s) > maxSegLC {
		return nil
	}
	return s
}

// Caps on /json/info's strings. Any host on the LAN can answer as a "WLED", and what it says is
// kept per device and shown on the status page several times a second: without caps, 512 such
// devices with 63 KB names made a 55 MB status snapshot. WLED's own name field holds 32
// characters; versions ("0.15.3", "17.0.0-devV5"), arch ("esp32-s3") and lm ("E1.31") are shorter.
const (
	MaxNameRunes = 64 // name
	MaxTagRunes  = 32 // ver, arch, lm
)

// cleanIP returns s if it is an IP address literal (in canonical form), else "". WLED reports its
// own IPv4 address here, or "" while it has none.
func cleanIP(s string) string {
	if len(s) > 64 {
		return ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	return a.String()
}

// cleanLiveIP is cleanIP for lip. WLED sends "" when no realtime sender is known (realtimeIP[0]
// == 0, json.cpp serializeInfo); an unspecified address means the same.
func cleanLiveIP(s string) string {
	if a, err := netip.ParseAddr(cleanIP(s)); err == nil && !a.Unmap().IsUnspecified() {
		return a.String()
	}
	return ""
}

// NormalizeMAC returns mac as 12 lower-case hex digits, accepting upper case and ':' or '-'
// separators, or "" when mac is not a MAC address. WLED sends 12 lower-case hex digits; this is
// the one form devices are keyed by.
func NormalizeMAC(mac string) string {
	if len(mac) > 17 {
		return ""
	}
	var b [12]byte
	n := 0
	for i := 0; i < len(mac); i++ {
		c := mac[i]
		switch {
		case c == ':' || c == '-':
			continue
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return ""
		}
		if n == len(b) {
			return ""
		}
		b[n] = c
		n++
	}
	if n != len(b) {
		return ""
	}
	return string(b[:])
}

// Info fetches GET http://hostport/json/info. hostport is "host", "host:port", "[v6]" or
// "[v6]:port"; the port defaults to 80.
func (c *Client) Info(ctx context.Context, hostport string) (Info, error) {
	u, err := apiURL(hostport, "/json/info")
	if err != nil {
		return Info{}, fmt.Errorf("wled info: %w", err)
	}
	body, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Info{}, fmt.Errorf("wled info %s: %w", hostport, err)
	}
	info, err := ParseInfo(body)
	if err != nil {
		return Info{}, fmt.Errorf("wled info %s: %w", hostport, err)
	}
	return info, nil
}

// SetLive POSTs {"live":true|false} to http://hostport/json/state. {"live":false} makes WLED
// leave realtime mode at once and resume its own effect; {"live":true} locks realtime mode with
// no timeout, which leaves the strip frozen if we die, so ledbridge only ever sends false.
func (c *Client) SetLive(ctx context.Context, hostport string, live bool) error {
	u, err := apiURL(hostport, "/json/state")
	if err != nil {
		return fmt.Errorf("wled set live: %w", err)
	}
	body := []byte(`{"live":false}`)
	if live {
		body = []byte(`{"live":true}`)
	}
	if _, err := c.do(ctx, http.MethodPost, u, body); err != nil {
		return fmt.Errorf("wled set live %s: %w", hostport, err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	max := c.maxBytes()
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: Content-Length %d > %d bytes", ErrResponseTooLarge, resp.ContentLength, max)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading reply: %w", err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, max)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%w: %s", ErrHTTPStatus, resp.Status)
	}
	return data, nil
}

// apiURL builds http://hostport/path after checking that hostport names only a host and port.
func apiURL(hostport, path string) (string, error) {
	host, port, err := SplitHostPort(hostport, DefaultHTTPPort)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: path}
	return u.String(), nil
}

// SplitHostPort splits "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 literal into a
// host and a port (defaultPort when none is given). It rejects empty hosts, ports outside
// 1..65535, and anything that is not a plain host (paths, user info, spaces, schemes).
func SplitHostPort(hostport string, defaultPort int) (host string, port int, err error) {
	if hostport == "" {
		return "", 0, fmt.Errorf("%w: empty", ErrBadHostPort)
	}
	if strings.ContainsAny(hostport, "/?#@ \t\r\n\\") {
		return "", 0, fmt.Errorf("%w: %q contains characters not allowed in a host:port", ErrBadHostPort, hostport)
	}
	if a, perr := netip.ParseAddr(hostport); perr == nil && a.Is6() {
		return hostport, defaultPort, nil // bare IPv6 literal, no port
	}
	h, p, serr := net.SplitHostPort(hostport)
	if serr != nil {
		if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
			h = hostport[1 : len(hostport)-1]
			if a, perr := netip.ParseAddr(h); perr != nil || !a.Is6() {
				return "", 0, fmt.Errorf("%w: %q is not a bracketed IPv6 address", ErrBadHostPort, hostport)
			}
			return h, defaultPort, nil
		}
		if strings.ContainsAny(hostport, ":[]%") {
			return "", 0, fmt.Errorf("%w: %q: %v", ErrBadHostPort, hostport, serr)
		}
		return hostport, defaultPort, nil
	}
	if h == "" {
		return "", 0, fmt.Errorf("%w: %q has no host", ErrBadHostPort, hostport)
	}
	if strings.Contains(h, "%") { // only an IPv6 zone ("fe80::1%eth0") may carry one
		if a, perr := netip.ParseAddr(h); perr != nil || !a.Is6() {
			return "", 0, fmt.Errorf("%w: %q is not a host", ErrBadHostPort, h)
		}
	}
	n, perr := strconv.Atoi(p)
	if perr != nil || n < 1 || n > 65535 || p != strconv.Itoa(n) {
		return "", 0, fmt.Errorf("%w: port %q in %q is not 1..65535", ErrBadHostPort, p, hostport)
	}
	return h, n, nil
}
