package session

import (
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
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

// strip is one device the loop renders for: its output (the Sink), its renderer and buffers.
type strip struct {
	key    string // MAC for discovered devices, the URL for configured ones
	name   string
	target wled.Target
	out    *wled.Output
	online atomic.Bool

	// Owned by the frame loop goroutine.
	renderer    *effect.Renderer
	rendererGen uint64
	failedGen   uint64 // the effect settings generation (+1) NewRenderer refused for this strip
	frame       []byte

	identifyUntil atomic.Int64 // unix nanoseconds; flash the strip until then

	cancel context.CancelFunc
	done   chan struct{}
}

// releaseClient gives a DDP device back to its own effects on shutdown ({"live":false}); a
// powered-off strip must not eat the daemon's 2 s exit budget.
var releaseClient = &wled.Client{Timeout: 800 * time.Millisecond}

// deviceSet owns every device output: configured ones at start, discovered ones as they come
// and go. The loop reads the current set through an atomic copy-on-write slice.
type deviceSet struct {
	s   *Session
	reg *discovery.Registry

	list atomic.Pointer[[]*strip]

	// The mutex protects the following elements.
	mu        sync.Mutex
	strips    map[string]*strip
	ctx       context.Context               // outputs' parent; nil until run
	wg        sync.WaitGroup                // output goroutines and static-device resolvers
	static    []string                      // configured device URLs
	resolving map[string]context.CancelFunc // devices waiting for their JSON API or their host name

	// lookup resolves a configured device's host name. It runs in a resolver goroutine with a
	// context that removal and shutdown cancel, never under mu: a DNS server that does not answer
	// would otherwise hold the device lock (and shutdown) for the resolver's timeouts.
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// setStatic makes the configured devices exactly urls: new ones start, removed ones stop and
// release their device. Discovered devices are untouched.
func (d *deviceSet) setStatic(urls []string) error {
	targets := map[string]wled.Target{}
	for _, raw := range urls {
		t, err := wled.ParseTarget(raw)
		if err != nil {
			return fmt.Errorf("device %q: %w", raw, err)
		}
		if t.Protocol != wled.ProtocolAuto && t.LEDs == 0 {
			return fmt.Errorf("device %q: give the LED count (?leds=N): no JSON API is asked for this protocol", raw)
		}
		targets[raw] = t
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || d.ctx.Err() != nil {
		return nil
	}
	for _, old := range d.static {
		if _, keep := targets[old]; keep {
			continue
		}
		if cancel, ok := d.resolving[old]; ok {
			cancel()
			delete(d.resolving, old)
		}
		if st, ok := d.strips[old]; ok {
			st.cancel()
			delete(d.strips, old)
			d.s.log.Info("device removed", "device", st.name)
		}
	}
	d.static = append(d.static[:0], urls...)
	for raw, t := range targets {
		if _, running := d.strips[raw]; running {
			continue
		}
		if _, waiting := d.resolving[raw]; waiting {
			continue
		}
		if _, err := netip.ParseAddr(t.Host); err == nil && t.Protocol != wled.ProtocolAuto {
			d.addLocked(raw, t.String(), t, true)
			continue
		}
		ctx, cancel := context.WithCancel(d.ctx)
		d.resolving[raw] = cancel
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.resolveStatic(ctx, raw, t)
		}()
	}
	d.publishLocked()
	return nil
}

func newDeviceSet(s *Session) (*deviceSet, error) {
	d := &deviceSet{s: s, strips: map[string]*strip{}, resolving: map[string]context.CancelFunc{}, lookup: net.DefaultResolver.LookupNetIP}
	empty := []*strip{}
	d.list.Store(&empty)
	if s.cfg.Discovery != nil {
		dc := *s.cfg.Discovery
		dc.Protocol = s.cfg.Protocol
		dc.Logger = s.log.With("part", "discovery")
		dc.OnChange = d.onDiscovery
		dc.Static = nil // configured devices are the device set's own (see startStatic)
		reg, err := discovery.New(dc)
		if err != nil {
			return nil, fmt.Errorf("session: discovery: %w", err)
		}
		d.reg = reg
	}
	for _, raw := range s.cfg.Devices {
		if _, err := wled.ParseTarget(raw); err != nil {
			return nil, fmt.Errorf("session: device %q: %w", raw, err)
		}
	}
	return d, nil
}

// run starts the configured devices and discovery, and on ctx done stops every output (which
// releases its device) and waits for them.
func (d *deviceSet) run(ctx context.Context) error {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()

	if err := d.setStatic(d.s.cfg.Devices); err != nil {
		d.s.log.Error("configured devices", "err", err)
	}
	var wg sync.WaitGroup
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
	for _, cancel := range d.resolving {
		cancel()
	}
	for key, st := range d.strips {
		st.cancel()
		delete(d.strips, key)
	}
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}

// resolveStatic makes a configured device drivable, retrying until it is: a wled:// device's JSON
// API gives its protocol and LED count, and a host name becomes an address here, so that the
// output (wled.NewSender) is built under the device lock without a DNS lookup.
func (d *deviceSet) resolveStatic(ctx context.Context, raw string, t wled.Target) {
	delays := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
	for attempt := 0; ; attempt++ {
		rt, name, err := d.resolveTarget(ctx, raw, t)
		if err == nil {
			d.mu.Lock()
			if ctx.Err() == nil {
				delete(d.resolving, raw)
				d.addLocked(raw, name, rt, true)
			}
			d.mu.Unlock()
			return
		}
		if attempt == 0 {
			d.s.log.Warn("device not answering; retrying", "device", raw, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delays[min(attempt, len(delays)-1)]):
		}
	}
}

// resolveTarget returns t ready for an output, with its host as an address, and the strip's name.
func (d *deviceSet) resolveTarget(ctx context.Context, raw string, t wled.Target) (wled.Target, string, error) {
	name := t.String()
	if t.Protocol == wled.ProtocolAuto {
		rt, info, err := d.s.wled.Resolve(ctx, t)
		if err != nil {
			return t, "", err
		}
		t, name = rt, info.Name
		if name == "" {
			name = raw
		}
	}
	if _, err := netip.ParseAddr(t.Host); err == nil {
		return t, name, nil
	}
	addrs, err := d.lookup(ctx, "ip", t.Host)
	if err != nil {
		return t, "", err
	}
	if len(addrs) == 0 {
		return t, "", fmt.Errorf("%s: no address", t.Host)
	}
	// WLED speaks IPv4 only; an IPv6 address is used when the name has nothing else.
	i := max(slices.IndexFunc(addrs, func(a netip.Addr) bool { return a.Unmap().Is4() }), 0)
	t.Host = addrs[i].Unmap().String()
	return t, name, nil
}

func (d *deviceSet) onDiscovery(ev discovery.Event) {
	dev := ev.Device
	switch ev.Kind {
	case discovery.EventOffline:
		d.setOnline(dev.Key, false)
		d.s.log.Warn("device offline", "device", dev.Name, "ip", dev.IP, "err", dev.LastError)
		return
	case discovery.EventOnline:
		d.s.log.Info("device online", "device", dev.Name, "ip", dev.IP)
	}
	t, ok := dev.Target()
	if !ok {
		return
	}
	d.add(dev.Key, dev.Name, t, dev.Online)
}

func (d *deviceSet) setOnline(key string, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.strips[key]; ok {
		st.online.Store(on)
	}
}

// add starts an output for key, replacing one whose target changed.
func (d *deviceSet) add(key, name string, t wled.Target, online bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addLocked(key, name, t, online)
}

func (d *deviceSet) addLocked(key, name string, t wled.Target, online bool) {
	if d.ctx == nil || d.ctx.Err() != nil {
		return
	}
	for k, other := range d.strips {
		// A configured device that mDNS finds too is driven once. Two discovered devices are
		// never merged: when two strips swap addresses (DHCP), each update arrives while the
		// other still holds its new address, and skipping it would leave both streaming to the
		// other's strip.
		if k != key && other.target.Host == t.Host && other.target.Port == t.Port &&
			(slices.Contains(d.static, k) || slices.Contains(d.static, key)) {
			other.online.Store(online)
			return
		}
	}
	if old, ok := d.strips[key]; ok {
		old.online.Store(online)
		if old.target == t {
			return
		}
		old.cancel()
		delete(d.strips, key)
	}
	out, err := wled.NewOutput(wled.OutputConfig{
		Target:  t,
		Name:    name,
		Timeout: d.s.cfg.RealtimeTimeout,
		// The ticker already paces frames; an output pacing at the very same interval would hold
		// each tick's frame for a random part of a period (measured: median 12 ms). 90 % of the
		// period (15 ms at 60 fps, WLED's redraw floor) lets tick-paced frames out at once and
		// still stops bursts.
		MinInterval: time.Second / time.Duration(d.s.cfg.FPS) * 9 / 10,
		Client:      releaseClient,
		Logger:      d.s.log,
	})
	if err != nil {
		d.s.log.Error("cannot drive device", "device", name, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(d.ctx)
	st := &strip{key: key, name: name, target: t, out: out, cancel: cancel, done: make(chan struct{}), frame: make([]byte, out.FrameBytes())}
	st.online.Store(online)
	d.strips[key] = st
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(st.done)
		_ = out.Run(ctx)
	}()
	d.publishLocked()
	d.s.log.Info("driving device", "device", name, "target", t.String(), "leds", t.LEDs, "rgbw", t.RGBW)
}

func (d *deviceSet) publishLocked() {
	list := make([]*strip, 0, len(d.strips))
	for _, st := range d.strips {
		list = append(list, st)
	}
	slices.SortFunc(list, func(a, b *strip) int { return strings.Compare(a.name+a.key, b.name+b.key) })
	d.list.Store(&list)
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
