package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/sdnotify"
)

func init() {
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Run the LAN room server alone (speaks Supabase Realtime; point supabase-js at it)",
		Long: `Runs ledbridge's embedded room server without joining a room. It serves
/realtime/v1/websocket exactly as Supabase Realtime does, so the jam web app's
supabase-js client works unchanged when created with the printed URL and any
key (or hub.secret, when one is configured). Unless hub.metrics is false, it
also serves GET /metrics (Prometheus: the ledbridge_hub_* series and the Go
runtime's) on the same port, without a key: they hold only counts.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := loadConfig(cmd, map[string]string{"hub.listen": "addr"})
			if err != nil {
				return err
			}
			log := setupLogging(loaded)
			ctx := cmd.Context()
			h, err := startStandaloneHub(ctx, loaded.Hub, log)
			if err != nil {
				return err
			}
			announceHubURLs(cmd.OutOrStdout(), log, loaded.Log.Format == "json", h)
			urls := newHostAddressWatch(log, h.interfaceAddrs)
			urls.watchRoomServer(h)
			watchCtx, stopWatch := context.WithCancel(ctx)
			watched := make(chan struct{})
			go func() {
				defer close(watched)
				urls.run(watchCtx, hostAddressRefresh)
			}()
			err = h.Wait()
			stopWatch()
			<-watched
			return err
		},
	}
	cmd.Flags().String("addr", ":4000", "listen address (config hub.listen)")
	rootCmd.AddCommand(cmd)
}

// hubConfig maps the hub section of the configuration onto hub.Config; reg (nil for none) gets
// the server's ledbridge_hub_* series.
func hubConfig(c config.Hub, log *slog.Logger, reg prometheus.Registerer) hub.Config {
	return hub.Config{
		Addr:                         c.Listen,
		MaxClientsPerRoom:            c.MaxClientsPerRoom,
		MaxClientsPerRoomPerAddress:  c.MaxClientsPerRoomPerAddress,
		MaxMessagesPerSecond:         c.MaxMessagesPerSecond,
		MaxRooms:                     c.MaxRooms,
		MaxRoomsPerAddress:           c.MaxRoomsPerAddress,
		MaxFrameBytes:                int64(c.MaxFrameBytes),
		MaxBytesPerSecond:            int64(c.MaxBytesPerSecond),
		Secret:                       c.Secret,
		AllowedOrigins:               c.AllowedOrigins,
		MaxConnectionsPerAddress:     c.MaxConnectionsPerAddress,
		MaxHTTPConnections:           c.MaxHTTPConnections,
		MaxHTTPConnectionsPerAddress: c.MaxHTTPConnectionsPerAddress,
		Logger:                       log.With("component", "hub"),
		Metrics:                      reg,
	}
}

// hubMetricsPath is where `ledbridge hub` serves its metrics: the status page's path, so that a
// scrape configuration reads the same under `join` and `hub`.
const hubMetricsPath = "/metrics"

// embeddedHub is a running LAN room server: `ledbridge hub` runs one alone, and `ledbridge join`
// without a Supabase URL runs one in-process and joins it itself.
type embeddedHub struct {
	Server *hub.Server
	// Addr is the bound listen address (its port is real even when the config said :0).
	Addr   *net.TCPAddr
	done   chan error
	secret bool // clients must present hub.secret as their key
	// metricsPath is where the hub serves its metrics itself ("" when it does not).
	metricsPath string
	// interfaceAddrs lists the host's addresses, which URLs turns into the musicians' URLs:
	// net.InterfaceAddrs, unless a test gives the addresses a DHCP lease would.
	interfaceAddrs func() ([]net.Addr, error)
	// ownToken is the server's OwnClientToken ("" for `ledbridge hub`, which has no session).
	ownToken string
}

// startEmbeddedHub listens on c.Listen (waiting for it while startCtx lasts, until bindBy: see
// listenTCP) and serves until serveCtx is cancelled. reg, when not nil, gets the server's metrics
// (join passes the registry its status page serves on /metrics); the hub serves no /metrics of
// its own.
func startEmbeddedHub(startCtx, serveCtx context.Context, bindBy time.Time, c config.Hub, log *slog.Logger, reg prometheus.Registerer, n *sdnotify.Notifier) (*embeddedHub, error) {
	cfg := hubConfig(c, log, reg)
	cfg.OwnClientToken = rand.Text() // this process's session: see embeddedHub.OwnClient
	return listenHub(startCtx, serveCtx, bindBy, cfg, log, n)
}

// startStandaloneHub is `ledbridge hub`'s server: startEmbeddedHub's, serving on its own port,
// unless hub.metrics is false, a registry of its own (its ledbridge_hub_* series and the Go
// runtime's) on hubMetricsPath, since no status page runs to serve them.
func startStandaloneHub(ctx context.Context, c config.Hub, log *slog.Logger) (*embeddedHub, error) {
	var reg prometheus.Registerer
	if c.Metrics {
		reg = newRegistry()
	}
	cfg := hubConfig(c, log, reg)
	if c.Metrics {
		cfg.MetricsPath = hubMetricsPath
	}
	return listenHub(ctx, ctx, time.Now().Add(portWait), cfg, log, nil)
}

// listenHub starts a server for cfg on cfg.Addr, serving until serveCtx is cancelled; a port in
// use is waited for while startCtx lasts, until bindBy (listenTCP).
func listenHub(startCtx, serveCtx context.Context, bindBy time.Time, cfg hub.Config, log *slog.Logger, n *sdnotify.Notifier) (*embeddedHub, error) {
	srv, err := hub.New(cfg)
	if errors.Is(err, hub.ErrInvalidConfig) {
		return nil, configError{err} // the hub section (its message starts with "hub: ")
	}
	if err != nil {
		return nil, err
	}
	ln, err := listenTCP(startCtx, cfg.Addr, "room server", bindBy, log, n)
	if err != nil {
		return nil, err
	}
	h := &embeddedHub{Server: srv, Addr: ln.Addr().(*net.TCPAddr), done: make(chan error, 1), secret: cfg.Secret != "", metricsPath: cfg.MetricsPath,
		ownToken: cfg.OwnClientToken}
	go func() { h.done <- srv.Serve(serveCtx, ln) }()
	attrs := []any{"addr", h.Addr.String(), "path", hub.Path}
	if h.metricsPath != "" {
		attrs = append(attrs, "metrics", h.metricsPath)
	}
	log.Info("LAN room server listening", attrs...)
	return h, nil
}

// Wait returns once the server has stopped (its context was cancelled) and every connection is closed.
func (h *embeddedHub) Wait() error { return <-h.done }

// OwnClient is the HTTP client ledbridge's own session reaches the hub with: its requests carry
// the hub's OwnClientToken, so that the session counts as a client of its own rather than as the
// address it dials from, whose caps and budgets a reverse proxy, browser tabs or other programs on
// the same machine share (review 317).
func (h *embeddedHub) OwnClient() *http.Client {
	if h.ownToken == "" {
		return nil
	}
	// Never through a proxy from the environment (HTTP_PROXY): the hub is on this machine, and the
	// token must not leave it (review 320).
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = nil
	return &http.Client{Transport: ownClientTransport{base: base, token: h.ownToken}}
}

// ownClientTransport adds hub.OwnClientHeader to every request.
type ownClientTransport struct {
	base  http.RoundTripper
	token string
}

func (t ownClientTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set(hub.OwnClientHeader, t.token)
	return t.base.RoundTrip(r)
}

// LocalURL is the URL ledbridge itself uses to reach the hub: loopback when the hub listens on
// every address, else the one address it listens on (review 311: with --listen 192.0.2.2:0 the
// client dialled 127.0.0.1 and retried for ever).
func (h *embeddedHub) LocalURL() string {
	return "http://" + net.JoinHostPort(localDialHost(h.Addr.IP), strconv.Itoa(h.Addr.Port))
}

// localDialHost is the host to dial a listener bound to ip from this machine.
func localDialHost(ip net.IP) string {
	if ip == nil || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return ip.String()
}

// URLs lists the base URLs musicians' supabase-js clients should use: one per LAN address the
// server listens on (loopback last, as a fallback).
// Each call lists the host's interfaces (a syscall): hostAddressWatch keeps the list for callers that
// ask often.
func (h *embeddedHub) URLs() []string {
	interfaceAddrs := h.interfaceAddrs
	if interfaceAddrs == nil {
		interfaceAddrs = net.InterfaceAddrs
	}
	return addressURLs(h.Addr, interfaceAddrs)
}

// hostAddressRefresh is how often hostAddressWatch lists the host's addresses again: soon enough
// after a DHCP lease for the operator reading the status page, and for a musician whose connection
// was on the old address (its ICE restart waits for the refresh, against half a minute for pion's
// timeouts), rare enough to cost nothing.
const hostAddressRefresh = 5 * time.Second

// A link that flaps changes the URLs at every refresh: hostAddressLogBurst changes are logged in full,
// then one per hostAddressLogEvery with the count held back (a lograte.Budget, the rule the session's
// Presence lines follow), so a bouncing Wi-Fi link writes a few lines an hour instead of one per
// refresh.
const (
	hostAddressLogBurst = 3
	hostAddressLogEvery = 5 * time.Minute
)

// hostAddressWatch keeps the URLs of what the bridge serves on the LAN (the embedded room server,
// the status page) current as the host's addresses change (a Pi that boots before DHCP starts
// with loopback only; a new lease may change its address), and logs the new URLs once when they
// change, one change budget for both since one address change moves both. It also tells the peer
// layer when the host's address set changes (watchHostAddresses), so that a musician whose
// connection was on an address that went restarts ICE at once instead of after pion's timeouts.
// It lists the interfaces only in refresh, once for all, so that URL and the status page,
// however often they ask, cost no syscall. Whatever it watches is set before run starts.
type hostAddressWatch struct {
	interfaceAddrs func() ([]net.Addr, error)
	log            *slog.Logger
	now            func() time.Time // the clock of the log's rate (tests set it)
	changeLog      lograte.Budget   // the change lines' rate

	hub     *embeddedHub // nil when no room server is hosted (a Supabase room)
	hubURLs atomic.Pointer[[]string]
	extra   []any // attributes of the room server's change lines (the room code)

	status     *net.TCPAddr // the status page's listener; nil when there is none to follow
	statusHost string       // the host's name, whose .local URL comes first
	statusURLs atomic.Pointer[[]string]

	addrsChanged func([]netip.Addr) // nil when nothing follows the host's address set
	addrs        []netip.Addr       // the set as last listed, sorted; owned by refresh
}

// newHostAddressWatch watches nothing yet; interfaceAddrs (nil: net.InterfaceAddrs) lists the host's addresses.
func newHostAddressWatch(log *slog.Logger, interfaceAddrs func() ([]net.Addr, error)) *hostAddressWatch {
	if interfaceAddrs == nil {
		interfaceAddrs = net.InterfaceAddrs
	}
	return &hostAddressWatch{interfaceAddrs: interfaceAddrs, log: log, now: time.Now,
		changeLog: lograte.Budget{Burst: hostAddressLogBurst, Every: hostAddressLogEvery}}
}

// watchRoomServer follows the URLs of the room server h as well, from the ones it has now; extra
// is added to each of their change lines.
func (w *hostAddressWatch) watchRoomServer(h *embeddedHub, extra ...any) {
	w.hub, w.extra = h, extra
	urls := addressURLs(h.Addr, w.interfaceAddrs)
	w.hubURLs.Store(&urls)
}

// watchStatusPage follows the URLs of the status page listening on a as well (hostname: the
// host's name, "" for none) and returns them as they are now.
func (w *hostAddressWatch) watchStatusPage(a net.Addr, hostname string) []string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return []string{"http://" + a.String()}
	}
	w.status, w.statusHost = tcp, hostname
	urls := statusURLsFrom(tcp, hostname, w.interfaceAddrs)
	w.statusURLs.Store(&urls)
	return urls
}

// watchHostAddresses calls changed, from refresh, with the host's addresses each time their set
// differs from the one it had last (from the one it has now, at first). changed must not block.
func (w *hostAddressWatch) watchHostAddresses(changed func([]netip.Addr)) {
	w.addrsChanged = changed
	w.addrs, _ = hostAddressSet(w.interfaceAddrs())
}

// hostAddressSet is the addresses of addrs (the host's interface addresses), sorted, each once;
// ok is false when they could not be listed.
func hostAddressSet(addrs []net.Addr, err error) (set []netip.Addr, ok bool) {
	if err != nil {
		return nil, false
	}
	for _, a := range addrs {
		var ip net.IP
		switch a := a.(type) {
		case *net.IPNet:
			ip = a.IP
		case *net.IPAddr:
			ip = a.IP
		}
		if addr, ok := netip.AddrFromSlice(ip); ok {
			set = append(set, addr.Unmap())
		}
	}
	slices.SortFunc(set, netip.Addr.Compare)
	return slices.Compact(set), true
}

// URL is the first of the room server's URLs: a LAN address's when the host has one ("" with no
// room server).
func (w *hostAddressWatch) URL() string {
	if p := w.hubURLs.Load(); p != nil && len(*p) > 0 {
		return (*p)[0]
	}
	return ""
}

// statusPageURLs are the status page's URLs now (none without a status page).
func (w *hostAddressWatch) statusPageURLs() []string {
	if p := w.statusURLs.Load(); p != nil {
		return *p
	}
	return nil
}

// refresh lists the host's addresses again: when their set differs from the last one it tells
// addrsChanged, and when the URLs differ from the last ones, it keeps them and logs them (at the
// rate changeLog allows): what musicians' clients and browsers use now, or a warning that none
// but loopback is left.
func (w *hostAddressWatch) refresh() {
	if w.hub == nil && w.status == nil && w.addrsChanged == nil {
		return // nothing to follow
	}
	addrs, err := w.interfaceAddrs()
	if set, ok := hostAddressSet(addrs, err); ok && w.addrsChanged != nil && !slices.Equal(set, w.addrs) {
		w.addrs = set
		w.addrsChanged(set)
	}
	listed := func() ([]net.Addr, error) { return addrs, err }
	var hubURLs, statusURLs []string
	hubChanged, statusChanged := false, false
	if w.hub != nil {
		hubURLs = addressURLs(w.hub.Addr, listed)
		if hubChanged = !slices.Equal(hubURLs, *w.hubURLs.Load()); hubChanged {
			w.hubURLs.Store(&hubURLs)
		}
	}
	if w.status != nil {
		statusURLs = statusURLsFrom(w.status, w.statusHost, listed)
		if statusChanged = !slices.Equal(statusURLs, *w.statusURLs.Load()); statusChanged {
			w.statusURLs.Store(&statusURLs)
		}
	}
	if !hubChanged && !statusChanged {
		return
	}
	held, ok := w.changeLog.Allow(w.now())
	if !ok {
		return
	}
	if hubChanged {
		w.logHubURLs(hubURLs, held)
		held = 0 // said once
	}
	if statusChanged {
		w.logStatusURLs(statusURLs, held)
	}
}

// logHubURLs logs the room server's new URLs; held is how many changes the budget held back.
func (w *hostAddressWatch) logHubURLs(urls []string, held int) {
	ws := make([]string, len(urls))
	for i, u := range urls {
		ws[i] = webSocketURL(u)
	}
	attrs := withSuppressed(append([]any{"urls", urls, "websockets", ws, "key", w.hub.keyHint()}, w.extra...), held)
	if !slices.ContainsFunc(urls, isLANURL) {
		w.log.Warn("LAN room server: the host has no LAN address now; musicians' clients cannot reach it until one comes back", attrs...)
		return
	}
	w.log.Info("LAN room server's addresses changed: musicians' clients call createClient(<one of urls>, <key>)", attrs...)
}

// logStatusURLs logs the status page's new URLs, url being its first LAN address's (the one that
// changed; the .local name stays); held is how many changes the budget held back.
func (w *hostAddressWatch) logStatusURLs(urls []string, held int) {
	lan := slices.IndexFunc(urls, isLANURL)
	if lan < 0 {
		w.log.Warn("status page: the host has no LAN address now; phones and laptops cannot open it until one comes back", withSuppressed([]any{"urls", urls}, held)...)
		return
	}
	w.log.Info("status page's addresses changed: open it at one of urls", withSuppressed([]any{"url", urls[lan], "urls", urls}, held)...)
}

// withSuppressed adds to a change line's attrs how many changes the budget held back before it,
// when it held back any.
func withSuppressed(attrs []any, held int) []any {
	if held > 0 {
		return append(attrs, "suppressed", held)
	}
	return attrs
}

// isLANURL reports whether u (from addressURLs) names an address other hosts can reach.
func isLANURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	ip := net.ParseIP(p.Hostname())
	return ip != nil && !ip.IsLoopback()
}

// run refreshes every interval until ctx is cancelled.
func (w *hostAddressWatch) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.refresh()
		}
	}
}

// addressURLs lists "http://IP:PORT" for each address a listener on a reaches: a itself, or for a
// wildcard address each IPv4 address of the host's interfaces (as interfaceAddrs lists them),
// loopback last (a fallback that works only on the host itself).
func addressURLs(a *net.TCPAddr, interfaceAddrs func() ([]net.Addr, error)) []string {
	port := strconv.Itoa(a.Port)
	var lan, loop []string
	add := func(ip net.IP) {
		u := "http://" + net.JoinHostPort(ip.String(), port)
		if ip.IsLoopback() {
			loop = append(loop, u)
		} else {
			lan = append(lan, u)
		}
	}
	if !a.IP.IsUnspecified() {
		add(a.IP)
		return append(lan, loop...)
	}
	addrs, _ := interfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() {
			continue
		}
		if ipn.IP.To4() == nil && !ipn.IP.IsLoopback() {
			continue // browsers on the LAN reach the bridge over IPv4; keep the list short
		}
		add(ipn.IP)
	}
	return append(lan, loop...)
}

// keyHint is what musicians' clients pass as their key.
func (h *embeddedHub) keyHint() string {
	if h.secret {
		return "<hub.secret>"
	}
	return "<any key>"
}

// webSocketURL is the WebSocket endpoint of a base URL from URLs.
func webSocketURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + hub.Path }

// announceHubURLs tells the operator what to give musicians: as text on w, or, when the logs
// are JSON (a log collector reads them, and plain text would be the one line it cannot parse),
// as one log record with the URLs as attributes, extra (the room code) added.
func announceHubURLs(w io.Writer, log *slog.Logger, jsonLogs bool, h *embeddedHub, extra ...any) {
	if !jsonLogs {
		printHubURLs(w, h)
		return
	}
	urls := h.URLs()
	ws := make([]string, len(urls))
	for i, u := range urls {
		ws[i] = webSocketURL(u)
	}
	attrs := append([]any{"urls", urls, "websockets", ws, "key", h.keyHint()}, extra...)
	if h.metricsPath != "" {
		attrs = append(attrs, "metrics", h.LocalURL()+h.metricsPath)
	}
	log.Info("LAN room server ready: musicians' clients call createClient(<one of urls>, <key>)", attrs...)
}

// printHubURLs tells the operator what to give musicians.
func printHubURLs(w io.Writer, h *embeddedHub) {
	fmt.Fprintf(w, "LAN room server ready. Musicians' clients: createClient(<URL>, %s) with one of\n", h.keyHint())
	for _, u := range h.URLs() {
		fmt.Fprintf(w, "  %s   (WebSocket %s)\n", u, webSocketURL(u))
	}
	if h.metricsPath != "" {
		fmt.Fprintf(w, "Prometheus metrics: %s%s\n", h.LocalURL(), h.metricsPath)
	}
}

// newRegistry is a Prometheus registry of the process's own (not the global default, which
// other packages may fill) with the Go runtime's go_* and process_* series in it.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
