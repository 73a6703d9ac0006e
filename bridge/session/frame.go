package session

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/lograte"
	"github.com/ledbridge/ledbridge/wled"
)

// frameLoop is the work of one 60 fps tick: drain every musician's audio into its analyser, mix
// and analyse the room, choose the look, render one frame per strip and submit it. Everything it
// touches per tick is preallocated; it never waits on the network (outputs copy and send on their
// own goroutines).
type frameLoop struct {
	s *Session

	changed atomic.Bool // the musician set changed; rebuild the loop's copy

	// Owned by the loop goroutine.
	musicians    []*musician
	sources      []effect.Source
	aligned      *alignedMix // the musicians' audio, time-aligned for the mix; nil without sound sync
	mixed        []float32   // this tick's mix as the analyser got it (aliases aligned's buffer)
	mix          *analysis.Analyzer
	mixFeatures  analysis.Features
	mixFed       time.Time // when the mix last had audio for its analyser
	broadcast    []color.RGB
	broadcastGen uint64
	lastAudio    time.Time
	ticks        uint64
	soundSync    *wled.SoundSyncSender // nil unless configured
	syncSmooth   float32
	syncPeak     bool

	// Read by the status page: what the strips show (or fade to), the chosen look unless playback
	// is stopped, which the renderer shows as idle.
	look atomic.Int32 // effect.Look

	// Failures of a step that repeats every tick, logged at most once a minute.
	renderErrLog, syncErrLog lograte.Limiter

	// latency keeps recent onset-to-light samples for the status page.
	latency latencyRing

	// base is the clock's reading when the loop was made. The test pattern's and identify's
	// deadlines are kept as offsets from it (see deadline), not as wall-clock nanoseconds.
	base time.Time

	// Controls, set from any goroutine.
	blackout  atomic.Bool
	testUntil atomic.Int64 // a deadline (see deadline); 0 for none
	effectGen atomic.Uint64
}

func newFrameLoop(s *Session) (*frameLoop, error) {
	// The mix feeds only sound sync (level, bands, peak, onset): its notes would go unread, and
	// the note windows are most of an analyser's cost.
	mixCfg := s.cfg.Analysis
	mixCfg.SpectrumOnly = true
	mix, err := analysis.New(mixCfg)
	if err != nil {
		return nil, err
	}
	l := &frameLoop{
		s:         s,
		base:      s.clock.Now(),
		mix:       mix,
		sources:   make([]effect.Source, 0, 16),
		broadcast: make([]color.RGB, 0, 4096),

		renderErrLog: lograte.Limiter{Every: time.Minute},
		syncErrLog:   lograte.Limiter{Every: time.Minute},
	}
	l.changed.Store(true)
	if s.cfg.SoundSyncAddr != "" {
		if l.soundSync, err = wled.NewSoundSyncSender(s.cfg.SoundSyncAddr); err != nil {
			return nil, fmt.Errorf("session: sound sync: %w", err)
		}
		l.aligned = newAlignedMix()
	}
	return l, nil
}

func (l *frameLoop) musiciansChanged() { l.changed.Store(true) }

// deadline encodes t for the loop's deadline fields (testUntil, a strip's identifyUntil): the
// nanoseconds from base to t, never 0, which means "no deadline". time.Time's Sub uses the
// monotonic readings when both times have one (SystemClock's do), so an offset, unlike the
// wall-clock nanoseconds of t.UnixNano, is not moved by a step of the wall clock: NTP setting a
// Pi's clock back an hour during a 5 s test pattern would otherwise leave the rainbow on for an
// hour, and a step forward would cut it short.
func (l *frameLoop) deadline(t time.Time) int64 {
	d := int64(t.Sub(l.base))
	if d == 0 {
		d = 1 // a nanosecond late rather than no deadline at all
	}
	return d
}

// before reports whether now is before the encoded deadline d (see deadline).
func (l *frameLoop) before(now time.Time, d int64) bool {
	return d != 0 && int64(now.Sub(l.base)) < d
}

// run ticks the loop until ctx is done. Its sound sync sender, if any, runs for as long as the
// loop ticks: it stops after the last tick, so that no tick sends on a closed socket.
func (l *frameLoop) run(ctx context.Context) error {
	if l.soundSync == nil {
		return l.s.ticker.Run(ctx)
	}
	syncCtx, stopSync := context.WithCancel(context.Background())
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		_ = l.soundSync.Run(syncCtx) // ErrSoundSyncRunning only; run is called once
	}()
	defer func() {
		stopSync()
		<-syncDone
	}()
	return l.s.ticker.Run(ctx)
}

// sendSoundSync sends the mix as a WLED audio-reactive sound sync v2 packet every other tick
// (30 a second: WLED sends at most one per 20 ms and polls every 10 ms).
func (l *frameLoop) sendSoundSync() {
	f := &l.mixFeatures
	l.syncSmooth += 0.2 * (f.Level - l.syncSmooth)
	l.syncPeak = l.syncPeak || f.Onset
	if l.ticks%2 != 0 {
		return
	}
	p := wled.SoundSync{
		SampleRaw:    255 * min(f.Level*2, 1), // RMS of a full-scale sine is 0.707
		SampleSmooth: 255 * min(l.syncSmooth*2, 1),
		Peak:         l.syncPeak,
		MajorPeakHz:  f.PeakHz,
	}
	var peak float32
	for i, b := range f.Bands {
		p.FFT[i] = uint8(254 * min(max(b, 0), 1))
		peak = max(peak, b)
	}
	p.FFTMagnitude = 512 * peak
	if err := l.soundSync.Send(p); err != nil {
		l.s.met.loopErrors.WithLabelValues("sound_sync").Inc()
		if suppressed, ok := l.syncErrLog.Allow(l.s.clock.Now()); ok {
			l.s.log.Warn("sound sync packet not sent", "err", err, "warnings_suppressed", suppressed)
		}
		return
	}
	l.syncPeak = false
}

func (l *frameLoop) tick(now time.Time) {
	s := l.s
	if l.changed.Swap(false) {
		s.mu.Lock()
		// Cleared before reuse, here and below: a departed musician left in the slices' tails
		// would keep its analyser and PCM reachable for as long as the session runs.
		clear(l.musicians)
		l.musicians = l.musicians[:0]
		for _, m := range s.musicians {
			l.musicians = append(l.musicians, m)
		}
		s.mu.Unlock()
		// By index, and by id where two share one (a reload's new record beside the old one,
		// held for a while): the order of a frame's sources must not change from tick to tick.
		slices.SortFunc(l.musicians, func(a, b *musician) int { return cmp.Or(a.index-b.index, strings.Compare(a.id, b.id)) })
		if l.aligned != nil {
			l.aligned.follow(l.musicians)
		}
	}

	// Audio: each musician, then the mix.
	clear(l.sources)
	l.sources = l.sources[:0]
	var onsetArrival time.Time // newest packet of a musician whose note just started
	for i, m := range l.musicians {
		pcm, arrived := m.analyse()
		if arrived.After(l.lastAudio) {
			l.lastAudio = arrived
		}
		if hasNoteOnset(&m.features) && !arrived.IsZero() {
			onsetArrival = arrived
		}
		if l.aligned != nil {
			l.aligned.add(i, pcm, now)
		}
		l.sources = append(l.sources, effect.Source{Musician: m.index, Features: &m.features})
	}
	// The mix is analysed only for sound sync: the strips render each musician's own features.
	l.ticks++
	if l.soundSync != nil {
		l.mixed = l.aligned.mix(now)
		fading := false
		switch {
		case len(l.mixed) > 0:
			l.mix.Write(l.mixed)
			l.mixFed = now
		case now.Sub(l.mixFed) > silenceAfter:
			// Nobody delivers: the mix's windows decay as for real silence, or the last
			// note would go out to WLED's audio-reactive effects for as long as the room
			// stays quiet (as a stopped musician's own analyser; see silenceAfter). The step
			// into silence is no beat: the frame only fades (onlyFading), or WLED would get
			// a peak ≈ 200 ms after the music stopped.
			l.mix.Write(silence[:])
			fading = true
		}
		analyserFrame(l.mix, &l.mixFeatures, fading)
		l.sendSoundSync()
	}

	// Room state.
	s.mu.Lock()
	tempo, stopped, mode := s.tempo, s.stopped, s.mode
	ledAt := s.ledAt
	if s.ledGen != l.broadcastGen {
		l.broadcast = append(l.broadcast[:0], s.ledColors...)
		l.broadcastGen = s.ledGen
	}
	s.mu.Unlock()

	look := effect.ChooseLook(mode, now, l.lastAudio, ledAt)
	shown := look
	if stopped {
		shown = effect.LookIdle // the renderer fades every look to idle while stopped
	}
	l.look.Store(int32(shown))
	in := effect.Input{
		Now:       now,
		Look:      look,
		Playing:   !stopped,
		Tempo:     float32(tempo),
		Sources:   l.sources,
		Broadcast: l.broadcast,
	}

	gen := l.effectGen.Load()
	testing := l.before(now, l.testUntil.Load())
	blackout := l.blackout.Load()
	for _, st := range l.s.devices.current() {
		if st.renderer == nil || st.rendererGen != gen {
			if st.failedGen == gen+1 || !l.rebuildRenderer(st, gen) {
				continue // refused once for these settings (and logged): not again every tick
			}
		}
		n, err := st.renderer.Render(st.frame, in)
		if err != nil {
			l.s.met.loopErrors.WithLabelValues("render").Inc()
			if suppressed, ok := l.renderErrLog.Allow(now); ok {
				l.s.log.Error("cannot render a frame", "device", st.name, "err", err, "warnings_suppressed", suppressed,
					"addr", st.target.UDPAddr(), "key", st.key)
			}
			continue
		}
		frame := st.frame[:n]
		switch {
		case blackout:
			clear(frame)
		case testing:
			rainbow(frame, st.renderer.Strip().BytesPerLED(), now)
		}
		identify := l.before(now, st.identifyUntil.Load())
		if identify {
			flash(frame, now)
		}
		if identify || testing || blackout {
			// The brightness cap and the strip's current budget hold for these too, identify
			// during a blackout included: the flash is drawn over the cleared frame at full
			// white, which unchecked would draw many times the power supply's budget. And the
			// renderer's flash guard judges what the strip shows, not the frame it rendered:
			// a blackout toggled on and off, or identify over a pulse, are flashes too.
			st.renderer.Overlay(frame)
		}
		st.out.Submit(frame)
		l.s.met.framesRendered.Inc()
	}
	done := l.s.clock.Now()
	l.s.met.frameTime.Observe(done.Sub(now).Seconds())
	if !onsetArrival.IsZero() && shown == effect.LookLocal {
		l.latency.add(done.Sub(onsetArrival))
	}
}

func hasNoteOnset(f *analysis.Features) bool {
	for _, n := range f.ActiveNotes() {
		if n.Onset {
			return true
		}
	}
	return false
}

// latencyRing holds the last onsets' "newest RTP packet arrived → frame submitted" times: a
// lower bound of sound-to-light inside the bridge (the onset may sit in an earlier packet of the
// same tick), cheap enough to show live. docs/BENCHMARKS.md has the end-to-end measurement.
type latencyRing struct {
	mu     sync.Mutex
	d      [256]time.Duration
	cursor ringCursor
}

func (r *latencyRing) add(d time.Duration) {
	r.mu.Lock()
	r.d[r.cursor.advance(len(r.d))] = d
	r.mu.Unlock()
}

func (r *latencyRing) summary() Summary {
	r.mu.Lock()
	n := r.cursor.filled(len(r.d))
	d := make([]time.Duration, n)
	copy(d, r.d[:n])
	r.mu.Unlock()
	return summarize(d)
}

// rebuildRenderer makes st's renderer for the current effect settings; false if they are unusable.
// Settings that differ from the renderer's at most in the brightness cap (the status page's
// brightness control, a reload that changes nothing else) are applied to the renderer in place:
// a new one would restart every envelope, pulse, crossfade and the idle breath. Other settings
// need a new renderer, which crossfades from the old one's last picture (effect.Renderer.Continue).
func (l *frameLoop) rebuildRenderer(st *strip, gen uint64) bool {
	l.s.mu.Lock()
	cfg := l.s.effectCfg
	l.s.mu.Unlock()
	// The strip's own look (a strips: entry), if any, over the global one.
	shape, entry, look, others := l.s.devices.lookFor(st)
	if old := st.renderer; old != nil && st.shape == shape {
		if kept, _ := old.Reconfigure(cfg); kept { // an error is NewRenderer's to report
			st.rendererGen, st.failedGen = gen, 0
			if entry != st.lookEntry { // another entry with the very same look
				l.logLook(st, old, entry, others)
			}
			st.noteLook(entry, look)
			return true
		}
	}
	r, err := effect.NewRenderer(cfg, shape)
	if err != nil {
		l.s.log.Error("cannot render for device", "device", st.name, "strips_entry", entry-1, "err", err,
			"addr", st.target.UDPAddr(), "key", st.key)
		st.failedGen = gen + 1
		return false
	}
	if limit, dark := shape.MaxMilliamps, cfg.Current.DarkMilliamps(st.out.LEDs()); limit > 0 && dark >= limit {
		l.s.log.Warn("max_milliamps leaves no current for colour on this strip: it will stay dark",
			"device", st.name, "leds", st.out.LEDs(), "max_milliamps", limit, "dark_milliamps", dark,
			"addr", st.target.UDPAddr(), "key", st.key)
	}
	if entry != st.lookEntry || entry != 0 && shape != st.shape {
		l.logLook(st, r, entry, others)
	}
	// The new renderer fades from what the old one showed (and keeps its idle breath and flash
	// count): a reload that changes the effect, colours or idle look must not cut the strip.
	r.Continue(st.renderer)
	st.renderer, st.rendererGen, st.failedGen = r, gen, 0
	st.shape = shape
	st.noteLook(entry, look)
	return true
}

// noteLook records that st renders with the look of strips: entry (1 + its index, 0 for the
// global look), and names it for the status page when it changed: the words are made here, at
// a rebuild, never per frame.
func (st *strip) noteLook(entry int, look StripLook) {
	if st.look.Load() != nil && entry == st.lookEntry && look == st.lookOf {
		return
	}
	name := effect.GlobalLook
	if entry != 0 {
		name = effect.DescribeLook(entry-1, look.Look, look.OwnMaxMilliamps)
	}
	st.lookEntry, st.lookOf = entry, look
	st.look.Store(&name)
}

// logLook says which look st takes: a strips: entry's (the one place an operator sees that the
// entry found its device), or the global one again. Logged when a strip appears with an entry's
// look and when its entry changes, not at every rebuild. The strip's name is not unique (every
// fresh WLED is called "WLED"): its address and key tell the strips apart.
func (l *frameLoop) logLook(st *strip, r *effect.Renderer, entry int, others []int) {
	look := r.Strip()
	addr := st.target.UDPAddr()
	if entry == 0 {
		l.s.log.Info("strip takes the global look", "device", st.name, "effect", look.Effect.String(), "addr", addr, "key", st.key)
		return
	}
	l.s.log.Info("strip takes its own look", "device", st.name, "strips_entry", entry-1,
		"effect", look.Effect.String(), "color_mode", r.Palette().Mode.String(), "brightness", look.Brightness,
		"max_milliamps", look.MaxMilliamps, "reverse", look.Reverse, "mirror", look.Mirror, "addr", addr, "key", st.key)
	if len(others) > 0 {
		l.s.log.Warn("more than one strips: entry matches this device; the first applies", "device", st.name,
			"strips_entry", entry-1, "also_matching", others, "addr", addr, "key", st.key)
	}
}

// rainbow fills frame with a moving rainbow (the test pattern).
func rainbow(frame []byte, bpl int, now time.Time) {
	leds := len(frame) / bpl
	phase := float32(now.UnixNano()%4e9) / 4e9 * 360
	for i := 0; i < leds; i++ {
		c := color.HSV(phase+float32(i)*360/float32(max(leds, 1)), 1, 1).RGB8()
		p := frame[i*bpl:]
		p[0], p[1], p[2] = c.R, c.G, c.B
		if bpl == 4 {
			p[3] = 0
		}
	}
}

// flash blinks the whole strip white at 2 Hz (identify).
func flash(frame []byte, now time.Time) {
	var v byte
	if now.UnixNano()/250e6%2 == 0 {
		v = 255
	}
	for i := range frame {
		frame[i] = v
	}
}
