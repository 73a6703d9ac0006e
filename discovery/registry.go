package discovery

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/wled"
)

// Defaults for Config's zero fields.
const (
	DefaultInterval      = 30 * time.Second
	DefaultRetryInterval = 5 * time.Second
	DefaultBrowseWindow  = 2 * time.Second
	DefaultProbeTimeout  = 2 * time.Second
	DefaultOfflineAfter  = 2
	// DefaultForgetAfter is how long a device found by mDNS may stay offline, with mDNS silent
	// about it, before it is forgotten (EventRemoved). A guest band's strip, or a board moved to
	// another subnet, never answers again: kept, it would be listed, probed and (by the session)
	// streamed to for ever. A controller that still answers mDNS is kept however long its JSON
	// API is dark: it is powered and on the LAN, and a busy ESP8266 under realtime load (or a
	// venue that filters TCP 80 but not UDP) may take the stream without answering /json/info,
	// so forgetting it would stop a strip that is still lit.
	// Forgetting costs little: mDNS finds a device that returns within one Interval and it is
	// added afresh, so a board switched off overnight simply comes back in the morning. An hour
	// keeps a strip that fails during a show on the status page (offline, with its error) for
	// the rest of the show, where the operator looks for it.
	DefaultForgetAfter = time.Hour

	// maxParallelProbes bounds the /json/info requests one round runs at once.
	maxParallelProbes = 16
	// maxDevices bounds the confirmed devices (those whose /json/info gave their MAC); a new
	// device found by mDNS beyond it is not listed. Configured devices are always kept.
	maxDevices = 512
	// maxUnconfirmed bounds the mDNS-only devices that have not (yet) answered /json/info with a
	// MAC, apart from maxDevices: anyone on the LAN can answer _wled._tcp with invented names,
	// and those must neither crowd out real devices nor make a probe round long (at most
	// maxUnconfirmed/maxParallelProbes waves of ProbeTimeout: 4 s by default). A venue powers up
	// tens of controllers at most, and each is confirmed (leaving this pool) at its first answer.
	maxUnconfirmed = 32
	// evictUnconfirmedAfter is how many probes in a row an unconfirmed mDNS-only device may fail
	// before it is dropped. A real WLED serves /json/info from the moment it announces itself
	// (both start when its Wi-Fi connects), so three failures (one a round: a minute or more at
	// the default Interval) mean it is not a WLED or not reachable; if it is one after all, its
	// next mDNS answer lists it again, so dropping it costs little. A failure count rather than
	// a time keeps a daemon whose rounds are slow from dropping entries it never got to probe.
	evictUnconfirmedAfter = 3
	// fastRetries is how many probes in a row a confirmed or configured device may fail while
	// the registry browses at RetryInterval rather than Interval for it. A WLED that reboots or
	// loses Wi-Fi for a moment answers again within seconds, and the fast retries find it then;
	// one still dark after ten (about a minute at the defaults, with each round's browse window
	// and probe timeouts) is switched off or gone, and retrying it every 5 s for ever would mean
	// an mDNS query and a probe every few seconds for a device that is not coming back. It is
	// still probed every Interval, so it is back at most that late when it does return.
	fastRetries = 10
)

// ErrAlreadyRunning indicates a second concurrent call of Registry.Run.
var ErrAlreadyRunning = errors.New("discovery: registry is already running")

// InfoFetcher reads a WLED's GET /json/info. *wled.Client implements it.
type InfoFetcher interface {
	Info(ctx context.Context, hostport string) (wled.Info, error)
}

// Answer is one _wled._tcp service instance seen on mDNS.
type Answer struct {
	Instance string     // service instance name, "wled-abcdef"
	Host     string     // SRV target, "wled-abcdef.local."
	Addr     netip.Addr // IPv4 address of Host
	Port     int        // SRV port: the JSON API's TCP port
	MAC      string     // TXT mac= normalised to 12 hex digits, "" when absent or malformed
}

// Browser lists the _wled._tcp instances that answer within window. The mDNS implementation is
// the default; tests substitute their own.
type Browser interface {
	Browse(ctx context.Context, window time.Duration) ([]Answer, error)
}

// Clock is the registry's source of time; tests step it instead of sleeping.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures a Registry. Zero fields mean defaults.
type Config struct {
	// Interval between mDNS browse rounds; default 30 s.
	Interval time.Duration
	// RetryInterval replaces Interval while a confirmed or configured device has failed its
	// last probes, for its first fastRetries failures in a row, so a device that returns (a
	// reboot, a Wi-Fi drop) is back quickly; default 5 s.
	RetryInterval time.Duration
	// BrowseWindow is how long each round listens for mDNS answers; default 2 s.
	BrowseWindow time.Duration
	// ProbeTimeout bounds one GET /json/info; default 2 s.
	ProbeTimeout time.Duration
	// OfflineAfter is how many probes in a row must fail before an online device is marked
	// offline; default 2, so one lost request on venue Wi-Fi does not drop a strip. After a
	// failure the next round comes after RetryInterval.
	OfflineAfter int
	// ForgetAfter is how long a device not named in Static may stay offline, and unheard of on
	// mDNS, before it leaves the list (EventRemoved); default DefaultForgetAfter (1 h). Both
	// must have lasted that long: an mDNS answer for the device keeps it listed (offline) while
	// its JSON API does not answer. Configured devices are never forgotten.
	ForgetAfter time.Duration
	// Interfaces names the network interfaces to browse on; empty means every multicast interface.
	Interfaces []string
	// DisableMDNS turns browsing off; only Static devices are then listed.
	DisableMDNS bool
	// Static lists devices by wled device URL (wled.ParseTarget): "wled://HOST[:HTTPPORT][?leds=N]"
	// or a bare host name or IP, confirmed by /json/info on that port; or "ddp://HOST[:PORT]…",
	// "dnrgb://…", …, which fix the protocol, port, LED count and RGBW, and are confirmed by
	// /json/info on port 80 when the device has it (otherwise they stay listed, unconfirmed).
	Static []string
	// Protocol forces one protocol for every device ("ddp", "dnrgb", …); "" or "auto" chooses
	// DDP when the firmware has it (vid ≥ 2110060), else DNRGB. A static URL's scheme wins. A
	// forced "ddp" gives firmware that reports an older vid DNRGB (wled.StreamProtocol), as
	// the session does for a configured wled:// device, and logs it.
	Protocol string

	// OnChange, when set, is called from Run's goroutine (never concurrently, never with a lock
	// held) for every change of a device confirmed by /json/info, in order: a device replaced
	// at its address comes as EventRemoved for the old key, then EventAdded for the new one.
	// It must not block for long.
	OnChange func(Event)
	// OnProbe, when set, is called like OnChange, after a round's events, with every confirmed
	// device whose /json/info answered in that round, as it answered: what changes at every
	// answer and is no event, such as Info.Live (is the WLED showing a realtime stream?), which a
	// sink streaming to the device can follow. It must not block for long.
	OnProbe func(Device)

	// Collaborators; nil means the real one.
	Logger   *slog.Logger
	Clock    Clock
	Fetcher  InfoFetcher // default: *wled.Client with ProbeTimeout
	Browser  Browser     // default: MDNSBrowser on Interfaces
	Resolver *net.Resolver
}

// Registry is the live device list. Create it with New, run it with Run, read it with Devices.
type Registry struct {
	// Constant after New.
	cfg      Config
	statics  []staticDevice
	browser  Browser // nil when mDNS is disabled
	fetcher  InfoFetcher
	clock    Clock
	log      *slog.Logger
	resolver *net.Resolver
	mdns     *Resolver     // .local names of Static devices, unless Config.Resolver is set
	protocol wled.Protocol // forced for every device; ProtocolAuto = choose per device

	running       atomic.Bool
	lastBrowseErr string // only touched by Run's goroutine
	// addrTakenLog limits the warning about devices refused for ErrAddressTaken: one host can
	// answer with an invented device every round.
	addrTakenLog lograte.Limiter
	// fullLog limits the warning about devices refused because maxDevices are listed: up to
	// maxUnconfirmed newcomers can be refused every round.
	fullLog lograte.Limiter
	// replacedLog limits the line about a controller replaced at a device's address: a host
	// answering with a new MAC every round replaces "itself" every round.
	replacedLog lograte.Limiter
	// fallbackLog limits the warning about a forced protocol a device's firmware cannot take
	// (logged when a device's protocol becomes the fallback): a host can answer with a new old
	// device every round.
	fallbackLog lograte.Limiter

	// The mutex protects the following elements.
	mu      sync.Mutex
	entries map[string]*entry // by Device.Key
	probed  []Device          // the last round's confirmed answers, for OnProbe
}

// entry is the registry's record of one device.
type entry struct {
	dev      Device
	static   *staticDevice // configuration entry, nil for mDNS-only devices
	instance string        // mDNS instance name, "" if never seen on mDNS
	mdnsAddr netip.Addr    // last address mDNS gave
	// ownAddr is where /json/info last confirmed the device (dev.IP may show an mDNS address
	// while the device is offline).
	ownAddr netip.AddrPort
	// prevAddr is where the device was confirmed before it last moved, and movedAt when: while
	// both answer with its MAC, the earlier address wins (a forger that took the device during a
	// missed probe or an outage loses it once the device answers at home again).
	prevAddr netip.AddrPort
	movedAt  time.Time
	// prevSilentSince is when prevAddr began to fail while the device answered elsewhere (zero
	// while it answers as the device, or was not asked): past prevAddrGrace that is a move, not
	// an outage, and prevAddr is let go (review 310).
	prevSilentSince time.Time
	mdnsPort        int
	failures        int // probes failed in a row
	// offlineSince is when the device was marked offline (zero while online): ForgetAfter counts
	// from here, not from LastSeen, so a daemon whose host slept does not forget every device
	// at its first failed round after waking.
	offlineSince time.Time
	// mdnsSeen is when an mDNS answer last named the device (zero if never): a device is only
	// forgotten once mDNS too has been silent about it for ForgetAfter. The answer is a claim
	// anyone can make, so a forger can keep a dead device listed offline; that is all it can do
	// (the device was kept like that before forgetting existed).
	mdnsSeen  time.Time
	announced bool // EventAdded was sent
	// confirmed is set once /json/info answered with a MAC: the entry is then keyed by that
	// MAC, announced, and not evicted as an unconfirmed answer is (only forgotten when it is not
	// configured and stays offline, and silent on mDNS, for ForgetAfter). A TXT mac= alone never
	// confirms anything: any responder can claim any MAC.
	confirmed bool
}

// New checks cfg and builds a Registry. It starts nothing.
func New(cfg Config) (*Registry, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"interval", &cfg.Interval, DefaultInterval},
		{"retry interval", &cfg.RetryInterval, DefaultRetryInterval},
		{"browse window", &cfg.BrowseWindow, DefaultBrowseWindow},
		{"probe timeout", &cfg.ProbeTimeout, DefaultProbeTimeout},
		{"forget period", &cfg.ForgetAfter, DefaultForgetAfter},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("discovery: %s %v is negative", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.OfflineAfter < 0 {
		return nil, fmt.Errorf("discovery: OfflineAfter %d is negative", cfg.OfflineAfter)
	}
	if cfg.OfflineAfter == 0 {
		cfg.OfflineAfter = DefaultOfflineAfter
	}
	r := &Registry{
		cfg:      cfg,
		fetcher:  cfg.Fetcher,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		resolver: cfg.Resolver,
		entries:  make(map[string]*entry),
	}
	r.addrTakenLog.Every = time.Minute
	r.fullLog.Every = time.Minute
	r.replacedLog.Every = time.Minute
	r.fallbackLog.Every = time.Minute
	seen := make(map[string]bool)
	for _, raw := range cfg.Static {
		s, err := parseStatic(raw)
		if err != nil {
			return nil, err
		}
		if seen[s.raw] {
			continue
		}
		seen[s.raw] = true
		r.statics = append(r.statics, s)
	}
	proto, err := wled.ParseProtocol(cfg.Protocol)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	r.protocol = proto
	if r.fetcher == nil {
		r.fetcher = &wled.Client{HTTP: probeHTTPClient(), Timeout: cfg.ProbeTimeout}
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.resolver == nil {
		r.resolver = net.DefaultResolver
		r.mdns = &Resolver{Interfaces: cfg.Interfaces, Logger: r.log}
	}
	if !cfg.DisableMDNS {
		r.browser = cfg.Browser
		if r.browser == nil {
			r.browser = &MDNSBrowser{Interfaces: cfg.Interfaces, Logger: r.log}
		}
	}
	return r, nil
}

// probeHTTPClient is the HTTP client for /json/info probes: one connection per request, no
// keep-alive (a probe every 30 s gains nothing from it, and an ESP's web server has only a
// handful of sockets), no proxy (the devices are on the LAN, whatever HTTP_PROXY says), no
// redirects (a WLED never redirects its JSON API; following one would let a LAN "device" point
// us anywhere).
func probeHTTPClient() *http.Client {
	return &http.Client{
		Transport:     directTransport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// directTransport does one plain-HTTP request per connection entirely on the caller's
// goroutine. http.Transport would dial on a goroutine of its own that outlives a cancelled
// probe (it keeps dialing to fill its idle pool), so an unreachable device would leave
// goroutines behind after every round.
type directTransport struct{}

// maxProbeResponse bounds one /json/info reply, headers included (the wled client caps the body
// at 64 KiB on its own).
const maxProbeResponse = 128 << 10

func (directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return nil, fmt.Errorf("discovery: probe transport speaks plain http only, not %q", req.URL.Scheme)
	}
	ctx := req.Context()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", req.URL.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancelling the context unblocks any read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	out := req.Clone(ctx)
	out.Close = true
	if err := out.Write(conn); err != nil {
		return fail(err)
	}
	// http.ReadResponse bounds neither the status line nor the headers: a "device" streaming an
	// endless header would grow memory for the whole probe timeout. The wled client caps the body;
	// this caps everything the probe reads.
	resp, err := http.ReadResponse(bufio.NewReader(io.LimitReader(conn, maxProbeResponse)), out)
	if err != nil {
		return fail(err)
	}
	resp.Body = &connBody{ReadCloser: resp.Body, conn: conn, stop: stop}
	return resp, nil
}

// connBody closes the connection with the response body. The connection goes first: the
// body's own Close would otherwise read to the end of an endless body.
type connBody struct {
	io.ReadCloser
	conn net.Conn
	stop func() bool
}

func (b *connBody) Close() error {
	b.stop()
	err := b.conn.Close()
	_ = b.ReadCloser.Close()
	return err
}

// Run browses now and then every Interval (RetryInterval while a confirmed or configured device
// has failed its last probes, for its first fastRetries failures), probes every known device
// with /json/info, marks a device offline after OfflineAfter failed probes in a row and online
// again at its next answer, drops mDNS answers that never answered /json/info after
// evictUnconfirmedAfter failed probes, removes a confirmed device whose address another
// controller now answers for (the entry follows that one under its MAC) and a device not
// configured that has been offline, with no mDNS answer for it, for ForgetAfter, and reports
// changes of confirmed devices to OnChange. It returns nil when ctx is cancelled, after every
// goroutine it started has exited.
func (r *Registry) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer r.running.Store(false)
	for {
		events, err := r.scan(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.logBrowseError(err)
		if r.cfg.OnChange != nil {
			for _, ev := range events {
				r.cfg.OnChange(ev)
			}
		}
		if r.cfg.OnProbe != nil {
			r.mu.Lock()
			probed := r.probed
			r.probed = nil
			r.mu.Unlock()
			for _, d := range probed {
				r.cfg.OnProbe(d)
			}
		}
		wait := r.cfg.Interval
		if r.anyUnhealthy() {
			wait = min(wait, r.cfg.RetryInterval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.clock.After(wait):
		}
	}
}

// logBrowseError logs a browse failure once, and again only when it changes, so a venue without
// multicast does not fill the log every round.
func (r *Registry) logBrowseError(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == r.lastBrowseErr {
		return
	}
	r.lastBrowseErr = msg
	if err != nil {
		r.log.Warn("discovery: mDNS browse failed; configured devices are still probed", "err", err)
	} else {
		r.log.Info("discovery: mDNS browse works again")
	}
}

// Devices returns a snapshot of every device, sorted by name then key.
func (r *Registry) Devices() []Device {
	r.mu.Lock()
	out := make([]Device, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.dev)
	}
	r.mu.Unlock()
	sortDevices(out)
	return out
}

func sortDevices(ds []Device) {
	slices.SortFunc(ds, func(a, b Device) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Key, b.Key))
	})
}

// unconfirmedMDNS reports an mDNS-only entry that has not answered /json/info with a MAC.
func (e *entry) unconfirmedMDNS() bool { return !e.confirmed && e.static == nil }

// countLocked returns how many entries are confirmed and how many are unconfirmed mDNS-only.
func (r *Registry) countLocked() (confirmed, unconfirmed int) {
	for _, e := range r.entries {
		switch {
		case e.confirmed:
			confirmed++
		case e.static == nil:
			unconfirmed++
		}
	}
	return confirmed, unconfirmed
}

// anyUnhealthy reports a confirmed or configured device whose last probe failed and that has not
// yet failed more than fastRetries in a row. Unconfirmed mDNS answers do not count: anyone can
// keep the list full of those, and they must not make us browse (and probe) six times as often;
// they are still dropped after evictUnconfirmedAfter rounds at Interval.
func (r *Registry) anyUnhealthy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.unconfirmedMDNS() {
			continue
		}
		if e.failures > 0 && e.failures <= fastRetries {
			return true
		}
	}
	return false
}

// Browse runs one round (an mDNS browse of length timeout, then /json/info on every device
// found or configured) and returns what it found. It is what `ledbridge discover` prints.
// A browse error is returned together with the devices that could still be probed.
func Browse(ctx context.Context, cfg Config, timeout time.Duration) ([]Device, error) {
	if timeout > 0 {
		cfg.BrowseWindow = timeout
	}
	cfg.OnChange = nil
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	_, err = r.scan(ctx)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return r.Devices(), err
}

// probeJob is one device to probe; results come back in the same slice.
type probeJob struct {
	key         string
	addrs       []probeAddr // tried in order until one answers
	unconfirmed bool        // an mDNS-only entry never confirmed by /json/info
	// wantMAC is a confirmed device's MAC and ownIP the address it last answered from: an
	// answer with another MAC from elsewhere is another host (anyone can answer mDNS with the
	// device's instance name or TXT mac), so the next address is tried and such an answer
	// alone fails the probe (ErrOtherMAC). Another MAC at ownIP (mDNS-only devices), or at the
	// configured host (configured ones), is the controller replaced there, and the entry
	// follows it.
	wantMAC string
	ownIP   netip.Addr
	prevIP  netip.Addr
	// prevSilent is set when prevIP was asked and did not answer as the device.
	prevSilent bool
	// listed holds the MACs of the devices confirmed when the round began (shared, read-only
	// while probing). Another MAC at ownIP or at the configured host follows a replaced
	// controller only when it is no listed device: two strips that swapped addresses (DHCP
	// after a power cycle) each answer at the other's old IP, and following that would merge
	// one strip into the other and drop it from the list without an event.
	listed map[string]bool

	info wled.Info
	ip   netip.Addr
	port int
	err  error
}

type probeAddr struct {
	host       string // IP literal or host name
	port       int
	configured bool // the configured host: whatever answers there is the device
}

// scan runs one round: browse, fold answers into the list, probe every device, apply results.
func (r *Registry) scan(ctx context.Context) ([]Event, error) {
	var answers []Answer
	var browseErr error
	if r.browser != nil {
		answers, browseErr = r.browser.Browse(ctx, r.cfg.BrowseWindow)
		if ctx.Err() != nil {
			return nil, nil
		}
	}

	if len(answers) > maxUnconfirmed {
		// More answers than unconfirmed places: take new ones in random order, so a responder
		// that keeps inventing names (sorted to come first) cannot keep a real newcomer out
		// round after round; the real one gets a place within a few evictions.
		rand.Shuffle(len(answers), func(i, j int) { answers[i], answers[j] = answers[j], answers[i] })
	}
	heard := r.clock.Now()
	r.mu.Lock()
	_, unconfirmed := r.countLocked()
	for _, a := range answers {
		r.applyAnswerLocked(a, heard, &unconfirmed)
	}
	for i := range r.statics {
		r.ensureStaticLocked(&r.statics[i])
	}
	listed := make(map[string]bool)
	for _, e := range r.entries {
		if e.confirmed {
			listed[e.dev.MAC] = true
		}
	}
	jobs := make([]probeJob, 0, len(r.entries))
	for key, e := range r.entries {
		j := probeJob{key: key, addrs: e.probeAddrs(), unconfirmed: e.unconfirmedMDNS()}
		if e.confirmed {
			j.wantMAC, j.listed = e.dev.MAC, listed
			if e.static == nil {
				// A configured device is wherever its configured host is: its last IP may
				// have gone to another controller when DHCP moved it.
				j.ownIP, j.prevIP = e.ownAddr.Addr(), e.prevAddr.Addr()
			}
		}
		jobs = append(jobs, j)
	}
	r.mu.Unlock()
	// Confirmed and configured devices first: probeAll starts jobs in order, so at most
	// maxUnconfirmed unconfirmed ones queue behind them, never in front.
	slices.SortStableFunc(jobs, func(a, b probeJob) int {
		switch {
		case a.unconfirmed == b.unconfirmed:
			return 0
		case b.unconfirmed:
			return -1
		}
		return 1
	})

	r.probeAll(ctx, jobs)
	if ctx.Err() != nil {
		// Shutting down: a cancelled probe says nothing about the device.
		return nil, nil
	}

	now := r.clock.Now()
	var events []Event
	r.mu.Lock()
	r.probed = r.probed[:0]
	// Apply MAC-keyed entries first so a provisional entry for the same device merges into them,
	// then configured ones, so that a configured device holds its IP before an mDNS newcomer
	// there is checked against it (ErrAddressTaken).
	slices.SortFunc(jobs, func(a, b probeJob) int {
		return cmp.Or(cmp.Compare(applyRank(a), applyRank(b)), cmp.Compare(a.key, b.key))
	})
	for i := range jobs {
		events = r.applyProbeLocked(&jobs[i], now, events)
	}
	r.mu.Unlock()
	return events, browseErr
}

// applyRank orders a round's probe results: devices keyed by MAC (confirmed), then configured
// ones not confirmed yet, then mDNS-only newcomers.
func applyRank(j probeJob) int {
	switch {
	case strings.HasPrefix(j.key, "mdns:"):
		return 2
	case strings.HasPrefix(j.key, "static:"):
		return 1
	}
	return 0 // keyed by MAC
}

// applyAnswerLocked folds one mDNS answer, heard at now, into the list. A new instance gets a
// provisional "mdns:<instance>" entry while *unconfirmed (the free unconfirmed places) allows;
// its TXT mac only matters for finding the confirmed device it belongs to (whose address then
// follows it).
func (r *Registry) applyAnswerLocked(a Answer, now time.Time, unconfirmed *int) {
	provisional := "mdns:" + a.Instance
	var e *entry
	if c := r.entries[a.MAC]; a.MAC != "" && c != nil && c.confirmed {
		e = c
		if p, ok := r.entries[provisional]; ok && p.unconfirmedMDNS() {
			// The instance turned out to be a device we know: the provisional record is superseded.
			delete(r.entries, provisional)
			*unconfirmed--
		}
	}
	if e == nil {
		e = r.entries[provisional]
	}
	if e == nil {
		for _, x := range r.entries {
			// A TXT mac that is not the confirmed device's means another controller under
			// the same name (a replacement, or a forger): it gets an entry of its own.
			if x.instance == a.Instance && (a.MAC == "" || !x.confirmed || x.dev.MAC == a.MAC) {
				e = x
				break
			}
		}
	}
	if e == nil {
		if *unconfirmed >= maxUnconfirmed {
			return
		}
		*unconfirmed++
		e = &entry{dev: Device{Key: provisional, Name: a.Instance}}
		r.entries[provisional] = e
	}
	e.instance = a.Instance
	e.mdnsAddr = a.Addr
	e.mdnsPort = a.Port
	e.mdnsSeen = now
	e.dev.Host = a.Host
	if !e.dev.IP.IsValid() || !e.dev.Online {
		// Show where mDNS says the device is until a probe confirms it.
		e.dev.IP = a.Addr
		e.dev.HTTPPort = a.Port
	}
	e.dev.Source = sourceOf(e)
}

// ensureStaticLocked makes sure a configured device has an entry.
func (r *Registry) ensureStaticLocked(s *staticDevice) {
	for _, e := range r.entries {
		if e.static == s {
			return
		}
	}
	key := "static:" + s.raw
	host := s.target.Host
	e := &entry{static: s, dev: Device{Key: key, Name: host, Host: host, HTTPPort: s.httpPort(), Static: s.raw}}
	if ip, err := netip.ParseAddr(host); err == nil {
		e.dev.IP = ip.Unmap()
	}
	e.dev.Source = sourceOf(e)
	r.entries[key] = e
}

func sourceOf(e *entry) Source {
	switch {
	case e.static != nil && e.instance != "":
		return SourceBoth
	case e.static != nil:
		return SourceStatic
	}
	return SourceMDNS
}

// probeAddrs lists where to ask for /json/info: a configured device's configured host first (it
// is wherever that host is: another host announcing its MAC on mDNS must not take its strip while
// it answers there, review 311); then the latest mDNS address (it follows IP changes), then the
// address that last confirmed the device (an answer claiming its MAC or instance name from
// elsewhere cannot take a working device offline), then the one before its last move.
func (e *entry) probeAddrs() []probeAddr {
	var out []probeAddr
	if e.static != nil {
		out = append(out, probeAddr{host: e.static.target.Host, port: e.static.httpPort(), configured: true})
	}
	if e.mdnsAddr.IsValid() {
		out = append(out, probeAddr{host: e.mdnsAddr.String(), port: e.mdnsPort})
	}
	if e.confirmed && e.ownAddr.IsValid() && (e.ownAddr.Addr() != e.mdnsAddr || int(e.ownAddr.Port()) != e.mdnsPort) {
		out = append(out, probeAddr{host: e.ownAddr.Addr().String(), port: int(e.ownAddr.Port())})
	}
	if e.confirmed && e.prevAddr.IsValid() && e.prevAddr.Addr() != e.mdnsAddr && e.prevAddr != e.ownAddr {
		out = append(out, probeAddr{host: e.prevAddr.Addr().String(), port: int(e.prevAddr.Port())})
	}
	return out
}

// probeAll runs the jobs' /json/info requests, at most maxParallelProbes at once, and returns
// when all have finished.
func (r *Registry) probeAll(ctx context.Context, jobs []probeJob) {
	sem := make(chan struct{}, maxParallelProbes)
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(j *probeJob) {
			defer func() { <-sem; wg.Done() }()
			r.probe(ctx, j)
		}(&jobs[i])
	}
	wg.Wait()
}

// probe tries each address of j in turn and records the first answer (for a job with wantMAC,
// the first with that MAC, or with an unlisted MAC from ownIP or the configured host) or the
// last error.
func (r *Registry) probe(ctx context.Context, j *probeJob) {
	j.err = errors.New("no address known")
	found := false
	for _, a := range j.addrs {
		ip, err := r.resolve(ctx, a.host)
		if err != nil {
			if !found {
				j.err = err
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, r.cfg.ProbeTimeout)
		hostport := netip.AddrPortFrom(ip, uint16(a.port)).String()
		info, err := r.fetcher.Info(pctx, hostport)
		cancel()
		if err != nil {
			if !found {
				j.err = err
			}
			j.prevSilent = j.prevSilent || ip == j.prevIP
			continue
		}
		mac := wled.NormalizeMAC(info.MAC)
		j.prevSilent = j.prevSilent || ip == j.prevIP && mac != j.wantMAC
		if found {
			// Two hosts answer with the device's MAC: the address it was confirmed at wins, and
			// the one before that over it.
			if mac == j.wantMAC && (ip == j.prevIP || ip == j.ownIP && j.ip != j.prevIP) {
				j.info, j.ip, j.port = info, ip, a.port
				if ip == j.prevIP {
					return
				}
			}
			continue
		}
		if j.wantMAC != "" && mac != j.wantMAC && (j.listed[mac] || ip != j.ownIP && !a.configured) {
			j.err = fmt.Errorf("%w: %s answers as MAC %q, not %s", ErrOtherMAC, hostport, mac, j.wantMAC)
			continue
		}
		j.info, j.ip, j.port, j.err = info, ip, a.port, nil
		found = true
		if j.wantMAC == "" || !j.ownIP.IsValid() || ip == j.prevIP || ip == j.ownIP && !j.prevIP.IsValid() {
			return
		}
		// The device's MAC at a new address: look at its confirmed address too (next in addrs).
	}
}

// resolve turns a configured host into an IPv4 address (WLED streams go over IPv4); a .local
// name by mDNS (Resolver), which the system's resolver does not ask in a build without cgo.
func (r *Registry) resolve(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	rctx, cancel := context.WithTimeout(ctx, r.cfg.ProbeTimeout)
	defer cancel()
	lookup := r.resolver.LookupNetIP
	if r.mdns != nil { // it hands any other name to net.DefaultResolver, r.resolver then
		lookup = r.mdns.LookupNetIP
	}
	ips, err := lookup(rctx, "ip4", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no IPv4 address", host)
	}
	return ips[0].Unmap(), nil
}

// applyProbeLocked records a probe's outcome and appends the events it causes to events: at most
// one for the device, preceded by an EventRemoved when the entry left a confirmed key behind.
func (r *Registry) applyProbeLocked(j *probeJob, now time.Time, events []Event) []Event {
	e := r.entries[j.key]
	if e == nil {
		return events // merged into another entry earlier in this round
	}
	if j.err == nil {
		// Only the device's own answer confirms a MAC (the TXT record's is a claim).
		mac := wled.NormalizeMAC(j.info.MAC)
		if mac == "" {
			j.err = fmt.Errorf("%w (info.mac %q)", ErrNoMAC, j.info.MAC)
		} else if c := r.entries[mac]; c != nil && c != e && c.confirmed && c.dev.Online && e.unconfirmedMDNS() && c.dev.IP != j.ip {
			j.err = fmt.Errorf("%w: %s answers as MAC %s, which %s answers as at %s", ErrOtherMAC, j.ip, mac, c.dev.Name, c.dev.IP)
		} else if owner := r.addressOwnerLocked(e, mac, j.ip); owner != nil {
			j.err = fmt.Errorf("%w: %s answers as MAC %s, but %s (MAC %s) is online there", ErrAddressTaken, j.ip, mac, owner.dev.Name, owner.dev.MAC)
			if held, ok := r.addrTakenLog.Allow(r.clock.Now()); ok {
				r.log.Warn("discovery: not adding an mDNS device at an IP where another device is online (one WLED per IP)",
					"instance", e.instance, "mac", mac, "ip", j.ip, "port", j.port, "online_device", owner.dev.MAC, "suppressed", held)
			}
		} else {
			var gone []Event
			if e, gone = r.rekeyLocked(e, mac); e == nil {
				return events
			}
			events = append(events, gone...)
		}
	}
	old, announced := e.dev, e.announced
	if j.err != nil {
		e.failures++
		e.dev.LastError = j.err.Error()
		if e.failures >= r.cfg.OfflineAfter {
			e.dev.Online = false
		}
		if !e.dev.Online && e.offlineSince.IsZero() {
			e.offlineSince = now
		}
		if e.confirmed && e.static == nil && !e.dev.Online &&
			now.Sub(e.offlineSince) >= r.cfg.ForgetAfter && now.Sub(e.mdnsSeen) >= r.cfg.ForgetAfter {
			delete(r.entries, e.dev.Key)
			r.log.Info("discovery: forgot a device offline and silent on mDNS for too long; mDNS finds it again if it returns",
				"name", e.dev.Name, "mac", e.dev.MAC, "ip", e.dev.IP, "offline_for", now.Sub(e.offlineSince),
				"mdns_silent_for", now.Sub(e.mdnsSeen), "err", j.err)
			return append(events, Event{Kind: EventRemoved, Device: e.dev})
		}
		if e.unconfirmedMDNS() && e.failures >= evictUnconfirmedAfter {
			delete(r.entries, e.dev.Key)
			r.log.Debug("discovery: dropped an mDNS answer that never answered /json/info",
				"instance", e.instance, "ip", e.mdnsAddr, "err", j.err)
			return events
		}
	} else {
		e.failures = 0
		e.offlineSince = time.Time{}
		e.confirmed = true
		r.fillLocked(e, j, now)
	}
	if !e.confirmed {
		// Nothing to tell the session before the device has answered: it could not stream to
		// it anyway (no LED count, no protocol), and an answer anyone can forge is not news.
		return events
	}
	e.announced = true
	if j.err == nil && r.cfg.OnProbe != nil {
		r.probed = append(r.probed, e.dev)
	}
	switch {
	case !announced:
		return append(events, Event{Kind: EventAdded, Device: e.dev})
	case old.Online && !e.dev.Online:
		return append(events, Event{Kind: EventOffline, Device: e.dev})
	case !old.Online && e.dev.Online:
		return append(events, Event{Kind: EventOnline, Device: e.dev})
	case materiallyChanged(old, e.dev):
		return append(events, Event{Kind: EventUpdated, Device: e.dev})
	}
	return events
}

// addressOwnerLocked returns the confirmed, online device other than mac that has ip, when e
// is a new mDNS-only device (not configured, never confirmed, MAC not yet listed); otherwise nil.
// A WLED controller has one IP, so a second MAC answering there is one host posing as several
// devices (instance names on other ports, a new MAC per /json/info), and each device listed
// there would get its own 60 fps stream to the same IP and UDP port. Configured devices are
// always kept, and when the device at ip is offline (a controller replaced on the same DHCP
// address) the newcomer is listed.
func (r *Registry) addressOwnerLocked(e *entry, mac string, ip netip.Addr) *entry {
	if e.static != nil || e.confirmed || r.entries[mac] != nil {
		return nil
	}
	for _, x := range r.entries {
		if x != e && x.confirmed && x.dev.Online && x.dev.IP == ip && x.dev.MAC != mac {
			return x
		}
	}
	return nil
}

// rekeyLocked files e under its MAC, merging it into an existing entry for that MAC, and returns
// the entry the probe now applies to. It drops e and returns nil when e is a new mDNS-only device
// and maxDevices are confirmed.
//
// When e was announced under another MAC (a controller replaced at its address: the probe
// found another MAC there), that key leaves the list, and gone holds the EventRemoved that says
// so; the entry is then announced afresh under its new key. Without it a consumer keyed by
// Device.Key keeps the old device (its strip, its stream) forever, and one host answering with
// a new MAC every round would make it add one more each round.
func (r *Registry) rekeyLocked(e *entry, mac string) (_ *entry, gone []Event) {
	if e.dev.Key == mac {
		e.dev.MAC = mac
		return e, nil
	}
	target := r.entries[mac]
	if target == nil && e.static == nil && !e.confirmed {
		if confirmed, _ := r.countLocked(); confirmed >= maxDevices {
			delete(r.entries, e.dev.Key)
			if held, ok := r.fullLog.Allow(r.clock.Now()); ok {
				r.log.Warn("discovery: device list full; not adding", "max", maxDevices, "mac", mac, "ip", e.mdnsAddr, "suppressed", held)
			}
			return nil, nil
		}
	}
	delete(r.entries, e.dev.Key)
	if e.announced {
		last := e.dev
		last.Online = false
		gone = append(gone, Event{Kind: EventRemoved, Device: last})
		if held, ok := r.replacedLog.Allow(r.clock.Now()); ok {
			r.log.Info("discovery: another controller answers where a device was; it replaces the device",
				"old_mac", last.MAC, "new_mac", mac, "ip", last.IP, "name", last.Name, "suppressed", held)
		}
		e.announced = false
	}
	if target == nil {
		e.dev.Key, e.dev.MAC = mac, mac
		r.entries[mac] = e
		return e, gone
	}
	if e.static != nil {
		target.static = e.static
		target.dev.Static = e.static.raw
	}
	if e.instance != "" && target.instance == "" {
		target.instance, target.mdnsAddr, target.mdnsPort = e.instance, e.mdnsAddr, e.mdnsPort
		target.dev.Host = e.dev.Host
	}
	if e.mdnsSeen.After(target.mdnsSeen) {
		target.mdnsSeen = e.mdnsSeen
	}
	target.dev.Source = sourceOf(target)
	return target, gone
}

// prevAddrGrace is how long a device's previous address may fail to answer as it, while the
// device answers at its new one, before the move is taken as real and the previous address is
// let go: long enough for a reboot or a Wi-Fi drop (an outage during which a forger took the
// device), short enough that a dead old address does not cost every round a probe timeout for
// long, and that a host later given the freed address cannot pull the device back to it.
const prevAddrGrace = 3 * time.Minute

// confirmAt records that /json/info confirmed the device at addr in probe j: ownAddr becomes
// addr, and prevAddr follows a move (the address left behind, kept until it has been silent for
// prevAddrGrace, the device is back there, or forgetAfter has passed since the move). A
// configured device keeps no prevAddr: it is wherever its configured host is.
func (e *entry) confirmAt(addr netip.AddrPort, j *probeJob, now time.Time, forgetAfter time.Duration) {
	switch {
	case e.static != nil:
	case !e.ownAddr.IsValid() || addr == e.ownAddr:
	case addr.Addr() == e.prevAddr.Addr():
		e.prevAddr = netip.AddrPort{} // back home
	default:
		e.prevAddr, e.movedAt, e.prevSilentSince = e.ownAddr, now, time.Time{}
	}
	switch {
	case !e.prevAddr.IsValid() || !j.prevIP.IsValid(): // not asked this round
	case !j.prevSilent:
		e.prevSilentSince = time.Time{}
	case e.prevSilentSince.IsZero():
		e.prevSilentSince = now
	case now.Sub(e.prevSilentSince) >= prevAddrGrace:
		e.prevAddr = netip.AddrPort{} // it answers here, and has not there for a while: it moved
	}
	if e.prevAddr.IsValid() && now.Sub(e.movedAt) >= forgetAfter {
		e.prevAddr = netip.AddrPort{}
	}
	e.ownAddr = addr
}

// fillLocked applies a successful probe: address, info, and the derived stream settings.
func (r *Registry) fillLocked(e *entry, j *probeJob, now time.Time) {
	d := &e.dev
	d.Info = j.info
	d.IP, d.HTTPPort = j.ip, j.port
	e.confirmAt(netip.AddrPortFrom(j.ip, uint16(j.port)), j, now, r.cfg.ForgetAfter)
	if j.info.Name != "" {
		d.Name = j.info.Name
	}
	d.Online, d.LastSeen, d.LastError = true, now, ""
	// The protocol first (a static URL's scheme, else the configured one, else the firmware's
	// best), then the LED count, then the format and the clamp for that protocol, as
	// wled.Client.Complete does: clamping for the automatic choice before a drgb:// URL replaced it
	// would hand the output more LEDs than DRGB can carry, and NewOutput would refuse the device.
	// wled.StreamProtocol is what CompleteAs applies to a configured wled:// device too, so a
	// forced DDP falls back to DNRGB on firmware that predates DDP on both paths.
	was := d.Protocol
	d.Protocol = wled.StreamProtocol(r.protocol, j.info)
	if r.protocol != wled.ProtocolAuto && d.Protocol != r.protocol && d.Protocol != was && (e.static == nil || !e.static.forced()) {
		if held, ok := r.fallbackLog.Allow(now); ok {
			r.log.Warn("discovery: the device's firmware predates the forced protocol; streaming the protocol it takes instead",
				"name", d.Name, "mac", d.MAC, "ip", j.ip, "vid", j.info.VID, "forced", r.protocol, "protocol", d.Protocol, "suppressed", held)
		}
	}
	d.LEDs = j.info.LEDs.Count
	ddpPort := 0
	s := e.static
	if s != nil {
		if s.forced() {
			d.Protocol = s.target.Protocol
		}
		if s.target.LEDs > 0 {
			d.LEDs = s.target.LEDs
		}
		if s.target.DDPPort > 0 {
			ddpPort = s.target.DDPPort
		}
	}
	var most int
	d.RGBW, most = wled.StreamFormat(d.Protocol, j.info)
	if s != nil && s.forced() {
		// A ddp://, dnrgb://, … URL describes the stream's format itself.
		d.RGBW = s.target.RGBW
	}
	// A WARLS/DRGB stream shows the strip's start rather than nothing; Info.LEDs.Count keeps the
	// device's own count, so that a sink can say so (the session warns once per device).
	d.LEDs = min(d.LEDs, most)
	if s != nil && s.forced() {
		d.StreamPort = s.target.Port
	} else {
		d.StreamPort = wled.StreamPort(d.Protocol, j.info, ddpPort)
	}
	d.Source = sourceOf(e)
}

// materiallyChanged reports changes a sink has to react to (not uptime, live state, …).
func materiallyChanged(a, b Device) bool {
	return a.IP != b.IP || a.HTTPPort != b.HTTPPort || a.LEDs != b.LEDs || a.RGBW != b.RGBW ||
		a.Protocol != b.Protocol || a.StreamPort != b.StreamPort || a.Name != b.Name
}
