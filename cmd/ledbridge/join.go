package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/realtime"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/sdnotify"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

// shutdownGrace bounds how long leaving the room and releasing the devices may take.
const shutdownGrace = 2 * time.Second

// waitGroupUntil waits for wg; with until set, only until then, and at least 100 ms (what a stop
// has just cancelled returns by then unless it is stuck).
func waitGroupUntil(wg *sync.WaitGroup, until time.Time) {
	if until.IsZero() {
		wg.Wait()
		return
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(max(time.Until(until), 100*time.Millisecond)):
	}
}

// readyGrace is how long start-up waits for the room before telling systemd READY anyway; it is
// well inside systemd's default 90 s start timeout.
const readyGrace = 45 * time.Second

// readyPendingStatus is what the status line of a READY sent after readyGrace, before the room was
// joined, says of the room; the README and the unit quote it.
const readyPendingStatus = "not joined yet"

func init() {
	cmd := &cobra.Command{
		Use:   "join CODE",
		Short: "Join a jam room and light the strips from its musicians",
		Long: `Joins the room CODE as a receive-only participant ("LED bridge"), receives every
musician's audio over WebRTC, detects their notes and drives every WLED strip on the LAN.

Without a Supabase URL (flag, config supabase.url or LEDBRIDGE_SUPABASE_URL) it hosts the
room itself on the embedded LAN room server and prints the URL musicians' clients use.`,
		Args: cobra.MaximumNArgs(1),
		RunE: runJoin,
	}
	f := cmd.Flags()
	f.String("name", "LED bridge", "name shown in Presence (config room.name)")
	f.String("mode", "auto", "auto, local or broadcast (config room.mode)")
	f.StringArray("device", nil, "a device URL: wled://HOST[:PORT], ddp://HOST[:PORT]?leds=N, dnrgb://…; repeatable (config devices)")
	f.Bool("no-discovery", false, "drive only the --device/config devices, do not browse mDNS")
	f.String("supabase-url", "", "Supabase project URL; empty hosts the room on the LAN (config supabase.url)")
	f.String("supabase-key", "", "Supabase anon key (config supabase.key; prefer LEDBRIDGE_SUPABASE_KEY)")
	f.String("listen", ":4000", "the embedded room server's address, when it runs (config hub.listen)")
	f.String("status-addr", ":8080", "the status page's address; empty disables it (config status.addr)")
	rootCmd.AddCommand(cmd)
}

var joinFlagKeys = map[string]string{
	"room.name":    "name",
	"room.mode":    "mode",
	"devices":      "device",
	"supabase.url": "supabase-url",
	"supabase.key": "supabase-key",
	"hub.listen":   "listen",
	"status.addr":  "status-addr",
}

func runJoin(cmd *cobra.Command, args []string) error {
	loaded, err := loadConfig(cmd, joinFlagKeys)
	if err != nil {
		return err
	}
	codeText := loaded.Room.Code
	if len(args) == 1 {
		codeText = args[0]
	}
	if codeText == "" {
		if loaded.File != "" {
			// As the unit runs join (--config, no CODE): the file lacks its room, which is the
			// configuration's problem (78), not the command line's.
			return configError{fmt.Errorf("join: room.code is not set in %s (or give the code: ledbridge join JAM234)", loaded.File)}
		}
		return usageError{errors.New("join: give a room code (ledbridge join JAM234) or set room.code")}
	}
	code, err := room.ParseCode(codeText)
	if err != nil {
		if len(args) == 1 {
			return usageError{fmt.Errorf("join: %w", err)}
		}
		return configError{fmt.Errorf("join: room.code: %w", err)}
	}
	noDiscovery, _ := cmd.Flags().GetBool("no-discovery")
	log := setupLogging(loaded)
	// With JSON logs, what start-up tells the operator is log records too, not plain text.
	jsonLogs := loaded.Log.Format == "json"
	for _, p := range daemonTuneProblems { // main tuned the process before anything started
		log.Warn(p)
	}
	if slack, err := timerSlack(); err == nil {
		log.Debug("process settings", "gomaxprocs", runtime.GOMAXPROCS(0), "timer_slack", slack)
	}
	ctx := cmd.Context()
	c := loaded.Config
	var tokens *accessTokenWatch // nil when the room is hosted on the LAN: no access token then
	if c.Supabase.URL != "" {
		tokens = &accessTokenWatch{log: log, now: time.Now}
		tokens.set(c.Supabase.AccessToken)
	}

	// SIGHUP reloads; SIGINT/SIGTERM (cancelling ctx) stop.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	// A stop waits for these goroutines only until its deadline: one may be stuck behind a frame
	// loop that hangs holding the session's lock (the status line's snapshot), and the daemon
	// must still exit (with "shutdown took longer than 2 s").
	var waitUntil time.Time
	defer func() { waitGroupUntil(&wg, waitUntil) }()

	reg := newRegistry()

	ver, _ := buildVersion()
	sc, err := sessionConfig(c, code, ver, !noDiscovery, log, reg)
	if err != nil {
		return configError{err}
	}
	if w := noStripsWarning(sc); w != "" {
		log.Warn(w)
	}
	looks, err := stripLooks(c)
	if err != nil {
		return configError{err}
	}

	// Every listener is bound before anything is announced: a port in use must end start-up with
	// its error alone, not after stdout told the musicians a room server is ready (and systemd's
	// journal showed URLs of a daemon that never ran). The status page's comes first; it serves
	// once the session exists.
	notifier := sdnotify.New(log)
	bindBy := time.Now().Add(portWait) // for every port together
	var statusLn net.Listener
	if c.Status.Addr != "" {
		ln, err := listenTCP(ctx, c.Status.Addr, "status page", bindBy, log, notifier)
		if err != nil {
			return err
		}
		statusLn = ln
		defer func() {
			if statusLn != nil { // not handed to the status server: start-up failed
				_ = statusLn.Close()
			}
		}()
	}

	// The room server outlives the session, so that the bridge's untrack and leave reach the
	// other participants before the server closes their sockets.
	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	var hubDone func() error
	// One watcher of the host's addresses keeps the room server's URLs and the status page's
	// current, and tells the musicians' connections when an address goes.
	addrWatch := newHostAddressWatch(log, nil)
	announceHub := func() {} // prints the room server's URLs once nothing else can fail
	started := false         // nothing can fail any more; from then on the shutdown below stops the room server
	if c.Supabase.URL == "" {
		h, err := startEmbeddedHub(ctx, hubCtx, bindBy, c.Hub, log, reg, notifier) // its ledbridge_hub_* series on the status page's /metrics
		if err != nil {
			return err
		}
		hubDone = h.Wait
		defer func() {
			if !started { // the session or the status page could not be made: stop the server and wait for it
				stopHub()
				_ = h.Wait()
			}
		}()
		addrWatch.watchRoomServer(h, "room", code.String())
		hostOnLAN(&sc, h, c.Hub.Secret, addrWatch)
		announceHub = func() {
			announceHubURLs(cmd.OutOrStdout(), log, jsonLogs, h, "room", code.String())
			if !jsonLogs {
				fmt.Fprintf(cmd.OutOrStdout(), "Room code: %s\n", code)
			}
		}
	}

	var readyOnce sync.Once
	var readySent atomic.Bool
	ready := func(line string) {
		readyOnce.Do(func() {
			notifier.Ready(line)
			readySent.Store(true)
		})
	}
	sc.OnReady = ready
	sess, err := session.New(sc)
	if err != nil {
		return configError{err}
	}
	if err := sess.SetStripLooks(looks); err != nil {
		return configError{err}
	}
	// A musician whose connection was on an address the host no longer has restarts ICE at once.
	addrWatch.watchHostAddresses(sess.HostAddressesChanged)

	var statusSrv *status.Server
	if statusLn != nil {
		srv, err := status.New(status.Config{Provider: sess, Controller: sess, Token: c.Status.Token, AllowedHosts: c.Status.AllowedHosts, Gatherer: reg, Logger: log.With("part", "status"),
			// Read once as the page starts: not reloadable, so a reload reports them as needing a restart.
			MaxConnections: c.Status.MaxConnections, MaxConnectionsPerClient: c.Status.MaxConnectionsPerClient,
			MaxStreams: c.Status.MaxStreams, MaxStreamsPerClient: c.Status.MaxStreamsPerClient})
		if err != nil {
			return err
		}
		statusSrv = srv
	}

	// Nothing can fail any more: announce, then serve.
	started = true
	announceHub()
	if statusSrv != nil {
		ln := statusLn
		statusLn = nil // the server closes it
		hostname, _ := os.Hostname()
		urls := addrWatch.watchStatusPage(ln.Addr(), hostname)
		log.Info("status page", "url", urls[0], "urls", urls)
		if !jsonLogs { // a JSON log's reader has the record
			tcp, _ := ln.Addr().(*net.TCPAddr)
			fmt.Fprintln(cmd.OutOrStdout(), statusLine(urls, tcp != nil && tcp.IP.IsUnspecified()))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := statusSrv.Serve(ctx, ln); err != nil {
				log.Error("status page stopped", "err", err)
			}
		}()
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		addrWatch.run(ctx, hostAddressRefresh)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		notifier.Watchdog(ctx, sess.SinceTick)
	}()
	refusal := &reloadRefusal{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := reloader{cmd: cmd, sess: sess, status: statusSrv, notifier: notifier, log: log,
			running: c, applied: c, file: loaded.File, fileEmpty: loaded.FileEmpty, codeFromArgs: len(args) == 1, ready: readySent.Load,
			accessToken: c.Supabase.AccessToken, tokens: tokens, refusal: refusal}
		r.loop(ctx, hup)
	}()
	if tokens != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(accessTokenRecheck)
			defer t.Stop()
			tokens.run(ctx, t.C)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		systemdStatusLoop(ctx, sess, notifier, refusal)
	}()
	// READY means "the room is joined or hosted". A venue whose internet is down would otherwise
	// never be READY and systemd would restart the daemon every start timeout, blanking the strips
	// each time; past readyGrace it is READY anyway (the frame loop runs, the idle look shows) and
	// the status line says what it is waiting for.
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-time.After(readyGrace):
			ready(fmt.Sprintf("Running; room %s %s: %s", code, readyPendingStatus, sess.Snapshot().Room.Connection.State))
		}
	}()

	runErr := make(chan error, 1)
	go func() { runErr <- sess.Run(ctx) }()
	select {
	case err = <-runErr:
	case <-ctx.Done():
		// One budget for everything: leave the room, release the strips, stop the room server.
		deadline := time.Now().Add(shutdownGrace)
		waitUntil = deadline
		notifier.Stopping()
		log.Info("leaving the room")
		select {
		case err = <-runErr:
		case <-time.After(time.Until(deadline)):
			err = errors.New("shutdown took longer than 2 s; exiting anyway")
		}
		cancel()
		stopHub()
		if hubDone != nil {
			hubWait := make(chan error, 1)
			go func() { hubWait <- hubDone() }()
			select {
			case <-hubWait:
			case <-time.After(max(time.Until(deadline), 100*time.Millisecond)):
			}
		}
		return err
	}
	cancel()
	stopHub()
	if hubDone != nil {
		_ = hubDone()
	}
	return err
}

// hostOnLAN points sc at the embedded room server h: the session joins it over loopback with
// hub.secret (or any key), and the status page shows the URL musicians reach it at now, as urls
// keeps it.
func hostOnLAN(sc *session.Config, h *embeddedHub, secret string, urls *hostAddressWatch) {
	sc.Realtime.URL = h.LocalURL()
	sc.Realtime.APIKey = cmp.Or(secret, "ledbridge")
	sc.Realtime.HTTPClient = h.OwnClient()
	sc.HostedBy = "lan"
	sc.RoomURL = urls.URL()
	sc.CurrentRoomURL = urls.URL
}

// sessionConfig maps the configuration onto the session's.
func sessionConfig(c config.Config, code room.Code, version string, discover bool, log *slog.Logger, reg prometheus.Registerer) (session.Config, error) {
	mode, err := effect.ParseMode(c.Room.Mode)
	if err != nil {
		return session.Config{}, err
	}
	ef, err := c.EffectConfig()
	if err != nil {
		return session.Config{}, err
	}
	var ice []peer.ICEServer
	for _, s := range c.WebRTC.ICEServers {
		ice = append(ice, peer.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	sc := session.Config{
		Code:    code,
		Name:    c.Room.Name,
		Version: version,
		Mode:    mode,
		Realtime: realtime.Config{
			URL:         c.Supabase.URL,
			APIKey:      c.Supabase.Key,
			AccessToken: c.Supabase.AccessToken,
			Vsn:         c.Supabase.Vsn,
			Private:     c.Supabase.Private,
			// Also for the embedded LAN server, whose connection replaces only URL and APIKey.
			EventQueueBytes: c.Supabase.EventQueueBytes,
		},
		Peer: peer.Config{
			ICEServers:          ice,
			NetworkTypes:        c.WebRTC.NetworkTypes,
			Interfaces:          c.WebRTC.Interfaces,
			MDNSMode:            c.WebRTC.MDNS,
			PortMin:             uint16(c.WebRTC.UDPPortMin),
			PortMax:             uint16(c.WebRTC.UDPPortMax),
			MaxPeers:            c.WebRTC.MaxPeers,
			OfferDelay:          c.WebRTC.OfferDelay,
			MaxSignalsPerSecond: c.WebRTC.MaxSignalsPerSecond,
		},
		Devices:         c.Devices,
		Protocol:        c.Output.Protocol,
		RealtimeTimeout: c.Output.RealtimeTimeout,
		MaxMilliamps:    float32(c.Output.MaxMilliamps),
		Effect:          ef,
		Analysis:        c.Analysis.Analyzer(),
		FPS:             c.Output.FPS,
		Logger:          log,
		Metrics:         reg,
		HostedBy:        "supabase",
		RoomURL:         config.PublicURL(c.Supabase.URL), // shown to anyone on the LAN
	}
	if c.Output.SoundSync.Enabled {
		sc.SoundSyncAddr = c.Output.SoundSync.Addr
	}
	if discover && c.Discovery.Enabled {
		sc.Discovery = &discovery.Config{Interval: c.Discovery.Interval, Interfaces: c.Discovery.Interfaces,
			// The registry's own browser, watched so that start-up says what mDNS found.
			Browser: &firstBrowseReport{
				Browser:    &discovery.MDNSBrowser{Interfaces: c.Discovery.Interfaces, Logger: log.With("part", "discovery")},
				log:        log,
				configured: len(c.Devices),
				interval:   cmp.Or(c.Discovery.Interval, discovery.DefaultInterval),
				interfaces: c.Discovery.Interfaces,
			}}
	}
	return sc, nil
}

// stripLooks maps the strips: entries onto the session's per-strip looks, one for one.
func stripLooks(c config.Config) ([]session.StripLook, error) {
	looks := make([]session.StripLook, 0, len(c.Strips))
	for i, s := range c.Strips {
		look, own, err := s.Look()
		if err != nil {
			return nil, fmt.Errorf("strips[%d] (device %q): %w", i, s.Device, err)
		}
		looks = append(looks, session.StripLook{Device: s.Device, Look: look, OwnMaxMilliamps: own})
	}
	return looks, nil
}

// firstBrowseReport is a discovery.Browser that logs one line when its first browse has ended:
// how many WLEDs answered mDNS, or, when none did and no device is configured, that no strip
// will light, which noStripsWarning says at once when discovery is off. Without it a venue whose
// strips are on another VLAN (or whose WLEDs have mDNS off) started in silence.
type firstBrowseReport struct {
	discovery.Browser
	log        *slog.Logger
	configured int           // devices configured at start-up
	interval   time.Duration // until the next browse, for the warning
	interfaces []string      // browsed on (none: all), for the warning
	reported   atomic.Bool
}

// Browse browses, then reports after the first browse that worked. A failed browse is not
// reported here: the registry logs its error.
func (b *firstBrowseReport) Browse(ctx context.Context, window time.Duration) ([]discovery.Answer, error) {
	answers, err := b.Browser.Browse(ctx, window)
	if err != nil || ctx.Err() != nil || !b.reported.CompareAndSwap(false, true) {
		return answers, err
	}
	// An answer is an announcement, not a WLED yet: a device is driven only once its JSON API
	// confirms it, which the registry logs ("device online") or says why not.
	switch n := len(answers); {
	case n == 1:
		b.log.Info("discovery found 1 WLED announced on mDNS; it is driven once its JSON API confirms it", "window", window)
	case n > 1:
		b.log.Info(fmt.Sprintf("discovery found %d WLEDs announced on mDNS; each is driven once its JSON API confirms it", n), "window", window)
	case b.configured > 0:
		b.log.Info("discovery found no WLED on mDNS; the configured devices are driven", "window", window, "configured", b.configured)
	default:
		b.log.Warn(fmt.Sprintf("discovery found no WLED on mDNS and no device is configured (--device, devices): no strip will light until one answers (discovery browses again every %v)", b.interval),
			"window", window, "interfaces", cmp.Or(strings.Join(b.interfaces, ","), "all"))
	}
	return answers, err
}

// noStripsWarning says why no strip will light when the session has no device to drive: none
// configured and discovery off. It is a warning, not an error: the room is still joined and the
// status page works, and a reload can add devices. With discovery on, firstBrowseReport says it
// once the first browse has found nothing.
func noStripsWarning(sc session.Config) string {
	if len(sc.Devices) > 0 || sc.Discovery != nil {
		return ""
	}
	return "no strip will light: no device is configured (--device, devices) and discovery is off (--no-discovery or discovery.enabled: false)"
}

// reloader applies a new configuration on SIGHUP without leaving the room: devices, effects,
// colours, brightness, the strips' own looks (strips:), mode, the status page's token and allowed
// host names, and the Supabase access token (supabase.access_token). An invalid file is rejected with a log line and the old
// settings stay; changes to any other key are named in the
// log line as needing a restart.
type reloader struct {
	cmd      *cobra.Command
	sess     *session.Session
	status   *status.Server // nil when the status page is off
	notifier *sdnotify.Notifier
	log      *slog.Logger
	// running is the configuration the daemon started with; the keys a reload cannot apply keep
	// its values.
	running config.Config
	// applied holds the file's values as last applied (at start, then by each reload): a reload
	// applies only the keys that differ from it, so the status page's mode and brightness,
	// chosen since, survive a reload that does not touch them.
	applied config.Config
	// file is the config file the daemon started with ("" for none) and fileEmpty whether it
	// held no setting; a reload that finds it gone or emptied is refused (refuse).
	file         string
	fileEmpty    bool
	codeFromArgs bool // `join CODE`: room.code in the file does not matter
	// ready reports whether systemd has been told READY; before that a reload must not send it.
	ready func() bool
	// accessToken is the supabase.access_token the session uses now (the last one applied).
	accessToken string
	// tokens warns about accessToken's expiry (nil when the room is hosted on the LAN).
	tokens *accessTokenWatch
	// refusal keeps systemd's status line saying that the last reload was refused.
	refusal *reloadRefusal
}

// reloadRefusal is why the last reload was refused, which systemd's status line repeats until a
// reload succeeds: the daemon runs on a configuration that is no longer the file's, and a one-off
// status would be overwritten by the next periodic line within seconds.
type reloadRefusal struct {
	mu  sync.Mutex
	why string // "" when the last reload succeeded, or none was asked for
}

// maxRefusalText bounds the error quoted in the status line, which `systemctl status` shows on one
// line.
const maxRefusalText = 300

// set records the outcome of a reload (err nil: it succeeded) and returns the status line to send
// now.
func (r *reloadRefusal) set(err error) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.why = ""
		return "Reloaded"
	}
	why := strings.Join(strings.Fields(err.Error()), " ")
	if len(why) > maxRefusalText {
		why = strings.ToValidUTF8(why[:maxRefusalText], "") + "…"
	}
	r.why = why
	return "Reload refused, running the previous configuration: " + why
}

// suffix is what the periodic status line adds while the last reload stands refused ("" when it
// does not).
func (r *reloadRefusal) suffix() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.why == "" {
		return ""
	}
	return "; last reload refused, running the previous configuration: " + r.why
}

func (r *reloader) loop(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		// RELOADING=1 … READY=1 brackets a reload; before start-up is READY (the room not yet
		// joined) a READY=1 would tell systemd the start-up is complete.
		wasReady := r.ready()
		if wasReady {
			r.notifier.Reloading()
		}
		loaded, err := loadConfig(r.cmd, joinFlagKeys)
		if err == nil {
			err = r.refuse(loaded)
		}
		var changed []string
		if err == nil {
			changed = changedKeys(r.applied, loaded.Config) // before apply makes it r.applied
			err = r.apply(loaded.Config, changed)
		}
		line := r.refusal.set(err)
		switch {
		case err != nil:
			r.log.Error("configuration reload rejected; keeping the running configuration", "err", err)
			if !wasReady { // no READY=1 to carry it below
				r.notifier.Status(line)
			}
		default:
			what := "none"
			if len(changed) > 0 {
				what = strings.Join(changed, ", ")
			}
			if keys := restartKeys(changedKeys(r.running, loaded.Config), r.codeFromArgs); len(keys) > 0 {
				r.log.Warn("configuration reloaded; these changed keys take effect only after a restart (systemctl restart ledbridge)",
					"file", loaded.File, "changed", what, "keys", strings.Join(keys, ", "))
			} else {
				r.log.Info("configuration reloaded", "file", loaded.File, "changed", what)
			}
		}
		if wasReady {
			r.notifier.Ready(line)
		}
	}
}

// refuse returns why loaded must not replace the running configuration although it is valid:
// a start-up would refuse it, or it is almost surely a file caught mid-write rather than the
// operator's wish. Applied, it would tear the setup down: a config file that is gone, or emptied
// (truncated by an editor's non-atomic save, `> config.yaml`), reads as all defaults, which
// removes the configured strips, turns the status page's controls off and resets the
// brightness, while `join` started with it would exit with status 64 or 78.
func (r *reloader) refuse(loaded *config.Loaded) error {
	switch {
	case r.file != "" && loaded.File == "":
		return fmt.Errorf("the config file %s is gone (a reload would apply the defaults; start-up would not find it either)", r.file)
	case r.file != "" && loaded.File != r.file:
		return fmt.Errorf("the config file %s is gone and %s would be read instead; restart to use it", r.file, loaded.File)
	case loaded.FileEmpty && !r.fileEmpty:
		return fmt.Errorf("the config file %s is empty (a reload would apply the defaults); if that was meant, restart", loaded.File)
	case !r.codeFromArgs && loaded.Room.Code == "":
		return errors.New("room.code is not set any more: start-up would refuse this configuration (give it a room code)")
	case !r.codeFromArgs && !sameRoom(r.running.Room.Code, loaded.Room.Code):
		// Applied, the devices and looks meant for another room would drive this room's strips
		// (or none, the file's strips being elsewhere) while the bridge stays in the old room.
		return fmt.Errorf("room.code %s is another room than the running %s: a reload cannot move the bridge to another room (restart to join it: systemctl restart ledbridge)",
			loaded.Room.Code, r.running.Room.Code)
	}
	return nil
}

// sameRoom reports whether the room codes a and b name the same room: a code is case-blind.
func sameRoom(a, b string) bool {
	ca, errA := room.ParseCode(a)
	cb, errB := room.ParseCode(b)
	return errA == nil && errB == nil && ca == cb
}

// apply hands c's reloadable keys (reloadableKeys) to the running parts. The effects and the
// mode, which the status page's controls also set, are applied only when changed (the keys
// since the last reload): a reload of an unchanged file must not undo the page's choice, and a
// change to another effects key keeps the page's brightness.
//
// A reload is all or nothing: check makes every check a running part would make before any
// part changes, so that a refused reload leaves the daemon wholly on its previous configuration,
// as the log line and systemd's status say; applyChecked then hands over values already checked.
func (r *reloader) apply(c config.Config, changed []string) error {
	checked, err := r.check(c, changed)
	if err != nil {
		return err
	}
	return r.applyChecked(c, changed, checked)
}

// checkedReload is what check derived from a configuration it found the running parts would
// take.
type checkedReload struct {
	effects effect.Config // with the page's brightness kept unless effects.brightness_cap changed
	looks   []session.StripLook
}

// check returns why a running part would refuse c (changed: the keys since the last reload),
// changing nothing: the effects and the mode (when changed), the strips' looks, the status
// page's access and the devices.
func (r *reloader) check(c config.Config, changed []string) (checkedReload, error) {
	ef, err := c.EffectConfig()
	if err != nil {
		return checkedReload{}, err
	}
	if hasKey(changed, "effects.") {
		if !hasKey(changed, brightnessKey) {
			ef.BrightnessCap = float32(r.sess.Snapshot().Room.Brightness) // the page's, or the file's as applied
			if ef.BrightnessCap == 0 {
				ef.BrightnessCap = effect.Dark // the snapshot's dark: a zero cap would mean the default
			}
		}
		if err := ef.Validate(); err != nil { // SetEffects's check
			return checkedReload{}, err
		}
	}
	if hasKey(changed, "room.mode") {
		if _, err := effect.ParseMode(c.Room.Mode); err != nil { // SetMode's
			return checkedReload{}, err
		}
	}
	looks, err := stripLooks(c)
	if err != nil {
		return checkedReload{}, err
	}
	if r.status != nil {
		for _, h := range c.Status.AllowedHosts { // SetAccess's
			if err := status.CheckHostPattern(h); err != nil {
				return checkedReload{}, err
			}
		}
	}
	if err := r.checkDevices(c); err != nil { // SetDevices's, against the running protocol
		return checkedReload{}, err
	}
	return checkedReload{effects: ef, looks: looks}, nil
}

// applyChecked hands c, which check passed, to the running parts in turn: the status page's
// access, the effects, the mode, the devices, the strips' looks and last the access token. The
// setters repeat check's checks, so an error here is not a refusal of the file but a running
// part's failure.
func (r *reloader) applyChecked(c config.Config, changed []string, checked checkedReload) error {
	if r.status != nil {
		if err := r.status.SetAccess(c.Status.Token, c.Status.AllowedHosts); err != nil {
			return err
		}
	}
	if hasKey(changed, "effects.") {
		if err := r.sess.SetEffects(checked.effects); err != nil {
			return err
		}
		r.applied.Effects = c.Effects
	}
	if hasKey(changed, "room.mode") {
		if err := r.sess.SetMode(c.Room.Mode); err != nil {
			return err
		}
		r.applied.Room.Mode = c.Room.Mode
	}
	if err := r.sess.SetDevices(c.Devices); err != nil {
		return err
	}
	if hasKey(changed, "strips") {
		if err := r.sess.SetStripLooks(checked.looks); err != nil {
			return err
		}
	}
	r.applied = c
	// Last: it cannot fail. A user JWT expires (typically within hours or days): the operator
	// replaces it and reloads, and the room's channel takes it without a restart.
	if c.Supabase.AccessToken != r.accessToken {
		r.accessToken = c.Supabase.AccessToken
		r.sess.SetAccessToken(c.Supabase.AccessToken)
		r.log.Info("supabase.access_token replaced; the room's channel uses the new token now")
		if r.tokens != nil {
			r.tokens.set(c.Supabase.AccessToken)
		}
	}
	return nil
}

// checkDevices returns why the session would refuse c's devices, by its own rule
// (session.CheckDevices) against the protocol the daemon streams, which output.protocol sets only
// at start-up; the file itself was checked (config check) against its own output.protocol. When
// the two differ, a line the running protocol cannot carry is refused with the restart the file's
// protocol needs: the session's advice to set output.protocol would point at a key the file
// already sets. Each line is checked on its own so that the refusal can name it.
func (r *reloader) checkDevices(c config.Config) error {
	runningProtocol, err := wled.ParseProtocol(r.running.Output.Protocol)
	if err != nil {
		return fmt.Errorf("output.protocol the daemon runs: %w", err)
	}
	fileProtocol, _ := wled.ParseProtocol(c.Output.Protocol) // valid: the file was validated
	for _, raw := range c.Devices {
		_, err := session.CheckDevices([]string{raw}, runningProtocol)
		var forced *wled.ForcedLEDsError
		switch {
		case err == nil:
		case errors.As(err, &forced) && fileProtocol != runningProtocol:
			// The file's protocol as written: ProtocolAuto's own name ("wled") is no value of the key.
			return fmt.Errorf("device %q: %w: ?leds=%d is more than the running output.protocol %v carries (%d LEDs); the file's output.protocol %s applies only after a restart (systemctl restart ledbridge), or give ?leds=%d or fewer",
				raw, wled.ErrTooManyLEDs, forced.LEDs, forced.Protocol, forced.Most, c.Output.Protocol, forced.Most)
		default:
			return err
		}
	}
	return nil
}

// accessTokenWarnBefore is how long before its expiry supabase.access_token is warned about.
const accessTokenWarnBefore = 7 * 24 * time.Hour

// accessTokenRecheck is how often a running daemon looks at supabase.access_token's expiry again,
// and accessTokenRewarn how often at most it repeats the same warning.
const (
	accessTokenRecheck = time.Hour
	accessTokenRewarn  = 24 * time.Hour
)

// accessTokenWatch logs accessTokenWarning's warning about the access token in use: when it is
// set (at start-up, and when a reload replaces it) and at each re-check while the daemon runs. A
// warning due 7 days ahead often falls long after start-up: a daemon runs for weeks, and a Pi
// without a real-time clock boots with the time it shut down at, which NTP steps forward later.
// It repeats the same warning at most once per accessTokenRewarn; the token's expiry is said at
// once.
type accessTokenWatch struct {
	log *slog.Logger
	now func() time.Time // the wall clock: a JWT's exp is wall time

	mu            sync.Mutex
	token         string
	warned        time.Time // when the warning about token was last logged; zero for never
	warnedExpired bool      // that warning said the token has expired
}

// set makes token the one watched and checks it now.
func (w *accessTokenWatch) set(token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.token, w.warned, w.warnedExpired = token, time.Time{}, false
	w.checkLocked()
}

// check logs the warning about the token, if one is due.
func (w *accessTokenWatch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checkLocked()
}

func (w *accessTokenWatch) checkLocked() {
	now := w.now()
	msg := accessTokenWarning(w.token, now)
	if msg == "" {
		return
	}
	exp, err := realtime.AccessTokenExpiry(w.token)
	expired := err == nil && !exp.After(now)
	// A clock stepped back since the last warning (since is negative) repeats it too.
	if since := now.Sub(w.warned); !w.warned.IsZero() && since >= 0 && since < accessTokenRewarn && expired == w.warnedExpired {
		return
	}
	w.warned, w.warnedExpired = now, expired
	w.log.Warn(msg)
}

// run checks at each tick until ctx is cancelled.
func (w *accessTokenWatch) run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			w.check()
		}
	}
}

// accessTokenWarning says when supabase.access_token (a user JWT, whose exp is read without
// checking its signature) has expired or expires within accessTokenWarnBefore: at its exp the
// Realtime server closes the room's channel and refuses every rejoin with it. "" when there is
// nothing to say. It never quotes the token.
func accessTokenWarning(token string, now time.Time) string {
	if token == "" {
		return ""
	}
	exp, err := realtime.AccessTokenExpiry(token)
	if err != nil {
		return "supabase.access_token: cannot tell when it expires (" + err.Error() + "); the Realtime server may refuse it"
	}
	when := exp.UTC().Format(time.RFC3339)
	if !exp.After(now) {
		return fmt.Sprintf("supabase.access_token expired at %s (%s ago): the Realtime server refuses it, so the room cannot be joined; "+
			"replace it in the config file, then systemctl reload ledbridge", when, now.Sub(exp).Round(time.Second))
	}
	if left := exp.Sub(now); left < accessTokenWarnBefore {
		return fmt.Sprintf("supabase.access_token expires at %s (in %s): the Realtime server then closes the room's channel; "+
			"replace it before then in the config file, then systemctl reload ledbridge", when, left.Round(time.Minute))
	}
	return ""
}

// brightnessKey is the key the status page's brightness control also sets.
const brightnessKey = "effects.brightness_cap"

// hasKey reports whether keys holds key or, for a key ending in '.', one in that section.
func hasKey(keys []string, key string) bool {
	return slices.ContainsFunc(keys, func(k string) bool { return keyIn(k, key) })
}

// keyIn reports whether key is pattern or, for a pattern ending in '.', a key in that section.
func keyIn(key, pattern string) bool {
	return key == pattern || strings.HasSuffix(pattern, ".") && strings.HasPrefix(key, pattern)
}

// changedKeys is config.ChangedKeys, without room.code when both name the same room: a code is
// case-insensitive (room.ParseCode), so jam234 is the room JAM234 the daemon joined.
func changedKeys(a, b config.Config) []string {
	keys := config.ChangedKeys(a, b)
	if !sameRoom(a.Room.Code, b.Room.Code) {
		return keys
	}
	return slices.DeleteFunc(keys, func(k string) bool { return k == "room.code" })
}

// reloadableKeys are the keys (or, ending in '.', sections) a reload applies.
var reloadableKeys = []string{"devices", "effects.", "strips", "room.mode", "status.token", "status.allowed_hosts", "supabase.access_token"}

// unusedKeys are keys join does not read at all, so that a change to one needs no restart
// either: hub.metrics is `ledbridge hub`'s alone (join's metrics are on the status page).
var unusedKeys = []string{"hub.metrics"}

// restartKeys returns the changed keys a reload cannot apply.
func restartKeys(changed []string, codeFromArgs bool) []string {
	var out []string
	for _, key := range changed {
		if key == "room.code" && codeFromArgs || slices.Contains(unusedKeys, key) ||
			slices.ContainsFunc(reloadableKeys, func(r string) bool { return keyIn(key, r) }) {
			continue
		}
		out = append(out, key)
	}
	return out
}

// systemdStatusLoop keeps `systemctl status` showing a readable line, which says so while the last
// reload stands refused.
func systemdStatusLoop(ctx context.Context, sess *session.Session, n *sdnotify.Notifier, refusal *reloadRefusal) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := sess.Snapshot()
			n.Status(fmt.Sprintf("Room %s %s; %d musicians; %d strips; %s%s", s.Room.Code, s.Room.Connection.State, len(s.Musicians), len(s.Devices), s.Room.Look, refusal.suffix()))
		}
	}
}

// statusURLsFrom lists the URLs a person can open the status page listening on a at: for a
// wildcard address the host's .local name first (hostname, unless ""; it survives a new DHCP
// lease), then each of the addresses interfaceAddrs lists (a phone or a laptop without mDNS does
// not resolve .local), loopback last; else the address itself.
func statusURLsFrom(a *net.TCPAddr, hostname string, interfaceAddrs func() ([]net.Addr, error)) []string {
	urls := addressURLs(a, interfaceAddrs)
	if a.IP.IsUnspecified() && hostname != "" {
		urls = append([]string{"http://" + net.JoinHostPort(hostname+".local", strconv.Itoa(a.Port))}, urls...)
	}
	if len(urls) == 0 {
		urls = []string{"http://" + a.String()}
	}
	return urls
}

// statusNoLANYet ends the status page's line when the page listens on every address but the host
// has none on the LAN yet: loopback is no address a phone can open.
const statusNoLANYet = "(no LAN address yet: the log gives the page's address when the host gets one)"

// statusLine is the plain-text line naming the status page: its first URL, and its first LAN
// address when that is another; everyAddress says the page listens on a wildcard address, where
// no LAN address means the host has none yet.
func statusLine(urls []string, everyAddress bool) string {
	line := "Status page: " + urls[0] + "/"
	switch lan := slices.IndexFunc(urls, isLANURL); {
	case lan > 0:
		return line + " (by address: " + urls[lan] + "/)"
	case lan < 0 && everyAddress:
		return line + " " + statusNoLANYet
	}
	return line
}
