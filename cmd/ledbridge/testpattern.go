package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/printable"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

func init() {
	var opts testPatternOptions
	cmd := &cobra.Command{
		Use:   "test-pattern",
		Short: "Drive WLED devices with a moving rainbow and report frames sent, fps and send errors",
		Long: `Sends a moving rainbow to each device for --seconds, then prints per device the
frames sent, the achieved frame rate and the send errors. A device is a URL:
wled://HOST[:HTTPPORT] (or bare HOST) asks the device's JSON API and picks DDP or DNRGB,
or the protocol output.protocol forces (to the device's UDP realtime or DDP port);
ddp://, dnrgb://, drgb://, drgbw://, warls://HOST[:PORT]?leds=N[&rgbw=1] send that protocol
straight to that UDP port. A HOST under .local (wled-xxxxxx.local) is looked up by mDNS
on discovery.interfaces, as join looks it up. Without --device, the configuration's devices are used, and
without those the devices that answer an mDNS browse (_wled._tcp, confirmed by their JSON
API) within --discover-window, unless discovery.enabled is false. The configuration's
effects.brightness_cap and output.max_milliamps (with the effects' current model) apply to
the rainbow as they do to the live effects, and so do a strip's own brightness and
max_milliamps from its strips: entry (matched as join matches it: a ddp://, dnrgb://, … device
also answers to the name of the WLED at its address, which test-pattern asks that address's JSON
API on port 80 for and, with discovery on, browses mDNS for, when an entry names no device
otherwise; a warning says when such an entry may not apply).

Devices are resolved at once. One that cannot be (no answer, not a WLED, 0 LEDs) is listed with
its error and the others are driven; the command fails only when no device could be driven.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := loadConfig(cmd, map[string]string{"devices": "device"})
			if err != nil {
				return err
			}
			if opts, err = testPatternConfig(opts, loaded.Config); err != nil {
				return err
			}
			opts.Logger = newLogger(cmd.ErrOrStderr(), loaded.Log)
			for _, w := range loaded.Warnings {
				opts.Logger.Warn(w)
			}
			_, err = runTestPattern(cmd.Context(), opts, cmd.OutOrStdout())
			return err
		},
	}
	cmd.Flags().StringArrayVar(&opts.Devices, "device", nil, "device URL (repeatable), e.g. wled://10.0.0.5 or ddp://10.0.0.5:4048?leds=300")
	intFlagVar(cmd.Flags(), &opts.LEDs, "leds", 0, "override every device's LED count")
	intFlagVar(cmd.Flags(), &opts.FPS, "fps", 60, "frames per second, 1..60 (WLED redraws at most every 15 ms)")
	cmd.Flags().Float64Var(&opts.Seconds, "seconds", 10, "how long to run")
	cmd.Flags().DurationVar(&opts.DiscoverWindow, "discover-window", discovery.DefaultBrowseWindow, "without --device: how long to browse mDNS for devices")
	rootCmd.AddCommand(cmd)
}

// testPatternOptions are test-pattern's flags plus the collaborators tests replace.
type testPatternOptions struct {
	Devices []string
	LEDs    int
	FPS     int
	Seconds float64
	// Protocol is output.protocol: a wled:// device is driven with it (ProtocolAuto or the zero
	// value: DDP or DNRGB as its firmware allows), as join drives it; ddp://, dnrgb://, … URLs
	// keep their own. Discovered devices get it from Discovery.Protocol.
	Protocol wled.Protocol

	DiscoverWindow time.Duration    // mDNS browse length when Devices is empty
	Discovery      discovery.Config // discovery settings when Devices is empty (zero: mDNS everywhere)
	NoDiscovery    bool             // with Devices empty: fail instead of browsing (discovery.enabled: false)

	// BrightnessCap scales every channel, 0–1 (effects.brightness_cap); the zero value is 1.
	// Use effect.Dark for a dark rainbow.
	BrightnessCap float32
	// MaxMilliamps caps each strip's estimated current by Current (output.max_milliamps and the
	// effects' current model, as the live loop applies them); 0 is off.
	MaxMilliamps float32
	Current      color.CurrentModel
	// Looks are the strips' own looks (strips:): a strip an entry names (join's rule,
	// session.DeviceNames) takes the entry's brightness under BrightnessCap and, when the entry
	// sets one, its current limit instead of MaxMilliamps. The rest of a look (effect, colours,
	// mounting) does not change the rainbow.
	Looks []session.StripLook

	Client *wled.Client // JSON API client for wled:// devices; nil = defaults
	Logger *slog.Logger // send errors; nil discards
	// Lookup resolves a device's host name before its JSON API is asked or frames are sent; nil
	// means discovery.Resolver on Discovery.Interfaces, as join looks its devices up: a .local
	// name (wled-xxxx.local) by mDNS, which the release build's resolver (no cgo) never does.
	Lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// testPatternResult is one device's outcome.
type testPatternResult struct {
	Name  string
	Stats wled.OutputStats
	FPS   float64 // frames per second between the first and the last frame sent
	Err   error   // why the device could not be driven (its Stats are then zero); nil when it was
}

// testPatternConfig applies the configuration to opts: its devices (--device, already merged
// over the config's devices by loadConfig), its discovery settings, and the brightness cap and
// current limit the live effects obey, so that a venue's output.max_milliamps protects its power
// supplies from the test pattern too.
func testPatternConfig(opts testPatternOptions, c config.Config) (testPatternOptions, error) {
	// The command line sets none of these: a value refused here is the configuration's fault.
	ec, err := c.EffectConfig()
	if err != nil {
		return opts, configError{err}
	}
	if opts.Protocol, err = wled.ParseProtocol(c.Output.Protocol); err != nil {
		return opts, configError{fmt.Errorf("output.protocol: %w", err)}
	}
	opts.Devices = c.Devices
	opts.NoDiscovery = !c.Discovery.Enabled
	opts.Discovery = discovery.Config{Interfaces: c.Discovery.Interfaces, Protocol: c.Output.Protocol}
	opts.BrightnessCap = ec.BrightnessCap
	opts.MaxMilliamps = float32(c.Output.MaxMilliamps)
	opts.Current = ec.Current
	if opts.Looks, err = stripLooks(c); err != nil {
		return opts, configError{err}
	}
	return opts, nil
}

// runTestPattern validates opts, opens every device, drives the rainbow for opts.Seconds (or until
// ctx is cancelled), releases the devices and writes the per-device table to w.
func runTestPattern(ctx context.Context, opts testPatternOptions, w io.Writer) ([]testPatternResult, error) {
	switch {
	case opts.FPS < 1 || opts.FPS > 60:
		return nil, usageError{fmt.Errorf("test-pattern: --fps %d: want 1..60 (WLED redraws at most every 15 ms)", opts.FPS)}
	case !(opts.Seconds > 0 && opts.Seconds <= 24*3600):
		return nil, usageError{fmt.Errorf("test-pattern: --seconds %v: want more than 0 and at most a day", opts.Seconds)}
	case opts.LEDs < 0 || opts.LEDs > wled.MaxLEDs:
		return nil, usageError{fmt.Errorf("test-pattern: --leds %d: want 1..%d (0 = the device's own count)", opts.LEDs, wled.MaxLEDs)}
	case !(opts.BrightnessCap >= 0 && opts.BrightnessCap <= 1):
		return nil, usageError{fmt.Errorf("test-pattern: brightness cap %v: want 0..1", opts.BrightnessCap)}
	case len(opts.Devices) == 0 && opts.NoDiscovery:
		return nil, usageError{errors.New("test-pattern: no device to drive: none is configured (--device, devices) and discovery is off (discovery.enabled: false)")}
	}
	if opts.BrightnessCap == 0 {
		opts.BrightnessCap = 1
	}
	if opts.Protocol == wled.ProtocolUnknown {
		opts.Protocol = wled.ProtocolAuto
	}
	targets, err := testPatternTargets(ctx, opts, w)
	if err != nil {
		return nil, err
	}
	client := opts.Client
	if client == nil {
		client = &wled.Client{}
	}
	lookup := opts.Lookup
	if lookup == nil {
		r := &discovery.Resolver{Interfaces: opts.Discovery.Interfaces, Logger: opts.Logger}
		if r.Logger == nil {
			r.Logger = slog.New(slog.DiscardHandler)
		}
		lookup = r.LookupNetIP
	}
	interval := time.Second / time.Duration(opts.FPS)
	devices := resolveTestPatternDevices(ctx, targets, lookup, client, opts, interval)
	if ctx.Err() != nil {
		// Ctrl-C (or SIGTERM) while devices were being resolved: the devices its cancellation cut
		// short did not fail, and the command must not go on to drive the ones that resolved.
		return nil, testPatternInterrupted("while the devices were being resolved", devices)
	}
	var outputs []*wled.Output
	var outputNames []session.DeviceNames // one per output: what a strips: entry may name it by
	var failed []error
	for _, d := range devices {
		if d.err != nil {
			failed = append(failed, d.err)
			continue
		}
		outputs = append(outputs, d.output)
		outputNames = append(outputNames, d.names)
	}
	if len(outputs) == 0 {
		results, err := writeTestPatternTable(w, devices)
		if err != nil {
			return results, err
		}
		return results, undrivenError{failed}
	}
	learnLineNames(ctx, opts, client, w, outputNames)
	if ctx.Err() != nil { // stopped during learnLineNames' look-ups or mDNS browse
		return nil, testPatternInterrupted("while the strips: entries' devices were being looked for", devices)
	}
	lights := make([]rainbowLight, len(outputs))
	for i, names := range outputNames {
		lights[i] = stripLight(opts, names)
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, o := range outputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = o.Run(runCtx) // returns nil after releasing the device
		}()
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "test-pattern: %d of %d device(s), %d fps for %gs (%d could not be driven: see the table)\n", len(outputs), len(devices), opts.FPS, opts.Seconds, len(failed))
	} else {
		fmt.Fprintf(w, "test-pattern: %d device(s), %d fps for %gs\n", len(outputs), opts.FPS, opts.Seconds)
	}
	driveRainbow(ctx, outputs, lights, interval, time.Duration(opts.Seconds*float64(time.Second)))
	stop()
	wg.Wait()

	results, err := writeTestPatternTable(w, devices)
	if err != nil {
		return results, err
	}
	writeCutShortNotes(w, devices)
	if len(failed) > 0 {
		fmt.Fprintf(w, "test-pattern: %d of %d devices could not be driven (see ERROR above); the other %d ran\n", len(failed), len(devices), len(outputs))
	}
	return results, nil
}

// testPatternTarget is a device test-pattern is to drive, before it is resolved and opened.
type testPatternTarget struct {
	name   string
	target wled.Target
	names  session.DeviceNames // what a strips: entry may name it by
	// deviceLEDs is a discovered device's own LED count, which its target may cut short.
	deviceLEDs int
}

// testPatternTargets returns the devices to drive: opts.Devices, or when there are none the online
// WLEDs an mDNS browse finds (announced on w, as it takes opts.DiscoverWindow).
func testPatternTargets(ctx context.Context, opts testPatternOptions, w io.Writer) ([]testPatternTarget, error) {
	var targets []testPatternTarget
	for _, d := range opts.Devices {
		t, err := wled.ParseTarget(d)
		if err != nil {
			return nil, usageError{fmt.Errorf("test-pattern: --device: %w", err)}
		}
		targets = append(targets, testPatternTarget{name: t.String(), target: t, names: session.DeviceNames{Line: d, Host: t.Host, ConfiguredLines: opts.Devices}})
	}
	if len(targets) > 0 {
		return targets, nil
	}
	window := opts.DiscoverWindow
	if window <= 0 {
		window = discovery.DefaultBrowseWindow
	}
	fmt.Fprintf(w, "test-pattern: no --device given, browsing mDNS for WLED devices for %v\n", window)
	devices, err := discovery.Browse(ctx, opts.Discovery, window)
	if ctx.Err() != nil {
		return nil, testPatternInterrupted("during the mDNS browse", nil)
	}
	for _, d := range devices {
		if t, ok := d.Target(); ok && d.Online {
			names := session.DeviceNames{Name: d.Name, Host: d.Host}
			if d.IP.IsValid() {
				names.IP = d.IP.String()
			}
			targets = append(targets, testPatternTarget{name: printable.Escape(d.Name, 64) + " " + t.String(), target: t, names: names, deviceLEDs: d.Info.LEDs.Count})
		}
	}
	if len(targets) == 0 {
		if err != nil {
			return nil, fmt.Errorf("test-pattern: no devices found (%w); name them with --device URL", err)
		}
		return nil, errors.New("test-pattern: no WLED devices found; name them with --device URL")
	}
	return targets, nil
}

// resolveTestPatternDevices resolves and opens every target at once, each within its own look-up
// and JSON API timeouts, and one that cannot be resolved is a device with its err set (a row of
// the table): in turn, one slow device held up all the others, and one that failed stopped the
// test for every strip. The devices are in the targets' order.
func resolveTestPatternDevices(ctx context.Context, targets []testPatternTarget, lookup func(ctx context.Context, network, host string) ([]netip.Addr, error), client *wled.Client, opts testPatternOptions, interval time.Duration) []testPatternDevice {
	devices := make([]testPatternDevice, len(targets))
	var resolving sync.WaitGroup
	for i, nt := range targets {
		resolving.Go(func() {
			t := nt.target
			if opts.LEDs > 0 {
				t.LEDs = opts.LEDs // also a wled:// device's count: Complete keeps a given LED count
			}
			d := testPatternDevice{name: nt.name}
			d.output, d.names, d.deviceLEDs, d.err = openTestPatternDevice(ctx, t, nt.name, nt.names, lookup, client, opts, interval)
			if opts.LEDs == 0 && d.deviceLEDs == 0 {
				d.deviceLEDs = nt.deviceLEDs
			}
			devices[i] = d
		})
	}
	resolving.Wait()
	return devices
}

// testPatternInterrupted closes the devices opened so far (none: nil) and returns the error of a
// test that a signal stopped before it sent a frame; when says at which step.
func testPatternInterrupted(when string, opened []testPatternDevice) error {
	closeTestPatternDevices(opened)
	return interruptedError{"test-pattern: stopped " + when + "; no frame was sent"}
}

// testPatternDevice is one device test-pattern was asked to drive: its output, or why it has none.
type testPatternDevice struct {
	name   string
	names  session.DeviceNames // what a strips: entry may name it by
	output *wled.Output
	err    error
	// deviceLEDs is the LED count the device reports (a wled:// line without ?leds=, a device
	// mDNS found), which a forced protocol may carry only part of (writeCutShortNotes); 0 when
	// the count was given (?leds=, --leds) or is unknown.
	deviceLEDs int
}

// closeTestPatternDevices closes the outputs of devices that were opened but will not be run.
func closeTestPatternDevices(devices []testPatternDevice) {
	for _, d := range devices {
		if d.output != nil {
			_ = d.output.Close()
		}
	}
}

// openTestPatternDevice looks t's host up, resolves a wled:// device over its JSON API as join
// resolves it, and opens its output. names gains the address and the WLED's own name;
// deviceLEDs is the LED count a wled:// device without ?leds= reports (0 for any other).
func openTestPatternDevice(ctx context.Context, t wled.Target, name string, names session.DeviceNames,
	lookup func(context.Context, string, string) ([]netip.Addr, error), client *wled.Client, opts testPatternOptions, interval time.Duration,
) (o *wled.Output, _ session.DeviceNames, deviceLEDs int, err error) {
	host, err := lookupDeviceHost(ctx, lookup, t.Host)
	if err != nil {
		return nil, names, 0, err
	}
	t.Host = host
	names.IP = host
	resolved, info, err := client.CompleteAs(ctx, t, opts.Protocol)
	if err != nil {
		return nil, names, 0, err
	}
	if info.Name != "" {
		names.Name = info.Name
	}
	if t.Protocol == wled.ProtocolAuto && t.LEDs == 0 {
		// Only the device's own count is cut short: a ?leds= the protocol cannot carry is refused.
		deviceLEDs = info.LEDs.Count
	}
	o, err = wled.NewOutput(wled.OutputConfig{Target: resolved, Name: name, MinInterval: interval, Client: client, Logger: opts.Logger})
	return o, names, deviceLEDs, err
}

// writeCutShortNotes says of each driven device that has more LEDs than its output drives (the
// forced output.protocol carries fewer) what join's warning says: only the start of its strip
// lit, and how to light it all. The table's LEDS column alone reads as the strip's length.
func writeCutShortNotes(w io.Writer, devices []testPatternDevice) {
	for _, d := range devices {
		if d.err != nil || d.output == nil || d.deviceLEDs <= d.output.LEDs() {
			continue
		}
		fmt.Fprintf(w, "test-pattern: note: %s has %d LEDs, more than output.protocol %v carries: only its first %d were driven; %s\n",
			d.name, d.deviceLEDs, d.output.Target().Protocol, d.output.LEDs(), wled.DriveAllLEDsAdvice)
	}
}

// writeTestPatternTable writes one row per device, in the order given, and returns the results:
// a driven device's frames, rate and errors, a device that could not be resolved with its error
// in the last column (as discover shows a device that did not answer).
func writeTestPatternTable(w io.Writer, devices []testPatternDevice) ([]testPatternResult, error) {
	results := make([]testPatternResult, len(devices))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tPROTOCOL\tLEDS\tFRAMES SENT\tFPS\tDROPPED\tSEND ERRORS\tERROR")
	for i, d := range devices {
		if d.err != nil {
			results[i] = testPatternResult{Name: d.name, Err: d.err}
			// The error may quote what a device answered: cell keeps it printable and short.
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t%s\n", d.name, cell(d.err.Error(), maxErrorCell))
			continue
		}
		o := d.output
		st := o.Stats()
		r := testPatternResult{Name: o.Name(), Stats: st}
		if span := st.LastSent.Sub(st.FirstSent); st.FramesSent > 1 && span > 0 {
			r.FPS = float64(st.FramesSent-1) / span.Seconds()
		}
		results[i] = r
		fmt.Fprintf(tw, "%s\t%v\t%d\t%d\t%.2f\t%d\t%d\t-\n", r.Name, o.Target().Protocol, o.LEDs(), st.FramesSent, r.FPS, st.Dropped, st.SendErrors)
	}
	return results, tw.Flush()
}

// undrivenError is test-pattern's failure when no device could be driven (exit status 1). It
// wraps every device's error.
type undrivenError struct{ errs []error }

func (e undrivenError) Error() string {
	if len(e.errs) == 1 {
		return "test-pattern: " + e.errs[0].Error()
	}
	return fmt.Sprintf("test-pattern: none of the %d devices could be driven (the table lists each one's error); the first: %v", len(e.errs), e.errs[0])
}

func (e undrivenError) Unwrap() []error { return e.errs }

// lookupDeviceHost returns host as an IP address, looked up with lookup unless it is one already.
// WLED speaks IPv4 only; an IPv6 address is used when the name has nothing else (as join does).
func lookupDeviceHost(ctx context.Context, lookup func(context.Context, string, string) ([]netip.Addr, error), host string) (string, error) {
	if _, err := netip.ParseAddr(host); err == nil {
		return host, nil
	}
	a, err := discovery.LookupDeviceAddr(ctx, lookup, host, netip.Addr{})
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// learnLineNames gives each configured line in names the names join gives it (FoundName,
// FoundHost: the WLED at its address), when a strips: entry names no device yet and could name
// one by them. A ddp://, dnrgb://, … line's host is asked for /json/info on port 80 (a wled://
// line's name came with its own /json/info); with discovery on, mDNS is browsed and a line
// takes the names of the WLED found at its address, by discover's rule (sameAddress, rowNames).
// A line whose WLED's name stays unknown gets a warning for each such entry: it may not apply.
func learnLineNames(ctx context.Context, opts testPatternOptions, client *wled.Client, w io.Writer, names []session.DeviceNames) {
	if len(session.UnmatchedLooks(opts.Looks, names)) == 0 {
		return
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	anyLine := false
	var asking sync.WaitGroup // all at once: each host that never answers costs session.LineInfoTimeout
	for i := range names {
		n := &names[i]
		if n.Line == "" {
			continue
		}
		anyLine = true
		if t, err := wled.ParseTarget(n.Line); err == nil && t.Protocol != wled.ProtocolAuto {
			asking.Go(func() { n.FoundName = session.LineWLEDName(ctx, client, n.IP) })
		}
	}
	asking.Wait()
	if anyLine && !opts.NoDiscovery && len(session.UnmatchedLooks(opts.Looks, names)) > 0 {
		window := opts.DiscoverWindow
		if window <= 0 {
			window = discovery.DefaultBrowseWindow
		}
		fmt.Fprintf(w, "test-pattern: browsing mDNS for %v for the WLEDs at the configured devices' addresses, which strips: entries may name\n", window)
		cfg := opts.Discovery
		cfg.Static, cfg.DisableMDNS = nil, false // the devices mDNS finds, as join's registry lists them
		cfg.Logger = log
		found, err := discovery.Browse(ctx, cfg, window)
		if err != nil {
			log.Warn("test-pattern: mDNS browse for the configured devices' WLEDs failed", "err", err)
		}
		rows := summaries(found)
		for i := range names {
			n := &names[i]
			if n.Line == "" {
				continue
			}
			line := summary{Host: n.Host, IP: n.IP}
			for r := range rows {
				if sameAddress(line, rows[r]) {
					at := rowNames(&rows[r], n.Line)
					if at.FoundName != "" {
						n.FoundName = at.FoundName
					}
					n.FoundHost = at.FoundHost
					break
				}
			}
		}
	}
	unmatched := session.UnmatchedLooks(opts.Looks, names)
	var byName []string // entries that name a device by WLED name or mDNS host
	for _, i := range unmatched {
		sel := strings.TrimSpace(opts.Looks[i].Device)
		if _, err := netip.ParseAddr(sel); err != nil && !strings.Contains(sel, "://") {
			byName = append(byName, sel)
		}
	}
	if len(byName) == 0 {
		return
	}
	for _, n := range names {
		if n.Line != "" && n.Name == "" && n.FoundName == "" && n.FoundHost == "" {
			log.Warn("test-pattern: the WLED this device line drives told no name (no JSON API on port 80, none found by mDNS), so a strips: entry naming a device by name or mDNS host may not apply to it; name it by its line or address",
				"device", printable.Escape(n.Line, 200), "entries", byName)
		}
	}
}

// stripLight is how bright the rainbow may be on the device names names: the global cap and
// current limit, under the brightness and current limit of the strips: entry that names it.
func stripLight(opts testPatternOptions, names session.DeviceNames) rainbowLight {
	light := rainbowLight{cap: opts.BrightnessCap, maxMilliamps: opts.MaxMilliamps, current: opts.Current}
	i := session.StripLookFor(opts.Looks, names)
	if i < 0 {
		return light
	}
	look := opts.Looks[i]
	if b := look.Look.Brightness; b != 0 { // 0 means 1; effect.Dark (a written 0) keeps it dark
		light.cap *= b
	}
	if look.OwnMaxMilliamps {
		light.maxMilliamps = look.Look.MaxMilliamps
	}
	return light
}

// rainbowLight is how bright the rainbow may be: the brightness cap scales every channel (as
// the live path's cap scales the duty), then the current limit scales the frame down to its
// budget.
type rainbowLight struct {
	cap          float32 // 0–1; 1 leaves the rainbow at full value
	maxMilliamps float32 // per strip; 0 is off
	current      color.CurrentModel
}

func (l rainbowLight) apply(frame []byte, bpp int) {
	if l.cap < 1 {
		for i, v := range frame {
			frame[i] = uint8(float32(v) * l.cap) // rounded down, as the limit rounds
		}
	}
	l.current.Limit(frame, bpp, l.maxMilliamps)
}

// driveRainbow submits one rainbow frame per interval to every output (lit as its lights entry
// allows) until d has passed or ctx
// is done. Frame buffers are allocated once.
func driveRainbow(ctx context.Context, outputs []*wled.Output, lights []rainbowLight, interval, d time.Duration) {
	frames := make([][]byte, len(outputs))
	for i, o := range outputs {
		frames[i] = make([]byte, o.FrameBytes())
	}
	start := time.Now()
	submit := func(elapsed time.Duration) {
		phase := elapsed.Seconds() / 4 // one trip round the colour wheel every 4 s
		for i, o := range outputs {
			bpp := 3
			if o.RGBW() {
				bpp = 4
			}
			renderRainbow(frames[i], bpp, phase)
			lights[i].apply(frames[i], bpp)
			o.Submit(frames[i])
		}
	}
	submit(0)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case now := <-ticker.C:
			submit(now.Sub(start))
		}
	}
}

// renderRainbow fills frame (bpp = 3 or 4 bytes per LED; white stays 0) with one full hue
// cycle along the strip, shifted by phase (in turns).
func renderRainbow(frame []byte, bpp int, phase float64) {
	n := len(frame) / bpp
	const wheel = 6 * 256
	shift := int(phase*wheel) % wheel
	for i := 0; i < n; i++ {
		h := (i*wheel/n + shift) % wheel
		x := byte(h % 256)
		var r, g, b byte
		switch h / 256 {
		case 0:
			r, g, b = 255, x, 0
		case 1:
			r, g, b = 255-x, 255, 0
		case 2:
			r, g, b = 0, 255, x
		case 3:
			r, g, b = 0, 255-x, 255
		case 4:
			r, g, b = x, 0, 255
		default:
			r, g, b = 255, 0, 255-x
		}
		px := frame[i*bpp:]
		px[0], px[1], px[2] = r, g, b
		if bpp == 4 {
			px[3] = 0
		}
	}
}
