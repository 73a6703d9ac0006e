package config

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// handshake is what the loopback server saw of a Realtime client's WebSocket upgrade request.
type handshake struct {
	host, path, auth string
}

// joinReaches reports whether `join`'s Realtime client, given raw as supabase.url, gets as far as
// sending its WebSocket handshake, and what the server saw of it; or else why not. It runs the
// real client (realtime.New, Run) with Go's HTTP client and TLS. Only the address is faked, as no
// test may leave loopback: the transport's dial goes to a loopback server (TLS for https and wss)
// whatever the host, after the dialer's own check of the port (net.LookupPort, as net.Dial does;
// port 0 is dialled as it is, and no server listens there). Name resolution is the one step left
// out: a host DNS does not know fails there at run time, and config check warns of the names Go's
// resolver would not even look up (realtimeURLWarnings).
func joinReaches(t *testing.T, raw string) (handshake, error) {
	t.Helper()
	seen := make(chan handshake, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case seen <- handshake{host: r.Host, path: r.URL.Path, auth: r.Header.Get("Authorization")}:
		default:
		}
		http.Error(w, `{"error":"test server: refused after recording the handshake"}`, http.StatusForbidden)
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	secure := httptest.NewTLSServer(handler)
	defer secure.Close()

	checkPort := func(ctx context.Context, network, addr string) (string, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return "", err
		}
		n, err := net.DefaultResolver.LookupPort(ctx, network, port)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "127.0.0.1:0", nil
		}
		return "", nil
	}
	var d net.Dialer
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			to, err := checkPort(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if to == "" {
				to = plain.Listener.Addr().String()
			}
			return d.DialContext(ctx, network, to)
		},
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			to, err := checkPort(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if to == "" {
				to = secure.Listener.Addr().String()
			}
			conn, err := d.DialContext(ctx, network, to)
			if err != nil {
				return nil, err
			}
			// The test server's certificate names no host of these URLs.
			tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // loopback test server
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, err
			}
			return tc, nil
		},
	}
	defer transport.CloseIdleConnections()

	failed := make(chan error, 1)
	client, err := realtime.New(realtime.Config{
		URL: raw, APIKey: "anon-key", Channel: "room:JAM234",
		HTTPClient: &http.Client{Transport: transport},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnStatus: func(s realtime.Status) {
			if s.Err != nil {
				select {
				case failed <- s.Err:
				default:
				}
			}
		},
	})
	if err != nil {
		return handshake{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- client.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case h := <-seen:
		return h, nil
	case err := <-failed:
		select { // the status may follow the server's answer
		case h := <-seen:
			return h, nil
		default:
			return handshake{}, err
		}
	case <-time.After(30 * time.Second): // a hang, not a measured time
		return handshake{}, errors.New("neither a handshake nor an error within 30 s")
	}
}

// Config check (the installer's upgrade guard) refuses a supabase.url exactly when `join`'s
// Realtime client, with Go's HTTP client and dialer, refuses it before sending its handshake:
// checked against the real client for each URL, and against the verdict written here, so that a
// broken harness cannot make the two agree by refusing everything.
func TestSupabaseURLCheckAgreesWithRealtimeClient(t *testing.T) {
	for _, tc := range []struct {
		url    string
		accept bool
		host   string // the Host header the server sees, when accepted
	}{
		{"https://abcdefgh.supabase.co", true, "abcdefgh.supabase.co"},
		{"http://supabase_kong:8000", true, "supabase_kong:8000"}, // a Docker service name
		{"https://user:pw@proxy.venue.lan", true, "proxy.venue.lan"},
		{"https://bühne.example", true, "xn--bhne-0ra.example"},
		{"https://bühne_kong.example", true, "xn--bhne_kong-q9a.example"},
		{"https://\xff.example", true, "xn--zn7c.example"}, // not UTF-8: U+FFFD, as Go's IDNA maps it
		{"http://192.168.1.20:54321/", true, "192.168.1.20:54321"},
		{"wss://[fd00::5]:4000/realtime/v1/websocket", true, "[fd00::5]:4000"},
		{"ws://raspberrypi.local:4000", true, "raspberrypi.local:4000"},
		{"https://x.supabase.co:", true, "x.supabase.co"}, // an empty port is the scheme's
		{"https://300.1.1.1", true, "300.1.1.1"},          // warned about: not a name DNS is asked for
		{"http://:54321", true, ":54321"},                 // warned about: this machine
		{"https://", false, ""},                           // no host
		{"https:x.supabase.co", false, ""},                // no host either (opaque)
		{"x.supabase.co", false, ""},                      // no scheme
		{"ftp://x.supabase.co", false, ""},                // wrong scheme
		{"https://exa mple.co", false, ""},                // does not parse
		{"https://x.supabase.co:https", false, ""},        // does not parse
		{"wss://x.supabase.co:99999", false, ""},          // port out of range
		{"https://x.supabase.co:0", false, ""},            // port 0: nothing listens
		{"https://a<b.example", false, ""},                // no Host header holds <: Go sends none
		{"https://x.supabase.co/%zz", false, ""},          // bad escape
		{"http://[fd00::5", false, ""},                    // unclosed bracket
		{"https://x.supabase.co:8000:9000", false, ""},    // two ports
	} {
		t.Run(tc.url, func(t *testing.T) {
			h, joinErr := joinReaches(t, tc.url)
			c := Default()
			c.Supabase.URL, c.Supabase.Key = tc.url, "anon-key"
			checkErr := c.Validate()

			// A request that reached the server without its Host header (Go drops one no Host
			// header may hold and sends the request all the same) is one no real server routes.
			joinWorks := joinErr == nil && h.host != ""
			if joinWorks != tc.accept {
				t.Errorf("join: reached the server naming its host = %v, want %v (err %v, Host %q)", joinWorks, tc.accept, joinErr, h.host)
			}
			if (checkErr == nil) != tc.accept {
				t.Errorf("config check: accepted = %v, want %v (%v)", checkErr == nil, tc.accept, checkErr)
			}
			if checkErr != nil {
				wantKeyError(t, checkErr, "supabase.url", tc.url)
			}
			if joinWorks {
				if h.host != tc.host || h.path != "/realtime/v1/websocket" {
					t.Errorf("the server saw Host %q path %q, want %q /realtime/v1/websocket", h.host, h.path, tc.host)
				}
			}
		})
	}
}

// The proxy's credentials in the URL reach the proxy (as HTTP basic authentication): the form is
// one to accept, not a mistake to refuse.
func TestSupabaseURLUserInfoIsSent(t *testing.T) {
	h, err := joinReaches(t, "https://venue:s3cret@proxy.venue.lan")
	if err != nil {
		t.Fatal(err)
	}
	if h.auth != "Basic dmVudWU6czNjcmV0" { // base64("venue:s3cret")
		t.Errorf("Authorization = %q, want the URL's user and password as basic authentication", h.auth)
	}
}

// URLs that work but look like mistakes load with a warning naming supabase.url.
func TestSupabaseURLWarnings(t *testing.T) {
	for _, tc := range []struct {
		url   string
		words []string // in the one warning; none means no warning
	}{
		{"https://300.1.1.1", []string{"supabase.url", `"300.1.1.1"`, "neither an IP address nor a DNS name", "/etc/hosts"}},
		{"http://1.2.3.4.5:8000", []string{"supabase.url", `"1.2.3.4.5"`, "/etc/hosts"}},
		{"http://:54321", []string{"supabase.url", "no host name", "this machine", "localhost"}},
		{"https://abcdefgh.supabase.co", nil},
		{"http://supabase_kong:8000", nil},
		{"https://bühne.example", nil},
		{"https://user:pw@proxy.venue.lan", nil},
		{"http://192.168.1.20:54321", nil},
		{"http://[fe80::1%25eth0]:54321", nil},
		{"http://raspberrypi:54321", nil},
		{"http://1-2.example:54321", nil},
	} {
		loaded, err := loadFile(t, "supabase:\n  url: \""+tc.url+"\"\n  key: k\n")
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if tc.words == nil {
			if len(loaded.Warnings) != 0 {
				t.Errorf("%s: warnings %q, want none", tc.url, loaded.Warnings)
			}
			continue
		}
		if len(loaded.Warnings) != 1 {
			t.Errorf("%s: warnings %q, want one", tc.url, loaded.Warnings)
			continue
		}
		for _, w := range tc.words {
			if !strings.Contains(loaded.Warnings[0], w) {
				t.Errorf("%s: warning %q does not mention %q", tc.url, loaded.Warnings[0], w)
			}
		}
	}
}

// A password in supabase.url is a secret: `config show` (Redacted) hides it, and a file readable
// by others that holds one is warned about.
func TestSupabaseURLPasswordIsASecret(t *testing.T) {
	c := Default()
	c.Supabase.URL = "https://venue:s3cret@proxy.venue.lan/base"
	got := Redacted(c).Supabase.URL
	if got != "https://venue:xxxxx@proxy.venue.lan/base" {
		t.Errorf("Redacted URL = %q, want the password replaced by xxxxx", got)
	}
	if c.Supabase.URL != "https://venue:s3cret@proxy.venue.lan/base" {
		t.Error("Redacted changed its argument")
	}
	for _, keep := range []string{"https://venue@proxy.venue.lan", "https://x.supabase.co", ""} {
		c.Supabase.URL = keep
		if got := Redacted(c).Supabase.URL; got != keep {
			t.Errorf("Redacted(%q) = %q, want it unchanged", keep, got)
		}
	}

	for _, tc := range []struct {
		url  string
		warn bool
	}{{"https://venue:s3cret@proxy.venue.lan", true}, {"https://venue@proxy.venue.lan", false}} {
		p := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(p, []byte("supabase:\n  url: "+tc.url+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
			t.Fatal(err)
		}
		loaded, err := Load(Options{File: p, LookupEnv: func(k string) (string, bool) {
			return "anon-key", k == "LEDBRIDGE_SUPABASE_KEY"
		}, Getenv: noHome, SystemFile: filepath.Join(t.TempDir(), "absent.yaml")})
		if err != nil {
			t.Fatal(err)
		}
		warned := len(loaded.Warnings) == 1 && strings.Contains(loaded.Warnings[0], "readable by other users")
		if warned != tc.warn || len(loaded.Warnings) > 1 {
			t.Errorf("%s in a 0644 file: warnings %q, want the secrets warning: %v", tc.url, loaded.Warnings, tc.warn)
		}
	}
}

// A proxy password in supabase.url never reaches a warning or an error (both end up in the
// journal, and config check's output on the installer's terminal).
func TestSupabaseURLPasswordNotQuoted(t *testing.T) {
	loaded, err := loadFile(t, "supabase:\n  url: \"http://venue:s3cret@:54321\"\n  key: k\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Warnings) != 1 || strings.Contains(loaded.Warnings[0], "s3cret") {
		t.Errorf("warnings %q: want one, without the password", loaded.Warnings)
	}
	c := Default()
	c.Supabase.URL, c.Supabase.Key = "ftp://venue:s3cret@proxy.venue.lan", "k"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "supabase.url") {
		t.Errorf("a refused URL with a password: %v", err)
	}
	if got := PublicURL("https://venue:s3cret@proxy.venue.lan:8443/x"); got != "https://proxy.venue.lan:8443/x" {
		t.Errorf("PublicURL = %q", got)
	}
}
