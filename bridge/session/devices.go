package session

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

// strip is one device the loop renders for: its output (the Sink), its renderer and buffers.
//
// Its name is fixed: the frame loop, the metrics and the output's own log lines read it without a
// lock. A device renamed in WLED's settings (discovery's update, a configured wled:// device's
// recheck) gets a new strip under the new name, which takes the device over from the old one as
// any successor does (wled's drivers: no release). Renames are rare: the renderer restarting then
// is cheaper than a lock on every read.
type strip struct {
	key        string // MAC for discovered devices, the URL for configured ones
	configured bool   // key is a configured device URL
	name       string
	target     wled.Target
	out        Sink
	frameBytes int // of out's frames
	online     atomic.Bool
	// host is the device's host name, mDNS's ("wled-bar.local") or its configured line's, without
	// a final dot; "" when it has none. A strips: entry may name the device by it (StripLook); a
	// configured strip also answers to the device discovery found at its address (namesLocked).
	host string

	// Owned by the frame loop goroutine.
	renderer    *effect.Renderer
	rendererGen uint64
	failedGen   uint64 // the effect settings generation (+1) NewRenderer refused for this strip
	frame       []byte
	// shape is the strip description renderer was made for (its look included): a reload that
	// leaves it as it is keeps the renderer when it can (rebuildRenderer).
	shape effect.Strip
	// lookEntry is 1 + the index of the strips: entry whose look the strip has (0: the global
	// look), for the log line that says which look a strip takes when that changes.
	lookEntry int
	// lookOf is the strips: entry lookEntry names (zero for the global look), as it was when
	// look was written.
	lookOf StripLook

	// look is the strip's look in effect.DescribeLook's words, for the status page: written by
	// the frame loop when the look changes (never per frame), nil before the first renderer.
	look atomic.Pointer[string]

	identifyUntil atomic.Int64 // flash the strip until then: a frameLoop.deadline, 0 for none

	// deviceLEDs is the device's own LED count when the forced protocol drives only the start
	// of it (warnClampedLocked), else 0: the status page says "490 of 600". publishLocked
	// writes it, before the strip list it reads it from.
	deviceLEDs atomic.Int64

	cancel context.CancelFunc
	done   chan struct{}
}

// releaseClient gives a DDP device back to its own effects on shutdown ({"live":false}); a
// powered-off strip must not eat the daemon's 2 s exit budget.
var releaseClient = &wled.Client{Timeout: 800 * time.Millisecond}

// maxDiscoveredStrips bounds the strips driven for discovered devices. Each strip is an output
// goroutine, a socket, up to 64 KiB of buffers and a render per tick; a venue runs tens of
// controllers, and discovery lists up to 512 devices, any of which a LAN host can invent. A
// device found beyond the cap is listed (status page) but not driven until a strip frees up.
// At the cap, an online newcomer takes the place of an offline device's strip (driven again when
// it answers and a place is free): devices gone for good, kept offline until discovery forgets
// them (an hour), must not lock a new controller out, and the cap still bounds the strips.
// Configured devices are not counted: the operator's list bounds them.
const maxDiscoveredStrips = 64

// Defaults for how a configured device is followed; tests shorten them.
var (
	// staticRetryDelays are the waits between attempts to make a configured device drivable
	// (its JSON API, its host name, its socket), the last one repeating.
	staticRetryDelays = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
	// staticRecheckEvery is how often a configured host name or wled:// device is looked up
	// again, so that a strip DHCP moved (the venue's DNS following it) is driven at its new
	// address, and one whose WLED settings changed (LED count, RGBW, UDP port) as it now is.
	staticRecheckEvery = 30 * time.Second
	// staticFailingCheck is how often such a device's strip is checked for failing sends, which
	// make it look the device up again at once rather than at the next recheck.
	staticFailingCheck = 5 * time.Second
)

// deviceSet owns every device output: configured ones at start, discovered ones as they come
// and go. The loop reads the current set through an atomic copy-on-write slice.
//
// A device both configured and discovered (at the same address) is driven once, by its
// configured strip: the operator's line says what the device is (wled://HOST?leds=N means N LEDs
// whatever the device reports; ddp://, dnrgb://, … force a protocol), so it wins over what
// discovery found, also when discovery drove the device first. When the configured strip goes (a
// reload removes the line, it moves), reconcileLocked gives the discovered device its own strip
// back. Two configured lines for one device are driven once too, by the one placed first.
type deviceSet struct {
	s   *Session
	reg *discovery.Registry

	list atomic.Pointer[[]*strip]

	// protocol is the config's output.protocol: wled:// devices are driven with it (ProtocolAuto:
	// the firmware's best), as discovery drives the devices it finds. Constant after newDeviceSet.
	protocol wled.Protocol

	// Constant after newDeviceSet (tests set them before run).
	retryDelays  []time.Duration
	recheckEvery time.Duration
	failingCheck time.Duration
	// lookup resolves a configured device's host name: discovery.Resolver, which asks mDNS for
	// .local names (the system's resolver in a build without cgo never finds them). It runs in
	// the device's follower goroutine with a context that removal and shutdown cancel, never
	// under mu: a DNS server that does not answer would otherwise hold the device lock (and
	// shutdown) for the resolver's timeouts.
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
	// lineInfo asks a ddp://, dnrgb://, … line's host for its WLED's name (LineWLEDName).
	// Constant after newDeviceSet (tests set it before run).
	lineInfo *wled.Client
	// release gives the devices back on stop (releaseClient). Constant after newDeviceSet
	// (tests set it before run).
	release *wled.Client

	// lookReportDelay is how long after start (and after a reload of the looks) the strips:
	// entries that match no strip are logged: devices take a discovery round or a JSON API
	// answer to appear. Constant after newDeviceSet (tests set it before run).
	lookReportDelay time.Duration
	// lookReport (capacity 1) asks run's reporter to log the unmatched entries after
	// lookReportDelay.
	lookReport chan struct{}
	// lineAsk (capacity 1) asks run's line asker (learnLineNames; askLineNames sends the ask)
	// whether a line's host should be asked for its WLED's name: at a reload and when a line's
	// strip appears.
	lineAsk chan struct{}

	// capLog limits the warning about discovered devices refused at maxDiscoveredStrips, and
	// openLog the error about discovered devices whose output cannot be opened: a reconcile (at
	// every discovery event) retries each of them.
	capLog, openLog lograte.Limiter

	// The mutex protects the following elements.
	mu         sync.Mutex
	strips     map[string]*strip
	ctx        context.Context              // outputs' parent; nil until run
	wg         sync.WaitGroup               // output goroutines and configured devices' followers
	configured map[string]*configuredDevice // by URL
	looks      []StripLook                  // the strips: entries, in the configuration's order
	lineNames  map[string]lineName          // by configured ddp://, dnrgb://, … line
	// clamped is what was last said about each device that reports more LEDs than the forced
	// protocol carries (warnClampedLocked), by MAC (a configured line's URL when its device
	// reports none): one warning per device, not one per JSON API answer. A device's note goes
	// when it fits again, when discovery drops it, and when its configured line is removed.
	clamped map[string]clampNote
	// notLive follows the devices we stream to whose JSON API says live: false (noteLiveLocked),
	// by the same keys as clamped. An entry goes when the device shows our frames again, when
	// we stop streaming to it, when discovery drops it and when its configured line is removed.
	notLive map[string]*notLiveRun
}

// notLiveRun is one device's unbroken run of polls that found it not showing our stream.
type notLiveRun struct {
	polls  int
	warned bool
	// contested is set once a poll of the run found another source driving the device, and ours
	// counts the polls in a row since then that found our stream: with two senders WLED's lm and
	// lip follow whichever packet came last (realtimeLock in its udp.cpp, e131.cpp), so a poll
	// now and then catches ours while the other sender still holds the device.
	contested bool
	ours      int
	// other is the other source the run's polls found driving the device (zero while they found
	// it out of realtime mode), and warnedOther the one the last warning named: a change of cause
	// starts counting again and is warned about in its own words.
	other, warnedOther liveSource
}

// liveSource is a realtime sender other than us, as a WLED's /json/info names it: its mode (lm)
// and its address (lip), either of which may be "".
type liveSource struct{ mode, ip string }

func (l liveSource) isZero() bool { return l == liveSource{} }

// notLivePolls is how many polls in a row must find a device we stream to out of realtime mode
// before it is logged: one poll can fall between our first packet and WLED's switch to realtime,
// or into a moment another sender or a preset change took it over.
const notLivePolls = 3

// clampNote is one partly driven strip, as its warning told it.
type clampNote struct {
	protocol         wled.Protocol
	leds, deviceLEDs int
}

// lineName is what a configured ddp://, dnrgb://, … line's host said its WLED is called, as
// test-pattern asks it (LineWLEDName): the line answers to that name (DeviceNames.FoundName).
type lineName struct {
	ip    string // the address asked; a line that moved is asked again
	name  string // "" while unknown (not asked, or nothing answered)
	asked bool   // since the last reload: a host that does not answer is not asked again
	// jsonAPI: the host answered /json/info on port 80, so a ddp:// line's output releases the
	// WLED there on stop ({"live":false}, as for wled://; lineJSONAPILocked).
	jsonAPI bool
}

// configuredDevice is one device URL from the configuration, followed by its own goroutine
// (followStatic) from the moment it is configured until it is removed or the session stops.
type configuredDevice struct {
	raw    string
	target wled.Target // as configured (a host name, ProtocolAuto for wled://)
	byName bool        // target.Host is a name
	// lookAgain: the device is looked up again now and then, its host name (DHCP moves the
	// strip, the venue's DNS follows) or its JSON API (wled://: the venue changes the LED count,
	// RGBW or UDP port in WLED's settings, or swaps the controller at that address).
	lookAgain bool
	cancel    context.CancelFunc
	// recheck (capacity 1) asks the follower to make the device drivable again now: a reload,
	// or the strip that covered it went away.
	recheck chan struct{}

	// Under deviceSet.mu: where the follower last found the device (valid when placed).
	placed   bool
	name     string
	resolved wled.Target
	// deviceID is the key its device is followed under in deviceSet.clamped and notLive (its
	// MAC, else the line): "" until its JSON API answered.
	deviceID string
	// The follower's failed attempts in a row to make the device drivable (noteAttempt), for
	// the status page and /metrics: a line that never resolved has no strip to show them by.
	lastErr     string    // the last one's error, printable and short (deviceErrorText)
	attempts    int       // how many; 0 after a success
	nextAttempt time.Time // when the next one is made (a poke may come sooner)
}

func (c *configuredDevice) poke() {
	select {
	case c.recheck <- struct{}{}:
	default:
	}
}

// setStatic makes the configured devices exactly urls: new ones start, removed ones stop and
// release their device, and the ones kept are looked up again (a reload is how an operator says
// "a strip moved"). A discovered device that a removed line was driving gets a strip of its own.
func (d *deviceSet) setStatic(urls []string) error {
	checked, err := CheckDevices(urls, d.protocol)
	if err != nil {
		return err
	}
	targets := make(map[string]wled.Target, len(urls))
	for i, raw := range urls {
		targets[raw] = checked[i]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || d.ctx.Err() != nil {
		return nil
	}
	var removed []*strip
	for raw, c := range d.configured {
		if _, keep := targets[raw]; keep {
			c.poke()
			continue
		}
		c.cancel()
		delete(d.configured, raw)
		delete(d.lineNames, raw)
		if c.deviceID != "" {
			delete(d.clamped, c.deviceID)
			delete(d.notLive, c.deviceID)
		}
		if st, ok := d.strips[raw]; ok {
			// Stopped after the reconcile below: a discovered strip that takes the device over
			// is open by then, and the stopping output hands the device to it (wled's drivers)
			// instead of releasing it under the new stream.
			delete(d.strips, raw)
			removed = append(removed, st)
		}
	}
	for _, raw := range urls {
		if _, running := d.configured[raw]; running {
			continue
		}
		t := targets[raw]
		_, err := netip.ParseAddr(t.Host)
		ctx, cancel := context.WithCancel(d.ctx)
		c := &configuredDevice{raw: raw, target: t, byName: err != nil, cancel: cancel, recheck: make(chan struct{}, 1)}
		c.lookAgain = c.byName || t.Protocol == wled.ProtocolAuto
		d.configured[raw] = c
		if !c.byName && t.Protocol != wled.ProtocolAuto {
			// Nothing to look up: drive it now, so a reload shows it at once. If its socket
			// cannot be opened yet (no network), the follower retries.
			_ = d.placeStaticLocked(c, t.String(), t)
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.followStatic(ctx, c)
		}()
	}
	d.askLinesAgainLocked()
	d.reconcileLocked()
	for _, st := range removed {
		d.stopLocked(st)
		d.s.log.Info("device removed", "device", st.name)
	}
	d.publishLocked()
	d.askLineNames()
	return nil
}

// CheckDevices returns why the device set would refuse the configured device lines urls when
// output.protocol is protocol (ProtocolAuto: none forced), or their targets in urls' order: a
// line must parse, a line that forces a protocol must give its LED count (?leds=N: no JSON API
// is asked for it), and a wled:// line must not give more LEDs than a forced protocol carries
// (wled.CheckForcedLEDs). New, SetDevices and a reload's check before it applies go by it.
func CheckDevices(urls []string, protocol wled.Protocol) ([]wled.Target, error) {
	targets := make([]wled.Target, len(urls))
	for i, raw := range urls {
		t, err := wled.ParseTarget(raw)
		if err != nil {
			return nil, fmt.Errorf("device %q: %w", raw, err)
		}
		if t.Protocol != wled.ProtocolAuto && t.LEDs == 0 {
			return nil, fmt.Errorf("device %q: give the LED count (?leds=N): no JSON API is asked for this protocol", raw)
		}
		if err := wled.CheckForcedLEDs(t, protocol); err != nil {
			return nil, fmt.Errorf("device %q: %w", raw, err)
		}
		targets[i] = t
	}
	return targets, nil
}

func newDeviceSet(s *Session) (*deviceSet, error) {
	resolver := &discovery.Resolver{Logger: s.log.With("part", "mdns")}
	if s.cfg.Discovery != nil {
		resolver.Interfaces = s.cfg.Discovery.Interfaces // the LAN's interfaces, as for browsing
	}
	d := &deviceSet{
		s: s, strips: map[string]*strip{}, configured: map[string]*configuredDevice{},
		lookup:      resolver.LookupNetIP,
		retryDelays: staticRetryDelays, recheckEvery: staticRecheckEvery, failingCheck: staticFailingCheck,
		lookReportDelay: stripLookReportDelay, lookReport: make(chan struct{}, 1),
		lineInfo: s.wled, lineAsk: make(chan struct{}, 1), lineNames: map[string]lineName{}, release: releaseClient,
		clamped: map[string]clampNote{}, notLive: map[string]*notLiveRun{},
	}
	d.capLog.Every, d.openLog.Every = time.Minute, time.Minute
	var err error
	if d.protocol, err = wled.ParseProtocol(s.cfg.Protocol); err != nil {
		return nil, fmt.Errorf("session: output protocol: %w", err)
	}
	empty := []*strip{}
	d.list.Store(&empty)
	if s.cfg.Discovery != nil {
		dc := *s.cfg.Discovery
		dc.Protocol = s.cfg.Protocol
		dc.Logger = s.log.With("part", "discovery")
		dc.OnChange = d.onDiscovery
		dc.OnProbe = d.onProbe
		dc.Static = nil // configured devices are the device set's own (see setStatic)
		reg, err := discovery.New(dc)
		if err != nil {
			return nil, fmt.Errorf("session: discovery: %w", err)
		}
		d.reg = reg
	}
	if _, err := CheckDevices(s.cfg.Devices, d.protocol); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return d, nil
}

// run starts the configured devices and discovery, and on ctx done stops every output (which
// releases its device) and every follower, and waits for them.
func (d *deviceSet) run(ctx context.Context) error {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()

	if err := d.setStatic(d.s.cfg.Devices); err != nil {
		d.s.log.Error("configured devices", "err", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		d.reportLooks(ctx)
	}()
	go func() {
		defer wg.Done()
		d.learnLineNames(ctx)
	}()
	if d.reg != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.reg.Run(ctx); err != nil && ctx.Err() == nil {
				d.s.log.Error("discovery stopped", "err", err)
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
	d.mu.Lock()
	for raw, c := range d.configured {
		c.cancel()
		delete(d.configured, raw)
	}
	for _, st := range d.strips {
		d.stopLocked(st)
	}
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}

// followStatic keeps a configured device driven until ctx is done: it makes the device drivable
// (its JSON API, its host name, its output socket), retrying with backoff until that works, so
// a device that is off, a name not in DNS yet, or a network not up at start ("network is
// unreachable") is driven as soon as it can be. A device named by host or by wled:// is looked up
// again every recheckEvery, and at once when its strip's sends fail, and its strip follows the
// address (DHCP moved it) and the JSON API's answer (a changed LED count, RGBW, UDP port or
// controller). A reload, the loss of the strip that covered it, or a discovery update for the
// device it drives asks for a look now.
func (d *deviceSet) followStatic(ctx context.Context, c *configuredDevice) {
	var failing *time.Ticker
	if c.lookAgain {
		failing = time.NewTicker(d.failingCheck)
		defer failing.Stop()
	}
	failures := 0
	for {
		err := d.placeStatic(ctx, c)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration // 0: until poked
		// The status page shows the device offline while it cannot be found (its name, its JSON
		// API), though its strip keeps sending to the last address: UDP to an address nobody
		// holds fails nowhere, so the strip's own sends would go on saying "online".
		d.setFound(c.raw, err == nil, failures > 0)
		if err != nil {
			if failures == 0 {
				if d.driven(c.raw) {
					name, target := d.logNames(c)
					d.s.log.Warn("configured device: looking it up again failed; it stays at its last address",
						"device", name, "target", target, "configured", c.raw, "err", err)
				} else {
					d.s.log.Warn("configured device cannot be driven yet; retrying", "device", c.raw, "err", err)
				}
			}
			wait = d.retryDelays[min(failures, len(d.retryDelays)-1)]
			failures++
		} else {
			if failures > 0 {
				name, target := d.logNames(c)
				d.s.log.Info("configured device reachable again", "device", name, "target", target, "configured", c.raw, "attempts", failures+1)
			}
			failures = 0
			if c.lookAgain {
				wait = d.recheckEvery
			}
		}
		d.noteAttempt(c, err, failures, wait)
		if !d.waitStatic(ctx, c, wait, failing, err == nil) {
			return
		}
	}
}

// waitStatic waits for the next look at c: wait (0: none), a poke, or, while watchFailing, a
// check that finds its strip failing. It returns false when ctx is done.
func (d *deviceSet) waitStatic(ctx context.Context, c *configuredDevice, wait time.Duration, failing *time.Ticker, watchFailing bool) bool {
	var timeout <-chan time.Time
	if wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		timeout = timer.C
	}
	var check <-chan time.Time
	if failing != nil && watchFailing {
		check = failing.C
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-c.recheck:
			return true
		case <-timeout:
			return true
		case <-check:
			if d.stripFailing(c.raw) {
				return true
			}
		}
	}
}

// setFound records on key's strip, if any, whether its last look-up found the device: a failed
// one makes it offline; a success after failures (wasLost) makes it online again. A success
// otherwise leaves the flag alone: discovery, which follows the same device, may know better
// (a ddp:// line's host name can resolve while the WLED behind it is off).
func (d *deviceSet) setFound(key string, found, wasLost bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.strips[key]; st != nil && (!found || wasLost) {
		st.online.Store(found)
	}
}

// noteAttempt records the follower's last attempt at c for the status page and /metrics: err
// (nil: it worked), the failures in a row it makes, and the wait before the next attempt.
func (d *deviceSet) noteAttempt(c *configuredDevice, err error, failures int, wait time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		c.lastErr, c.attempts, c.nextAttempt = "", 0, time.Time{}
		return
	}
	c.lastErr, c.attempts, c.nextAttempt = deviceErrorText(err.Error()), failures, time.Now().Add(wait)
}

// lineState is a configured line as the status page and /metrics show it: the follower's
// failures, if its last attempt failed, and for a line no strip drives (waiting), what it is
// listed as until one does, under the key and name its strip will have.
type lineState struct {
	key, name string
	target    wled.Target // as configured (a host name, a wled:// line's LED count unknown), or last found
	protocol  wled.Protocol
	waiting   bool // no strip of its own, and none that stands for it
	err       string
	attempts  int
	next      time.Time
}

// view returns the strips the loop renders for (as current does) and, as of the same moment, the
// configured lines by key: a line appears on the status page and /metrics from start-up, under
// its strip's key, and its strip's entry takes its place once there is one.
func (d *deviceSet) view() ([]*strip, map[string]lineState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	lines := make(map[string]lineState, len(d.configured))
	for raw, c := range d.configured {
		// Placed without a strip of its own: another line's strip drives its device.
		waiting := d.strips[raw] == nil && !c.placed
		ls := lineState{key: raw, name: c.pendingNameLocked(), target: c.lastTargetLocked(), protocol: c.target.Protocol, waiting: waiting,
			err: c.lastErr, attempts: c.attempts, next: c.nextAttempt}
		if ls.protocol == wled.ProtocolAuto && d.protocol != wled.ProtocolAuto {
			ls.protocol = d.protocol // a wled:// line is driven with the forced protocol
		}
		lines[raw] = ls
	}
	return d.current(), lines
}

// lastTargetLocked is where c's device is as far as is known: where it was last found, else as
// configured (a host name, a wled:// line's LED count unknown).
func (c *configuredDevice) lastTargetLocked() wled.Target {
	if c.name != "" {
		return c.resolved
	}
	return c.target
}

// pendingNameLocked is the name c's strip will have, as far as it is known before the strip
// exists: the one it had (placeStaticLocked), else what resolveTarget names it when nothing
// more is learnt (a wled:// line whose WLED has not answered yet is named by its line).
func (c *configuredDevice) pendingNameLocked() string {
	switch {
	case c.name != "":
		return c.name
	case c.target.Protocol == wled.ProtocolAuto:
		return c.raw
	default:
		return c.target.String()
	}
}

// driven reports whether key has a strip.
func (d *deviceSet) driven(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.strips[key] != nil
}

// logNames returns what configured device c's log lines give as device= and target=: the pair
// its strip's "driving device" line and its output's own lines give (the WLED's name, which need
// not be unique, and the target it is driven at, its last one while it cannot be looked up), so
// that one grep finds all the lines of one strip. Before c was placed, both are its line.
func (d *deviceSet) logNames(c *configuredDevice) (name, target string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.strips[c.raw]; st != nil {
		return st.name, st.target.String()
	}
	if c.placed { // another configured line drives its device
		return c.name, c.resolved.String()
	}
	return c.raw, c.raw
}

// stripFailing reports whether key's strip exists and its sends fail.
func (d *deviceSet) stripFailing(key string) bool {
	d.mu.Lock()
	st := d.strips[key]
	d.mu.Unlock()
	return st != nil && st.out.Stats().Failing
}

// placeStatic resolves c (without the lock) and drives it where it was found.
func (d *deviceSet) placeStatic(ctx context.Context, c *configuredDevice) error {
	var current netip.Addr
	d.mu.Lock()
	if st := d.strips[c.raw]; st != nil {
		current, _ = netip.ParseAddr(st.target.Host)
	}
	d.mu.Unlock()
	t, name, info, err := d.resolveTarget(ctx, c.raw, c.target, current)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err() // removed (or shutting down) while it was looked up
	}
	err = d.placeStaticLocked(c, name, t)
	if err == nil && c.target.Protocol == wled.ProtocolAuto {
		c.deviceID = cmp.Or(info.MAC, c.raw)
		if c.target.LEDs == 0 {
			// Only the device's own count is clamped: a ?leds= the protocol cannot carry is refused.
			d.warnClampedLocked(c.deviceID, name, t, info.LEDs.Count)
		}
		d.noteLiveLocked(c.deviceID, c.raw, d.strips[c.raw], info)
	}
	d.reconcileLocked() // a strip it replaced may have covered a discovered device
	d.publishLocked()
	return err
}

// placeStaticLocked drives configured device c at t: nothing to do when its strip already does;
// nothing but stopping its strip at a stale address when another configured line drives t
// already; otherwise a new output, which replaces its strip, and the strip of a discovered device
// it stands for, only once it is open.
func (d *deviceSet) placeStaticLocked(c *configuredDevice, name string, t wled.Target) error {
	c.placed, c.name, c.resolved = true, name, t
	old := d.strips[c.raw]
	if old != nil && old.target == t && old.name == name {
		return nil
	}
	if other := d.configuredCoveringLocked(c.raw, t); other != nil {
		other.online.Store(true)
		if old != nil {
			d.stopLocked(old)
		}
		return nil
	}
	if old != nil {
		msg := "configured device changed" // in its settings (LED count, RGBW, UDP port) or its name
		if old.target.Host != t.Host {
			msg = "configured device moved"
		}
		d.s.log.Info(msg, "device", c.raw, "changes", strings.Join(stripChanges(old.target, t, old.name, name), ", "), "from", old.target.String(), "to", t.String())
	}
	if err := d.startLocked(c.raw, name, t, true); err != nil {
		c.placed = false // not driven: a reconcile must not count it
		return err
	}
	d.askLineNames() // a new strip, or one at a new address
	// The discovered strip stops only now that the configured output is open: it then hands the
	// device over (wled's drivers) instead of releasing it under the new stream.
	for k, st := range d.strips {
		if !st.configured && drivesDiscovered(d.strips[c.raw], st.target) {
			d.stopLocked(st)
			d.s.log.Info("discovered device now driven by its configured line", "device", st.name, "key", k, "configured", c.raw)
		}
	}
	return nil
}

// stripChanges says what differs between a strip's old and new target and name, as "what old →
// new" phrases, so that a changed LED count does not read as a move.
func stripChanges(old, t wled.Target, oldName, name string) []string {
	var out []string
	add := func(what string, a, b any) { out = append(out, fmt.Sprintf("%s %v → %v", what, a, b)) }
	onOff := map[bool]string{false: "off", true: "on"}
	if old.Host != t.Host {
		add("address", old.Host, t.Host)
	}
	if old.Protocol != t.Protocol {
		add("protocol", old.Protocol, t.Protocol)
	}
	if old.Port != t.Port {
		add("port", old.Port, t.Port)
	}
	if old.HTTPPort != t.HTTPPort {
		add("http port", old.HTTPPort, t.HTTPPort)
	}
	if old.LEDs != t.LEDs {
		add("leds", old.LEDs, t.LEDs)
	}
	if old.RGBW != t.RGBW {
		add("rgbw", onOff[old.RGBW], onOff[t.RGBW])
	}
	if oldName != name {
		add("name", oldName, name)
	}
	return out
}

// resolveTarget returns t ready for an output, with its host as an address, and the strip's name.
// A host name is looked up first (d.lookup), and a wled:// device's JSON API then asked at the
// address found: the HTTP client's dialer would hand the name to the system's resolver, which
// never finds a .local name in a build without cgo. A wled:// device is driven with the forced
// protocol (output.protocol), if any, on the port its JSON API reports, as discovery drives the
// devices it finds; an explicit ddp://, dnrgb://, … URL keeps its own.
func (d *deviceSet) resolveTarget(ctx context.Context, raw string, t wled.Target, current netip.Addr) (wled.Target, string, wled.Info, error) {
	name := t.String()
	if _, err := netip.ParseAddr(t.Host); err != nil {
		addr, err := d.lookupHost(ctx, t.Host, current)
		if err != nil {
			return t, "", wled.Info{}, err
		}
		t.Host = addr.String()
	}
	var info wled.Info
	if t.Protocol == wled.ProtocolAuto {
		rt, ri, err := d.s.wled.CompleteAs(ctx, t, d.protocol)
		if err != nil {
			return t, "", wled.Info{}, err
		}
		t, name, info = rt, ri.Name, ri
		if name == "" {
			name = raw
		}
	}
	return t, name, info, nil
}

// onProbe follows what a discovered device we stream to answered in a discovery round (its live
// state: see noteLiveLocked). A device its configured line drives is followed by that line's
// own look-ups instead.
func (d *deviceSet) onProbe(dev discovery.Device) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.strips[dev.Key]; st != nil {
		d.noteLiveLocked(cmp.Or(dev.MAC, dev.Key), dev.Name, st, dev.Info)
	}
}

// noteLiveLocked follows one poll of the JSON API (info) of a device we stream to through st:
// a WLED that takes our packets but does not show them says so in info. Out of realtime mode
// (live: false) it shows its own effect: that is WLED's "Receive UDP realtime" option (Sync
// settings) turned off, which drops every UDP realtime packet (DDP does not depend on it, so for
// DDP the warning names other causes). In realtime mode driven by another source (live: true,
// but lm names a mode our protocol does not put it in, or lip an address that is not ours) it
// shows that sender's frames and drops ours. Either way our output sends without an error and the status page has nothing to show
// for it. After notLivePolls such polls in a row, each while we had been streaming to it for a
// second, it warns once per cause, and it says when the device shows our frames again. A poll
// while we are not streaming (no strip, no frame yet or for a second, sends failing) starts the
// count again.
//
// Once a poll of the run found another source, the run is contested: WLED names the sender of
// the last packet, so while two senders stream to it most polls show the other one and now and
// then one shows ours. Such a poll neither ends the run nor is an all-clear; only notLivePolls
// polls in a row showing our stream are, as many as the warning waited for. A run that only
// found the device out of realtime mode ends at the first poll showing ours: nothing else
// sends to it, so that is our stream.
//
// Another sender of our protocol puts the device in our lm: then lip, the address its packets
// come from, tells it from us (see sentByUs), and the warning names it.
func (d *deviceSet) noteLiveLocked(id, name string, st *strip, info wled.Info) {
	run := d.notLive[id]
	if st == nil {
		delete(d.notLive, id)
		return
	}
	other := otherLiveSource(st.target, info)
	if info.Live && other.isZero() {
		if run != nil && run.contested {
			if run.ours++; run.ours < notLivePolls {
				return
			}
		}
		if run != nil && run.warned {
			d.s.log.Info("device shows our frames again (live)", "device", name, "mac", info.MAC, "ip", info.IP)
		}
		delete(d.notLive, id)
		return
	}
	if run != nil {
		run.ours = 0
	}
	if !streamingSteadily(st.out.Stats()) {
		if run != nil {
			run.polls = 0
		}
		return
	}
	if run == nil {
		run = &notLiveRun{}
		d.notLive[id] = run
	}
	if run.other != other {
		run.other, run.polls = other, 0
	}
	run.contested = run.contested || !other.isZero()
	run.polls++
	if run.polls < notLivePolls || (run.warned && run.warnedOther == other) {
		return
	}
	run.warned, run.warnedOther = true, other
	attrs := []any{"device", name, "mac", info.MAC, "ip", info.IP, "target", st.target.String()}
	if !other.isZero() {
		attrs = append(attrs, "lm", other.mode, "lip", other.ip)
	}
	d.s.log.Warn(notShowingWarning(st.target.Protocol, other), append(attrs, "polls", run.polls)...)
}

// otherLiveSource is the sender other than us that info says drives the WLED we stream to at
// target, zero when none does: the device is not live, or live in our protocol's mode from an
// address that can be ours. An lm of "" while live is WLED's "generic" realtime mode
// ({"live":true} through the JSON API), or a reply without lm: unless lip names another sender,
// nothing says another source drives it, so it counts as ours.
func otherLiveSource(target wled.Target, info wled.Info) liveSource {
	ourMode := wled.LiveMode(target.Protocol)
	if info.Live && ((info.LiveMode != "" && info.LiveMode != ourMode) || !sentByUs(target, info)) {
		return liveSource{mode: info.LiveMode, ip: info.LiveIP}
	}
	return liveSource{}
}

// streamingSteadily reports whether an output with stats has been sending to its device for a
// second and still is, without failing: only then does a device not showing our frames say
// something about the device rather than about our stream's start or end.
func streamingSteadily(stats wled.OutputStats) bool {
	return !stats.Failing && !stats.FirstSent.IsZero() && time.Since(stats.FirstSent) >= time.Second && time.Since(stats.LastSent) < time.Second
}

// notShowingWarning is the warning that a WLED we stream to with protocol p does not show our
// frames: other drives it (its lm and lip), or, when other is zero, it stays out of realtime
// mode, and the hint says what to check for p.
func notShowingWarning(p wled.Protocol, other liveSource) string {
	ourMode := wled.LiveMode(p)
	if other.isZero() {
		hint := `turn on "Receive UDP realtime" in its Sync settings (Config → Sync Interfaces → Realtime)`
		if p == wled.ProtocolDDP {
			hint = `DDP does not depend on "Receive UDP realtime": check that our packets reach it (a firewall, its DMX start address) and that no other sender holds it`
		}
		return "the WLED is not showing our frames: its JSON API keeps saying live: false while we stream to it; " + hint
	}
	says := fmt.Sprintf("in realtime mode %q, ours puts it in %q", other.mode, ourMode)
	if other.mode == ourMode || other.mode == "" {
		// Our mode (or none) from an address that is not ours: lip alone says it.
		says = fmt.Sprintf("in realtime mode %q from %s, which is not our address towards it", other.mode, other.ip)
	} else if other.ip != "" {
		says = fmt.Sprintf("in realtime mode %q from %s, ours puts it in %q", other.mode, other.ip, ourMode)
	}
	return fmt.Sprintf("the WLED is not showing our frames: another source drives it (its JSON API says live: true %s); stop that sender or its stream to this device", says)
}

// sentByUs reports whether info's lip, the address WLED takes its realtime frames from, can be
// ours towards target: true when lip is absent (old firmware, or no sender known) or names the
// source address this host sends to the device from, false when it names another address. Our
// outputs dial the device with no local address, so the kernel picks the source by its routes;
// connecting a UDP socket (which sends nothing) asks it the same question. The device is the
// target's address, or the address the device reports for itself when the target names a host
// (resolving a name here would wait on DNS under the lock). When the question cannot be asked,
// lip is not held against the device. IPv4-mapped forms compare equal to plain IPv4.
func sentByUs(target wled.Target, info wled.Info) bool {
	lip, err := netip.ParseAddr(info.LiveIP) // "" for none: the client drops an unspecified lip
	if err != nil {
		return true
	}
	dst, err := netip.ParseAddr(target.Host)
	if err != nil {
		if dst, err = netip.ParseAddr(info.IP); err != nil {
			return true
		}
	}
	ours, ok := localAddrTowards(netip.AddrPortFrom(dst, uint16(max(target.Port, 1))))
	if !ok {
		return true
	}
	return lip.Unmap().WithZone("") == ours
}

// localAddrTowards is the address this host sends to dst from (unmapped, without a zone).
func localAddrTowards(dst netip.AddrPort) (netip.Addr, bool) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	la, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	a := la.AddrPort().Addr().Unmap().WithZone("")
	if !a.IsValid() || a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}

// warnClampedLocked warns once that the device known as id (its MAC, else its configured line)
// has deviceLEDs LEDs but is driven with t's protocol, which carries only t.LEDs of them: WLED
// shows the frames on the strip's start and leaves the rest dark, which nothing else would say
// (the status page lists the strip at the driven length). It says it again only when the
// protocol or a count changes, and forgets a device that fits again.
func (d *deviceSet) warnClampedLocked(id, name string, t wled.Target, deviceLEDs int) {
	if deviceLEDs <= t.LEDs {
		delete(d.clamped, id)
		return
	}
	note := clampNote{protocol: t.Protocol, leds: t.LEDs, deviceLEDs: deviceLEDs}
	if d.clamped[id] == note {
		return
	}
	d.clamped[id] = note
	d.s.log.Warn("device has more LEDs than the forced output.protocol carries: only the start of its strip lights; "+wled.DriveAllLEDsAdvice,
		"device", name, "protocol", t.Protocol, "leds", t.LEDs, "device_leds", deviceLEDs, "target", t.String())
}

// lookupHost returns the address of host for a strip. A name with several addresses keeps
// current (the one its strip drives) while it is among them, so that a DNS server rotating its
// answers does not move the strip at every look-up.
func (d *deviceSet) lookupHost(ctx context.Context, host string, current netip.Addr) (netip.Addr, error) {
	return discovery.LookupDeviceAddr(ctx, d.lookup, host, current)
}

func (d *deviceSet) onDiscovery(ev discovery.Event) {
	dev := ev.Device
	d.mu.Lock()
	defer d.mu.Unlock()
	if ev.Kind != discovery.EventOffline && len(d.looks) > 0 {
		// A configured strip answers to the name and host of the device found at its address
		// (namesLocked): they may have come, changed or gone, so every strip checks its look at
		// its next frame (a renderer whose look stays is kept). Events come only on changes.
		d.s.loop.effectGen.Add(1)
	}
	switch ev.Kind {
	case discovery.EventOffline:
		if st, ok := d.strips[dev.Key]; ok {
			st.online.Store(false)
		}
		if t, ok := dev.Target(); ok {
			if st := d.configuredCoveringLocked(dev.Key, t); st != nil {
				st.online.Store(false)
			}
		}
		d.s.log.Warn("device offline", "device", dev.Name, "ip", dev.IP, "err", dev.LastError)
		return
	case discovery.EventRemoved:
		// Another controller answers where it was (discovery follows that one under its own
		// key), or it stayed offline until discovery forgot it: stop streaming to it. Its output releases the address unless the successor's
		// drives it (wled's hand-over), so the new controller is not knocked out of realtime.
		if st, ok := d.strips[dev.Key]; ok {
			d.stopLocked(st)
			d.s.log.Info("device removed", "device", st.name, "mac", dev.MAC, "ip", dev.IP)
		}
		delete(d.clamped, dev.Key)
		delete(d.notLive, dev.Key)
		d.reconcileLocked()
		d.publishLocked()
		return
	case discovery.EventOnline:
		d.s.log.Info("device online", "device", dev.Name, "ip", dev.IP)
	}
	if t, ok := dev.Target(); ok {
		if dev.Online {
			d.pokeWaitingLinesLocked(dev)
		}
		// Discovery saw the device change (LED count, RGBW, UDP port, name) or return: the
		// configured line that drives it reads its JSON API again now, not at its next recheck.
		if st := d.configuredCoveringLocked(dev.Key, t); st != nil {
			if c := d.configured[st.key]; c != nil && c.lookAgain {
				c.poke()
			}
		} else {
			d.warnClampedLocked(cmp.Or(dev.MAC, dev.Key), dev.Name, t, dev.Info.LEDs.Count)
		}
		d.addLocked(dev.Key, dev.Name, t, dev.Online)
	} else if st := d.strips[dev.Key]; st != nil && dev.Online && dev.LEDs == 0 {
		// Its JSON API answers with no LEDs (settings being edited, a half-saved config): the
		// strip keeps its last size, as a configured device's does, and events come only on
		// changes, so this is said once.
		d.s.log.Warn("discovered device reports 0 LEDs; its strip stays at its last size until it reports a count again",
			"device", dev.Name, "mac", dev.MAC, "ip", dev.IP, "leds", st.target.LEDs)
	}
	d.reconcileLocked() // a discovered strip that moved may have covered a configured device
	d.publishLocked()
}

// pokeWaitingLinesLocked makes every configured line that is not driven yet and names dev's host
// try now: dev answers (it was off or booting at the line's last try), and until the line's
// next retry, up to the last of retryDelays away, discovery would drive it in the line's place
// and the status page would list it twice.
func (d *deviceSet) pokeWaitingLinesLocked(dev discovery.Device) {
	for raw, c := range d.configured {
		if !c.placed && d.strips[raw] == nil && namesDevice(c.lastTargetLocked().Host, dev) {
			c.poke()
		}
	}
}

// reconcileLocked gives every device that should be driven and is not a strip: a configured one
// whose covering strip went away is looked up again by its follower, and a discovered, online
// device no strip drives (its configured line was removed, it was refused at the cap, its
// covering strip moved) is added.
func (d *deviceSet) reconcileLocked() {
	for _, c := range d.configured {
		if c.placed && d.strips[c.raw] == nil && d.configuredCoveringLocked(c.raw, c.resolved) == nil {
			c.placed = false
			c.poke()
		}
	}
	if d.reg == nil {
		return
	}
	for _, dev := range d.reg.Devices() {
		if !dev.Online || dev.MAC == "" || d.strips[dev.Key] != nil {
			continue
		}
		if t, ok := dev.Target(); ok {
			d.addLocked(dev.Key, dev.Name, t, dev.Online)
		}
	}
}

// addLocked drives discovered device key at t, replacing its strip when the target or the name
// changed (a rename: see strip). A configured strip for the same device drives it instead. Two
// discovered devices are never merged: when two strips swap addresses (DHCP), each update
// arrives while the other still holds its new address, and skipping it would leave both
// streaming to the other's strip.
func (d *deviceSet) addLocked(key, name string, t wled.Target, online bool) {
	if d.ctx == nil || d.ctx.Err() != nil {
		return
	}
	old := d.strips[key]
	if other := d.configuredCoveringLocked(key, t); other != nil {
		other.online.Store(online)
		if old != nil {
			d.stopLocked(old) // it moved onto the configured strip's address
		}
		return
	}
	if old != nil {
		old.online.Store(online)
		if old.target == t && old.name == name {
			return
		}
	} else if d.discoveredLocked() >= maxDiscoveredStrips && !(online && d.yieldOfflineLocked(name)) {
		if held, ok := d.capLog.Allow(time.Now()); ok {
			d.s.log.Warn("not driving a discovered device: too many discovered strips", "device", name, "key", key,
				"target", t.String(), "max", maxDiscoveredStrips, "suppressed", held)
		}
		return
	}
	if err := d.startLocked(key, name, t, online); err != nil {
		if held, ok := d.openLog.Allow(time.Now()); ok {
			d.s.log.Error("cannot drive device", "device", name, "err", err, "suppressed", held)
		}
	}
}

// configuredCoveringLocked returns the configured strip, other than key's own, that drives the
// device at t and so stands for key too: a device configured twice, or configured and discovered,
// is driven once. For a configured key only a strip at t's very address and port counts: two
// lines the operator wrote for one host (wled.SameHost) on two ports are two outputs (test
// doubles share one).
func (d *deviceSet) configuredCoveringLocked(key string, t wled.Target) *strip {
	for k, other := range d.strips {
		if k == key || !other.configured {
			continue
		}
		if d.configured[key] != nil {
			if wled.SameHost(other.target.Host, t.Host) && other.target.Port == t.Port {
				return other
			}
		} else if drivesDiscovered(other, t) {
			return other
		}
	}
	return nil
}

// standsFor reports whether one of strips is a configured strip that drives discovered device d.
func standsFor(strips []*strip, d discovery.Device) bool {
	if !d.IP.IsValid() {
		return false
	}
	t := wled.Target{Host: d.IP.String()}
	return slices.ContainsFunc(strips, func(st *strip) bool { return drivesDiscovered(st, t) })
}

// waitsFor reports whether one of lines, a configured line not driven yet, names discovered
// device d's host (its address or its mDNS host name, by wled.SameHost): the line is d's entry
// on the status page, as a configured strip driving d is (standsFor), since the line's strip
// will drive it.
func waitsFor(lines []lineState, d discovery.Device) bool {
	return slices.ContainsFunc(lines, func(l lineState) bool { return namesDevice(l.target.Host, d) })
}

// namesDevice reports whether a configured line's host names discovered device d: its address
// or its mDNS host name, by wled.SameHost.
func namesDevice(host string, d discovery.Device) bool {
	return (d.IP.IsValid() && wled.SameHost(host, d.IP.String())) || wled.SameHost(host, d.Host)
}

// drivesDiscovered reports whether configured strip st drives the discovered device at t. The
// host alone decides: discovery lists one WLED per address, and a line that forces another
// protocol (dnrgb://IP, frames to the UDP realtime port) or port than discovery's choice (DDP
// to 4048) names the same WLED; streaming both would drive it twice, each stream cutting in on
// the other. Hosts compare by wled.SameHost, as strips: entries and discover take them.
func drivesDiscovered(st *strip, t wled.Target) bool {
	return st != nil && st.configured && wled.SameHost(st.target.Host, t.Host)
}

// discoveredLocked counts the strips of discovered devices.
func (d *deviceSet) discoveredLocked() int {
	n := 0
	for k := range d.strips {
		if d.configured[k] == nil {
			n++
		}
	}
	return n
}

// yieldOfflineLocked stops the strip of one offline discovered device (the first by key) so that
// newcomer can have its place, and reports whether there was one.
func (d *deviceSet) yieldOfflineLocked(newcomer string) bool {
	var victim *strip
	for k, st := range d.strips {
		if d.configured[k] == nil && !st.online.Load() && (victim == nil || k < victim.key) {
			victim = st
		}
	}
	if victim == nil {
		return false
	}
	d.stopLocked(victim)
	d.s.log.Info("offline device no longer driven: its strip goes to a new device (discovered strips are capped)",
		"device", victim.name, "key", victim.key, "new_device", newcomer, "max", maxDiscoveredStrips)
	return true
}

// startLocked opens an output for key at t and runs it, replacing key's strip if it has one. On
// error the old strip, if any, is left as it was.
func (d *deviceSet) startLocked(key, name string, t wled.Target, online bool) error {
	if d.ctx.Err() != nil {
		return d.ctx.Err()
	}
	out, err := d.s.cfg.OpenSink(wled.OutputConfig{
		Target: t,
		Name:   name,
		// The key names the device wherever it is (a MAC, a configured line): the strip it
		// replaces at an old address hands the device over instead of releasing that address.
		Device:  key,
		Timeout: d.s.cfg.RealtimeTimeout,
		// The ticker already paces frames; an output pacing at the very same interval would hold
		// each tick's frame for a random part of a period (measured: median 12 ms). 90 % of the
		// period (15 ms at 60 fps, WLED's redraw floor) lets tick-paced frames out at once and
		// still stops bursts: with the output's 10 % early allowance frames may leave 13.5 ms
		// apart (a cap of about 67 fps); the ticker, not the output, holds the strips to 60.
		MinInterval: time.Second / time.Duration(d.s.cfg.FPS) * 9 / 10,
		Client:      d.release,
		Logger:      d.s.log,
	})
	if err != nil {
		return err
	}
	if old, ok := d.strips[key]; ok {
		d.stopLocked(old)
	}
	ctx, cancel := context.WithCancel(d.ctx)
	n := out.FrameBytes()
	st := &strip{key: key, configured: d.configured[key] != nil, name: name, target: t, out: out, frameBytes: n, cancel: cancel, done: make(chan struct{}), frame: make([]byte, n),
		host: d.hostNameLocked(key)}
	st.online.Store(online)
	d.strips[key] = st
	d.lineJSONAPILocked(st)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(st.done)
		_ = out.Run(ctx)
	}()
	d.s.log.Info("driving device", "device", name, "target", t.String(), "leds", t.LEDs, "rgbw", t.RGBW)
	return nil
}

// stopLocked stops st's output, which releases its device, and drops it from the set.
func (d *deviceSet) stopLocked(st *strip) {
	st.cancel()
	if d.strips[st.key] == st {
		delete(d.strips, st.key)
	}
}

func (d *deviceSet) publishLocked() {
	list := make([]*strip, 0, len(d.strips))
	for _, st := range d.strips {
		st.deviceLEDs.Store(int64(d.deviceLEDsLocked(st)))
		list = append(list, st)
	}
	slices.SortFunc(list, func(a, b *strip) int { return strings.Compare(a.name+a.key, b.name+b.key) })
	d.list.Store(&list)
}

// deviceLEDsLocked is the LED count of st's device when st drives fewer of them, as
// warnClampedLocked noted it for this protocol and length, else 0. A configured line's device is
// noted under its deviceID, a discovered one under its key (its MAC).
func (d *deviceSet) deviceLEDsLocked(st *strip) int {
	id := st.key
	if c := d.configured[st.key]; c != nil {
		id = c.deviceID
	}
	note, ok := d.clamped[id]
	if !ok || id == "" || note.protocol != st.target.Protocol || note.leds != st.target.LEDs {
		return 0
	}
	return note.deviceLEDs
}

// current returns the strips the loop renders for.
func (d *deviceSet) current() []*strip { return *d.list.Load() }

// registryDevices is discovery's current view (for the status page), or nil without discovery.
func (d *deviceSet) registryDevices() []discovery.Device {
	if d.reg == nil {
		return nil
	}
	return d.reg.Devices()
}

// SetDevices replaces the configured device list (SIGHUP reload).
func (s *Session) SetDevices(urls []string) error { return s.devices.setStatic(urls) }

// stripLookReportDelay is deviceSet.lookReportDelay's default: a discovery round's browse
// window and the first answers of the devices' JSON APIs, with room to spare.
const stripLookReportDelay = 15 * time.Second

// StripLook is one strip's own look (an entry of the configuration's strips:). Devices no entry
// matches, and every key an entry leaves out, keep the global look (Config.Effect,
// Config.MaxMilliamps).
type StripLook struct {
	// Device picks the strip. It matches, without regard to case, any one of the device's names:
	// the name WLED reports (the strip's name on the status page), its IP address, its host name
	// (mDNS's, or the configured line's), and for a configured device its line as written
	// (Config.Devices). When two entries match one strip, the first applies (and a warning says
	// so).
	Device string
	// Look is the strip's effect, colour mode, brightness, current limit and mounting; its LEDs
	// and RGBW are ignored (the device's own). Zero fields keep the global look, except
	// MaxMilliamps, which replaces Config.MaxMilliamps (0: no limit) only with OwnMaxMilliamps.
	Look            effect.Strip
	OwnMaxMilliamps bool
}

// SetStripLooks replaces the strips' own looks (at start, before Run, and on a reload): each
// strip takes its entry's look at its next frame, crossfading from what it showed. An entry
// that matches no strip is no error (devices come and go): it applies when its device appears,
// and the entries that matched nothing are logged a while after start and after each call.
func (s *Session) SetStripLooks(looks []StripLook) error {
	seen := map[string]int{}
	for i, l := range looks {
		sel := strings.ToLower(strings.TrimSpace(l.Device))
		switch {
		case sel == "":
			return fmt.Errorf("session: strip look %d: no device named", i)
		case !(l.Look.Brightness >= 0 && l.Look.Brightness <= 1):
			return fmt.Errorf("session: strip look %d (device %q): brightness %v (want 0–1)", i, l.Device, l.Look.Brightness)
		case !(l.Look.MaxMilliamps >= 0):
			return fmt.Errorf("session: strip look %d (device %q): max milliamps %v", i, l.Device, l.Look.MaxMilliamps)
		}
		if j, dup := seen[sel]; dup {
			return fmt.Errorf("session: strip looks %d and %d both name device %q", j, i, l.Device)
		}
		seen[sel] = i
	}
	d := s.devices
	d.mu.Lock()
	d.looks = slices.Clone(looks)
	d.askLinesAgainLocked()
	d.mu.Unlock()
	s.loop.effectGen.Add(1) // every strip checks its look at its next frame
	d.askLookReport()
	d.askLineNames()
	return nil
}

// lookFor returns the strip description st renders with: its output's shape, the global current
// limit, and the look of the first strips: entry that matches it (entry is 1 + its index, 0 for
// none). others lists further entries that match st too (they do not apply).
func (d *deviceSet) lookFor(st *strip) (shape effect.Strip, entry int, look StripLook, others []int) {
	shape = effect.Strip{MaxMilliamps: d.s.cfg.MaxMilliamps}
	d.mu.Lock()
	names := d.namesLocked(st, d.configuredLinesLocked())
	for i, l := range d.looks {
		if !names.NamedBy(l.Device) {
			continue
		}
		if entry != 0 {
			others = append(others, i)
			continue
		}
		entry, shape, look = i+1, l.Look, l
		if !l.OwnMaxMilliamps {
			shape.MaxMilliamps = d.s.cfg.MaxMilliamps
		}
	}
	d.mu.Unlock()
	shape.LEDs, shape.RGBW = st.out.LEDs(), st.out.RGBW()
	return shape, entry, look, others
}

// lookName is st's look for the status page (strip.look); "" before its first renderer.
func (st *strip) lookName() string {
	if p := st.look.Load(); p != nil {
		return *p
	}
	return ""
}

// names are the names st carries itself (DeviceNames); the device set adds, for a configured
// strip, those of the device discovery found at its address (namesLocked).
func (st *strip) names() DeviceNames {
	n := DeviceNames{Name: st.name, IP: st.target.Host, Host: st.host}
	if st.configured {
		n.Line = st.key
	}
	return n
}

// namesLocked is everything a strips: entry may name st by: its own names and, for a configured
// strip, the name and mDNS host of the device discovery lists at the strip's address, or else
// the name its ddp://, dnrgb://, … line's host told (askLines) (a ddp:// line's strip is named by
// its URL, yet it drives that WLED, and discover lists the line under the WLED's name). It is
// called when a strip's look is chosen, never per frame. lines are configuredLinesLocked's,
// made once for all the strips a caller names.
func (d *deviceSet) namesLocked(st *strip, lines []string) DeviceNames {
	n := st.names()
	n.ConfiguredLines = lines
	if ln, ok := d.lineNames[st.key]; ok && st.configured && ln.ip == st.target.Host {
		n.FoundName = ln.name // discovery's name, below, when it lists the device too
	}
	if !st.configured || d.reg == nil {
		return n
	}
	ip, err := netip.ParseAddr(st.target.Host)
	if err != nil {
		return n
	}
	for _, dev := range d.reg.Devices() {
		if dev.IP.IsValid() && dev.IP.Unmap() == ip.Unmap() {
			n.FoundName, n.FoundHost = dev.Name, dev.Host
			break
		}
	}
	return n
}

// configuredLinesLocked lists the configured devices' lines (DeviceNames.ConfiguredLines).
func (d *deviceSet) configuredLinesLocked() []string {
	lines := make([]string, 0, len(d.configured))
	for raw := range d.configured {
		lines = append(lines, raw)
	}
	return lines
}

// DeviceNames are what a strips: entry (StripLook.Device) can name a device by. NamedBy is the
// one rule join, `ledbridge discover`, `ledbridge test-pattern` and the configuration's check
// for two entries naming one device (config's validateStrips) follow.
type DeviceNames struct {
	Name string // the name WLED reports; a configured ddp://, dnrgb://, … line's URL
	IP   string // the address frames go to
	Host string // the mDNS host name discovery found it at, or its configured line's host
	Line string // a configured device's line in devices: (or --device) as written; "" if discovered
	// FoundName and FoundHost are, for a configured device, the name WLED reports and the mDNS
	// host of the device discovery lists at its address, or the name the JSON API on its line's
	// host reports (LineWLEDName) ("" when none is known): the line drives that WLED, which is
	// the one device an operator sees.
	FoundName, FoundHost string
	// ConfiguredLines are all the configured devices' lines: a URL that is one of them names
	// that line's device alone, so that several devices behind one address (test doubles,
	// emulators on several ports) can each have an entry.
	ConfiguredLines []string
}

// NamedBy reports whether a strips: entry's device selector names the device, without regard to
// case. The rule:
//
//   - a name names the device when it is any one of its names: the name WLED reports (for a
//     configured device also its line's WLED, FoundName), its IP address, or its host name (mDNS's
//     or the configured line's, FoundHost), by wled.SameHost: addresses as addresses however
//     written (fe80::1%eth0 is FE80:0::1%eth0, ::ffff:10.0.0.7 is 10.0.0.7), names without
//     regard to a final dot;
//   - a device URL that is a configured line as written (ConfiguredLines) names that line's
//     device alone; any other URL names what its host names, configured or discovered:
//     wled://10.0.0.7 names the WLED at 10.0.0.7 whatever line drives it, as that line would
//     drive it (drivesDiscovered).
//
// discover, which lists a configured line at the device found at its address, shows the look
// join gives, and the configuration refuses two entries the rule gives one device by their text
// alone (config's validateStrips).
func (n DeviceNames) NamedBy(sel string) bool {
	sel = strings.TrimSpace(sel)
	if strings.Contains(sel, "://") {
		if n.Line != "" && strings.EqualFold(strings.TrimSpace(n.Line), sel) {
			return true
		}
		if slices.ContainsFunc(n.ConfiguredLines, func(l string) bool { return strings.EqualFold(strings.TrimSpace(l), sel) }) {
			return false // another device's line
		}
		t, err := wled.ParseTarget(sel)
		if err != nil {
			return false
		}
		sel = t.Host
	}
	if sel == "" {
		return false
	}
	for _, name := range [...]string{n.Name, n.IP, n.Host, n.FoundName, n.FoundHost} {
		if wled.SameHost(name, sel) {
			return true
		}
	}
	return false
}

// StripLookFor returns the index of the first of looks that names the device (the one that
// applies, as SetStripLooks applies them), or -1 when none does.
func StripLookFor(looks []StripLook, n DeviceNames) int {
	for i, l := range looks {
		if n.NamedBy(l.Device) {
			return i
		}
	}
	return -1
}

// UnmatchedLooks are the indexes of the looks that name none of the devices names lists (the
// entries join logs as waiting for their device, and test-pattern asks the lines' WLEDs for).
func UnmatchedLooks(looks []StripLook, names []DeviceNames) []int {
	var unmatched []int
	for i, l := range looks {
		if !slices.ContainsFunc(names, func(n DeviceNames) bool { return n.NamedBy(l.Device) }) {
			unmatched = append(unmatched, i)
		}
	}
	return unmatched
}

// hostNameLocked is key's host name for strip.host: the configured line's host (a name or an
// address), or the mDNS host discovery found the device at.
func (d *deviceSet) hostNameLocked(key string) string {
	if c := d.configured[key]; c != nil {
		return c.target.Host
	}
	if d.reg == nil {
		return ""
	}
	for _, dev := range d.reg.Devices() {
		if dev.Key == key {
			return strings.TrimSuffix(dev.Host, ".")
		}
	}
	return ""
}

// LineInfoTimeout bounds the question asked of a ddp://, dnrgb://, … line's host for its
// WLED's name: a plain DDP controller has no JSON API and may never answer.
const LineInfoTimeout = time.Second

// LineWLEDName is the name the WLED at ip reports on its JSON API (port 80, as on a real WLED),
// "" when nothing there answers one within LineInfoTimeout. Join and `ledbridge test-pattern`
// name a ddp://, dnrgb://, … line by it (DeviceNames.FoundName): the line drives that WLED.
func LineWLEDName(ctx context.Context, client *wled.Client, ip string) string {
	name, _ := lineWLED(ctx, client, ip)
	return name
}

// lineWLED is LineWLEDName, and whether a WLED answered at all (its name may be "").
func lineWLED(ctx context.Context, client *wled.Client, ip string) (name string, answered bool) {
	ctx, cancel := context.WithTimeout(ctx, LineInfoTimeout)
	defer cancel()
	info, err := client.Info(ctx, net.JoinHostPort(ip, "80"))
	if err != nil {
		return "", false
	}
	return info.Name, true
}

// lineJSONAPILocked tells st's output where its WLED's JSON API is when st is a ddp:// line
// whose host answered /json/info on port 80 (lineName.jsonAPI): stopping then releases the WLED
// with {"live":false}, as for a wled:// line, instead of leaving the strip on its last frame for
// the device's realtime timeout. A UDP realtime line is released by its own packet.
func (d *deviceSet) lineJSONAPILocked(st *strip) {
	ln, ok := d.lineNames[st.key]
	if !ok || !ln.jsonAPI || ln.ip != st.target.Host || st.target.Protocol != wled.ProtocolDDP || d.configured[st.key] == nil {
		return
	}
	if out, ok := st.out.(interface{ SetJSONAPI(addr string) }); ok {
		out.SetJSONAPI(net.JoinHostPort(ln.ip, "80"))
	}
}

// askLinesAgainLocked lets askLines ask every line's host again: a reload (of the devices or
// the looks) may find a host that did not answer before.
func (d *deviceSet) askLinesAgainLocked() {
	for raw, ln := range d.lineNames {
		ln.asked = false
		d.lineNames[raw] = ln
	}
}

// askLineNames asks learnLineNames to look for lines whose WLED's name is worth asking.
func (d *deviceSet) askLineNames() {
	select {
	case d.lineAsk <- struct{}{}:
	default:
	}
}

// learnLineNames, until ctx is done, asks the hosts of configured ddp://, dnrgb://, … lines for
// their WLEDs' names (askLines) whenever askLineNames says a reload happened or a line's strip
// appeared, so that a strips: entry can name such a line by its WLED's name with discovery off,
// as test-pattern's can. It runs on its own goroutine: a host that never answers costs its
// LineInfoTimeout here, never the frame loop.
func (d *deviceSet) learnLineNames(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.lineAsk:
		}
		d.askLines(ctx)
	}
}

// askLines asks, at once, the host of each driven ddp://, dnrgb://, … line not asked since the
// last reload (or since it moved) for its WLED's name, when some strips: entry names no device
// by the names the strips have, and of each ddp:// line whatever the entries, for the JSON API
// that stopping releases its WLED through (lineJSONAPILocked); a name learned makes every strip
// check its look again.
func (d *deviceSet) askLines(ctx context.Context) {
	type question struct{ key, ip string }
	var questions []question
	strips := d.current()
	d.mu.Lock()
	names := make([]DeviceNames, 0, len(strips))
	lines := d.configuredLinesLocked()
	for _, st := range strips {
		names = append(names, d.namesLocked(st, lines))
	}
	unmatched := len(UnmatchedLooks(d.looks, names)) > 0
	for _, st := range strips {
		c := d.configured[st.key]
		if !st.configured || c == nil || c.target.Protocol == wled.ProtocolAuto {
			continue // a wled:// line's name came with its own /json/info
		}
		if !unmatched && c.target.Protocol != wled.ProtocolDDP {
			continue
		}
		if _, err := netip.ParseAddr(st.target.Host); err != nil {
			continue
		}
		ln := d.lineNames[st.key]
		if ln.ip == st.target.Host && ln.asked {
			continue
		}
		if ln.ip != st.target.Host {
			ln = lineName{ip: st.target.Host}
		}
		ln.asked = true
		d.lineNames[st.key] = ln
		questions = append(questions, question{st.key, st.target.Host})
	}
	d.mu.Unlock()
	if len(questions) == 0 {
		return
	}
	type answer struct {
		name     string
		answered bool
	}
	answers := make([]answer, len(questions))
	var asking sync.WaitGroup // all at once: each host that never answers costs LineInfoTimeout
	for i, q := range questions {
		asking.Go(func() { answers[i].name, answers[i].answered = lineWLED(ctx, d.lineInfo, q.ip) })
	}
	asking.Wait()
	learned := false
	d.mu.Lock()
	for i, q := range questions {
		ln, ok := d.lineNames[q.key]
		if !answers[i].answered || !ok || ln.ip != q.ip {
			continue // no answer (best effort), or the line was removed or moved meanwhile
		}
		if !ln.jsonAPI {
			ln.jsonAPI = true
			d.lineNames[q.key] = ln
			if st := d.strips[q.key]; st != nil {
				d.lineJSONAPILocked(st)
			}
		}
		if answers[i].name == "" || ln.name == answers[i].name {
			continue
		}
		ln.name = answers[i].name
		d.lineNames[q.key] = ln
		learned = true
		d.s.log.Info("configured device line drives the WLED named by its JSON API; strips: entries may name it so", "device", q.key, "wled", ln.name)
	}
	d.mu.Unlock()
	if learned {
		d.s.loop.effectGen.Add(1) // every strip checks its look at its next frame
	}
}

// askLookReport asks reportLooks for a report of the unmatched entries.
func (d *deviceSet) askLookReport() {
	select {
	case d.lookReport <- struct{}{}:
	default:
	}
}

// reportLooks logs, lookReportDelay after each askLookReport, the strips: entries that match no
// strip, with the strips there are, until ctx is done. It is the one place that says an entry is
// waiting for its device (or misspells it): an entry that matches nothing is no error.
func (d *deviceSet) reportLooks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.lookReport:
		}
		timer := time.NewTimer(d.lookReportDelay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		d.logUnmatchedLooks()
	}
}

func (d *deviceSet) logUnmatchedLooks() {
	strips := d.current()
	var seen []string
	names := make([]DeviceNames, 0, len(strips))
	d.mu.Lock()
	looks := slices.Clone(d.looks)
	lines := d.configuredLinesLocked()
	for _, st := range strips {
		seen = append(seen, st.name+" ("+st.target.Host+")")
		names = append(names, d.namesLocked(st, lines))
	}
	d.mu.Unlock()
	for _, i := range UnmatchedLooks(looks, names) {
		l := looks[i]
		d.s.log.Warn("strips: entry matches no device found so far; it applies when one appears (match the name WLED reports, the IP address, the host name or the devices: line)",
			"entry", i, "device", l.Device, "devices_seen", strings.Join(seen, ", "))
	}
}
