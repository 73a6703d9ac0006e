package wled

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ledbridge/ledbridge/bridge/lograte"
)

// DefaultMinInterval is the shortest time between two frames to one device: WLED redraws
// realtime input at most every 15 ms, so faster sending only wastes air time.
const DefaultMinInterval = time.Second / 60

// ErrAlreadyRun indicates a second call to Output.Run.
var ErrAlreadyRun = errors.New("wled: output already run")

// OutputConfig configures a device Output. Zero fields mean defaults.
type OutputConfig struct {
	// Target is a resolved device target (not ProtocolAuto; see Client.Complete) with LEDs set.
	Target Target
	// Name labels the device in stats and logs; default Target.String().
	Name string
	// Device names the device across addresses when the caller knows it (discovery's MAC, the
	// configured line that drives it), "" when it does not. An output replaced by one of the
	// same Device at another address (DHCP moved the WLED, and its new output drives it there)
	// leaves the release to that one, as it does to one at its own address: its old address
	// reaches nothing now (a "release failed" warning after a refused or timed-out connect) or
	// the machine that took it.
	Device string
	// Timeout is the UDP realtime timeout byte's duration; default DefaultRealtimeTimeout (2 s).
	Timeout time.Duration
	// MinInterval is the shortest gap between frames; default DefaultMinInterval (1/60 s).
	MinInterval time.Duration
	// Client releases a DDP device over its JSON API; nil means a zero Client.
	Client *Client
	// Logger receives send errors and failed socket re-opens (each: one line when they start,
	// then at most one a minute while they go on; a strip that keeps failing and recovering, one
	// failure and one recovery line a minute at most) and release failures; nil discards.
	Logger *slog.Logger
}

// OutputStats is a snapshot of an Output's counters.
type OutputStats struct {
	FramesSent uint64    // frames fully written to the socket
	Packets    uint64    // datagrams written
	SendErrors uint64    // frames that failed part-way (socket errors, e.g. ICMP port unreachable)
	Dropped    uint64    // submitted frames overwritten by a newer one before they were sent
	BadFrames  uint64    // submitted frames whose length did not match the strip
	FPS        float64   // frames sent per second over the last second or so
	FirstSent  time.Time // when the first frame was sent (zero before the first)
	LastSent   time.Time // when the last frame was sent (zero before the first)
	LastError  string    // the last send error, "" if none
	Reopens    uint64    // sockets re-opened after sends kept failing (see ReopenAfter)
	// ReopenFailures: re-opens that failed (no route, the zone's interface gone), leaving the
	// old socket in place until the next try.
	ReopenFailures uint64
	// Failing: a send failed in the last RecoveredAfter. A strip that refuses every datagram
	// fails only every other send of a one-packet frame on a connected socket (the refusal comes
	// back as the next send's error), so "the last send worked" does not mean the strip is
	// receiving.
	Failing bool
}

// fpsWindow is how many recent send times the achieved-fps estimate looks at (about 1 s at 60 fps).
const fpsWindow = 61

// Output is the self-pacing Sink for one device: Submit hands it the latest Frame without
// blocking, and Run's goroutine sends at most one frame per MinInterval, dropping (never
// queueing) frames that arrive faster. Each device has its own Output, so a slow or dead device
// cannot hold up the others.
type Output struct {
	// name is not unique (every fresh WLED is called "WLED"): log lines give target= too, as the
	// session's "driving device" line does (target.String()), and the address.
	name     string
	target   Target
	device   string // OutputConfig.Device
	interval time.Duration
	client   *Client
	log      *slog.Logger
	sender   *Sender
	send     func(frame []byte) (packets int, err error) // sender.Send; tests wrap it to hold a send
	nbytes   int                                         // frame length: LEDs × 3 or 4
	wake     chan struct{}                               // capacity 1: "a frame is pending"
	ran      atomic.Bool
	closed   sync.Once

	framesSent, packets, sendErrors, dropped, badFrames atomic.Uint64

	// The mutex protects the following elements.
	mu         sync.Mutex
	pending    []byte // the latest submitted frame
	hasPending bool

	// sending is the frame being sent, swapped with pending (never reallocated). Only Run's
	// goroutine touches it, and Send runs without a lock: a stuck device can hold Send for up to
	// sendWriteTimeout, and the status page's Stats and CopyLastSent must not wait for that.
	sending []byte

	// statsMu protects the following elements; it is held only to record a send's outcome and to
	// read it, never across Send.
	statsMu   sync.Mutex
	lastSent  []byte // copy of the last frame written to the device
	sentOnce  bool
	firstSent time.Time
	sendTimes [fpsWindow]time.Time // ring of recent send times
	sendIdx   int
	lastErr   error
	lastErrAt time.Time
	failing   bool // a send failed, and RecoveredAfter has not passed without one since

	// Failures that last get a line when they start, then one a minute: a venue's journal should
	// say when a strip went away, not repeat it 60 times a second. A strip that comes and goes
	// gets no more: see endOutage.
	sendFailLog   lograte.Limiter // sends failing, until they recover
	reopenFailLog lograte.Limiter // socket re-opens failing, until one works

	// outage follows the current run of failed sends, from its first failure to the line that
	// says the strip is sending again (Run's goroutine only). Those lines count this outage: a
	// lifetime count makes a strip's second reboot read as twice as bad as its first (it is in
	// the metrics).
	outage struct {
		start    time.Time // the first failed send; zero while sends work
		backAt   time.Time // the first send that worked after the last failed one; zero until then
		failures uint64
		advised  bool // a line of this outage said what to check (sendFailureAdvice)
		logged   bool // a "send failed" line of this outage was written
	}
	// unlogged counts the outages that came and went since the last "send failed" line without
	// a line of their own (a flapping strip, held back by sendFailLog), and their failed sends,
	// for the next such line (Run's goroutine only).
	unlogged struct {
		outages, failures uint64
	}

	// now is the clock of the send outcomes and Stats: time.Now, a fake one in tests that follow
	// a strip failing every few seconds for minutes.
	now func() time.Time

	reopensLogged      uint64 // Run's goroutine only: the sender's Reopens when last checked
	reopenLog          lograte.Limiter
	reopenFailuresSeen uint64 // Run's goroutine only: the sender's ReopenFailures when last checked

	// jsonAPI is the "host:port" of the device's JSON API when the target names none (a ddp://
	// line whose host answered /json/info): release sends {"live":false} there. See SetJSONAPI.
	jsonAPI atomic.Pointer[string]

	// releaseDue (guarded by drivers.mu): an output of the same device that drove it stopped
	// while this one ran and left the release to this one.
	releaseDue bool
}

// errorLogInterval is how often a device that keeps failing is logged again.
const errorLogInterval = time.Minute

// RecoveredAfter is how long a failing device must take frames without an error before it counts
// (and is logged) as sending again. It must be longer than the spacing of a refusing device's
// errors: our connected socket sees a refusal only when the device's kernel sends an ICMP port
// unreachable, and Linux sends those to one host at most once a second after a burst of 6
// (net.ipv4.icmp_ratelimit; measured across a veth: six refusals, then one every 0.99–1.03 s),
// further apart when the refusing host answers several senders or addresses from one budget (a
// test rig's 20 addresses in one namespace: 1–3 s). At 2 s such a strip counted as recovered
// between two refusals, flapping Failing and writing two lines every few seconds.
const RecoveredAfter = 5 * time.Second

// NewOutput validates cfg and opens the device's UDP socket. It starts no goroutine; call Run,
// or Close if Run is never called.
func NewOutput(cfg OutputConfig) (*Output, error) {
	t := cfg.Target
	if t.LEDs == 0 {
		return nil, fmt.Errorf("wled output %s: LED count unknown (give ?leds=N or --leds)", t)
	}
	if cfg.MinInterval < 0 {
		return nil, fmt.Errorf("wled output %s: negative MinInterval", t)
	}
	s, err := NewSender(SenderConfig{Protocol: t.Protocol, Addr: t.UDPAddr(), LEDs: t.LEDs, RGBW: t.RGBW, Timeout: cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("wled output %s: %w", t, err)
	}
	o := &Output{
		name:     cfg.Name,
		target:   t,
		device:   cfg.Device,
		interval: cfg.MinInterval,
		client:   cfg.Client,
		log:      cfg.Logger,
		sender:   s,
		send:     s.Send,
		nbytes:   s.FrameBytes(),
		wake:     make(chan struct{}, 1),
		pending:  make([]byte, s.FrameBytes()),
		sending:  make([]byte, s.FrameBytes()),
		lastSent: make([]byte, s.FrameBytes()),
		// A network that is gone altogether fails every reopen; one line a minute says so.
		reopenLog:     lograte.Limiter{Every: errorLogInterval},
		sendFailLog:   lograte.Limiter{Every: errorLogInterval},
		reopenFailLog: lograte.Limiter{Every: errorLogInterval},
		now:           time.Now,
	}
	if o.name == "" {
		o.name = t.String()
	}
	if o.interval == 0 {
		o.interval = DefaultMinInterval
	}
	if o.client == nil {
		o.client = &Client{}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	// Every line about the strip names it alike (the name, the driven target, the address), so
	// that one grep finds them all; the three are fixed for the Output's life.
	o.log = o.log.With("device", o.name, "target", o.target.String(), "addr", t.UDPAddr())
	if others := joinDevice(o); tearsFrames(t) && !slices.ContainsFunc(others, tearsFrames) {
		// Said once per device: not again by the output that replaces this one on a target change.
		o.log.Warn("DNRGB frames of this strip take several packets, and WLED draws each packet as it arrives: the strip shows parts of two frames at once; drive it over DDP (WLED 0.13 or later)",
			"leds", t.LEDs, "packets", (t.LEDs+dnrgbLEDsPerPack-1)/dnrgbLEDsPerPack)
	}
	return o, nil
}

// tearsFrames reports whether t's frames go out as several UDP realtime packets: WLED redraws
// the strip on every one (udp.cpp handleNotifications ends each with strip.show(); DDP has a
// push flag for that), so the strip shows the new frame's start next to the old frame's end.
func tearsFrames(t Target) bool {
	return t.Protocol == ProtocolDNRGB && t.LEDs > dnrgbLEDsPerPack
}

// Name labels the device.
func (o *Output) Name() string { return o.name }

// Target is the device target the output sends to.
func (o *Output) Target() Target { return o.target }

// LEDs is the strip's LED count.
func (o *Output) LEDs() int { return o.target.LEDs }

// RGBW reports whether frames carry 4 bytes per LED.
func (o *Output) RGBW() bool { return o.target.RGBW }

// FrameBytes is the frame length Submit expects: LEDs × 3 (or 4 for RGBW).
func (o *Output) FrameBytes() int { return o.nbytes }

// Submit hands the output its newest frame. It never blocks and never allocates: the frame is
// copied (the caller may reuse it at once); a frame still waiting to be sent is overwritten and
// counted as dropped. A frame of the wrong length is counted in BadFrames; it is truncated or
// padded with black so the strip still shows something.
func (o *Output) Submit(frame []byte) {
	if len(frame) != o.nbytes {
		o.badFrames.Add(1)
	}
	o.mu.Lock()
	if o.hasPending {
		o.dropped.Add(1)
	}
	n := copy(o.pending, frame)
	clear(o.pending[n:])
	o.hasPending = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run sends submitted frames until ctx is done, then releases the device (UDP realtime: a
// timeout-0 packet; DDP with a known JSON API: {"live":false}), closes the socket and returns nil.
// It releases only a device it sent a frame to, and not while another Output of this process
// drives the same device (its successor after a target change): the last one to stop does.
func (o *Output) Run(ctx context.Context) error {
	if !o.ran.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	defer o.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// Pacing is a GCRA ("virtual scheduling"): tat is the theoretical time of the next frame.
	// A frame may go out up to 10 % of an interval early, so one late wake-up is absorbed over
	// the next frames instead of adding latency to every later frame (a strict "interval since
	// the last send" rule would ratchet the lag up to the worst wake-up seen). Over any stretch the
	// rate stays ≤ 1/MinInterval, and no two frames are closer than 0.9 × MinInterval (15 ms at
	// 60 fps, WLED's redraw floor).
	tolerance := o.interval / 10
	var tat time.Time
	for {
		select {
		case <-ctx.Done():
			o.release(ctx)
			return nil
		case <-o.wake:
		}
		if wait := time.Until(tat.Add(-tolerance)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				o.release(ctx)
				return nil
			case <-timer.C:
			}
		}
		now := time.Now()
		if !o.sendPending() {
			continue
		}
		if tat.Before(now) {
			tat = now
		}
		tat = tat.Add(o.interval)
	}
}

// sendPending sends the latest submitted frame, if any, and reports whether there was one. Only
// Run's goroutine calls it.
func (o *Output) sendPending() bool {
	o.mu.Lock()
	if !o.hasPending {
		o.mu.Unlock()
		return false
	}
	o.pending, o.sending = o.sending, o.pending
	o.hasPending = false
	o.mu.Unlock()

	n, err := o.send(o.sending)
	now := o.now()
	o.packets.Add(uint64(n))
	if r := o.sender.Reopens(); r != o.reopensLogged {
		o.reopensLogged = r
		o.reopenFailLog.Reset()
		if held, ok := o.reopenLog.Allow(now); ok {
			// Sends that keep failing while the strip is fine mostly mean this machine's address
			// changed under the old socket.
			o.log.Info("wled socket re-opened after sends kept failing", "reopens", r, "suppressed", held)
		}
	}
	if f := o.sender.ReopenFailures(); f != o.reopenFailuresSeen {
		o.reopenFailuresSeen = f
		if _, ok := o.reopenFailLog.Allow(now); ok {
			// The sender's error says why both the send and the new socket failed.
			o.log.Warn("wled socket could not be re-opened", "err", err, "failures", f)
		}
	}
	if err != nil {
		o.sendErrors.Add(1)
		if o.outage.failures == 0 {
			o.outage.start = now
		}
		o.outage.failures++
		o.outage.backAt = time.Time{}
		o.statsMu.Lock()
		o.lastErr, o.lastErrAt, o.failing = err, now, true
		o.statsMu.Unlock()
		if _, ok := o.sendFailLog.Allow(now); ok {
			attrs := []any{"err", err, "failed_sends", o.outage.failures}
			if o.unlogged.outages > 0 {
				// A flapping strip: say how often it came and went since the last line.
				attrs = append(attrs, "unlogged_outages", o.unlogged.outages, "unlogged_failed_sends", o.unlogged.failures)
				o.unlogged.outages, o.unlogged.failures = 0, 0
			}
			if advice := sendFailureAdvice(err); advice != "" && !o.outage.advised {
				o.outage.advised = true
				attrs = append(attrs, "advice", advice)
			}
			o.outage.logged = true
			o.log.Warn("wled send failed", attrs...)
		}
		return true
	}
	if o.outage.failures > 0 && o.outage.backAt.IsZero() {
		o.outage.backAt = now
	}
	o.framesSent.Add(1)
	o.statsMu.Lock()
	recovered := o.failing && now.Sub(o.lastErrAt) >= RecoveredAfter
	if recovered {
		o.failing = false
	}
	copy(o.lastSent, o.sending)
	if !o.sentOnce {
		o.sentOnce, o.firstSent = true, now
	}
	o.sendTimes[o.sendIdx] = now
	o.sendIdx = (o.sendIdx + 1) % fpsWindow
	o.statsMu.Unlock()
	if recovered {
		o.endOutage()
	}
	return true
}

// endOutage logs and forgets the outage of a strip that has taken frames for RecoveredAfter.
// Only an outage whose failure was logged says it ended: the journal pairs each "send failed"
// with one "sending again". The failure limiter is not reset: the next outage's first failure is
// logged once errorLogInterval has passed since the last failure line, so a strip that comes and
// goes (a flaky WLED, a refusing address whose errors come further apart than RecoveredAfter)
// writes at most one failure line and one recovery line a minute, and the next failure line
// counts the outages held back. Resetting it after an outage whose first line was a minute old
// let a second pair through seconds after the outage's own once-a-minute line (review 329).
func (o *Output) endOutage() {
	if !o.outage.logged {
		o.unlogged.outages++
		o.unlogged.failures += o.outage.failures
	} else {
		o.log.Info("wled sending again",
			"failed_sends", o.outage.failures, "down_for", o.outage.backAt.Sub(o.outage.start).Round(time.Millisecond))
	}
	o.outage.start, o.outage.backAt, o.outage.failures, o.outage.advised, o.outage.logged = time.Time{}, time.Time{}, 0, false, false
}

// sendFailureAdvice says what an operator checks when a strip's sends fail with err, or "" when
// err says nothing about the device (this machine's own network, a full send buffer). A refusal
// comes from the device's address with its port closed: a WLED that is booting, or a machine that
// took its DHCP lease while it was off. No route to the host is a failed ARP look-up: nothing
// holds the address, the device is off or off the Wi-Fi.
func sendFailureAdvice(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the device's address refuses the frames (a WLED still booting does, or another machine that took its address): check the device's power and Wi-Fi"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "nothing answers at the device's address: check the device's power and Wi-Fi"
	}
	return ""
}

// release hands the device back to its own effects, if it is this output's to release (see
// leaveDevice).
func (o *Output) release(ctx context.Context) {
	if !leaveDevice(o) {
		return
	}
	if o.target.Protocol.realtime() {
		if err := o.sender.Release(); err != nil {
			o.log.Warn("wled release failed", "err", err)
		}
		return
	}
	addr := o.target.HTTPAddr()
	if p := o.jsonAPI.Load(); addr == "" && p != nil {
		addr = *p
	}
	if addr != "" {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.client.timeout())
		defer cancel()
		if err := o.client.SetLive(rctx, addr, false); err != nil {
			o.log.Warn("wled release failed", "err", err)
		}
	}
}

// SetJSONAPI gives a DDP output whose target names no JSON API (a ddp:// line) the "host:port"
// of its device's, learned since (the line's host answered GET /json/info): when Run stops, it
// releases the device there with {"live":false}, as it does a wled:// target's; without it, the
// strip holds the last frame for the device's realtime timeout. "" forgets it. Any goroutine may
// call it, at any time.
func (o *Output) SetJSONAPI(addr string) {
	if addr == "" {
		o.jsonAPI.Store(nil)
		return
	}
	o.jsonAPI.Store(&addr)
}

// Close closes the socket of an output whose Run was never called (Run closes it itself).
func (o *Output) Close() error {
	var err error
	o.closed.Do(func() {
		forgetDriver(o) // Run has released the device if it had to; without Run, nothing was sent
		err = o.sender.Close()
	})
	return err
}

// Stats returns the output's counters and its achieved frame rate.
func (o *Output) Stats() OutputStats {
	s := OutputStats{
		FramesSent: o.framesSent.Load(),
		Packets:    o.packets.Load(),
		SendErrors: o.sendErrors.Load(),
		Dropped:    o.dropped.Load(),
		BadFrames:  o.badFrames.Load(),
		Reopens:    o.sender.Reopens(),

		ReopenFailures: o.sender.ReopenFailures(),
	}
	o.statsMu.Lock()
	defer o.statsMu.Unlock()
	if o.lastErr != nil {
		s.LastError = o.lastErr.Error()
	}
	now := o.now()
	s.Failing = o.failing && now.Sub(o.lastErrAt) < RecoveredAfter
	newest := o.sendTimes[(o.sendIdx+fpsWindow-1)%fpsWindow]
	s.FirstSent, s.LastSent = o.firstSent, newest
	if newest.IsZero() || now.Sub(newest) > time.Second {
		return s // idle: 0 fps
	}
	oldest, count := newest, 0
	for _, t := range o.sendTimes {
		if !t.IsZero() && newest.Sub(t) <= time.Second {
			count++
			if t.Before(oldest) {
				oldest = t
			}
		}
	}
	if span := newest.Sub(oldest); count > 1 && span > 0 {
		s.FPS = float64(count-1) / span.Seconds()
	}
	return s
}

// CopyLastSent copies the last frame actually sent to the device into dst and returns the number
// of bytes copied (0 before the first frame). It does not allocate, so a status page can preview
// exactly the pixels on the wire at any rate.
func (o *Output) CopyLastSent(dst []byte) int {
	o.statsMu.Lock()
	defer o.statsMu.Unlock()
	if !o.sentOnce {
		return 0
	}
	return copy(dst, o.lastSent)
}
