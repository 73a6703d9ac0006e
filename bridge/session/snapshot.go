package session

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/printable"
	"github.com/ledbridge/ledbridge/bridge/sdnotify"
	"github.com/ledbridge/ledbridge/bridge/status"
	"github.com/ledbridge/ledbridge/wled"
)

var _ status.Provider = (*Session)(nil)
var _ status.Controller = (*Session)(nil)

// rebase gives a time the devices' retries set with time.Now, t, as the same distance from now,
// the snapshot's time: both reach the page as wall-clock readings, and the page shows the one
// from the other ("next in 30 s"), which a step of the wall clock between the two (NTP on a Pi
// that booted with an old clock) must not move. The distance is monotonic.
func rebase(now, t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return now.Add(time.Until(t))
}

// Snapshot is the session's state for the status page. It never contains a secret.
func (s *Session) Snapshot() status.Snapshot {
	now := s.clock.Now()
	rt := s.client.Status()
	snap := status.Snapshot{
		Version: s.cfg.Version,
		Time:    now,
		Room: status.Room{
			Code:     string(s.cfg.Code),
			HostedBy: s.cfg.HostedBy,
			URL:      s.roomURL(),
			Connection: status.Connection{
				State: rt.State.String(),
				Since: rt.Since,
			},
			Look:        effect.Look(s.loop.look.Load()).String(),
			Blackout:    s.loop.blackout.Load(),
			TestPattern: s.loop.before(now, s.loop.testUntil.Load()),
		},
		Dropped:   status.DroppedMsgs{Broadcasts: s.dropped.broadcasts.Load(), Signals: s.dropped.signals.Load()},
		Musicians: []status.Musician{},
		Devices:   []status.Device{},
	}
	if rt.Err != nil {
		snap.Room.Connection.LastError = rt.Err.Error()
	}
	peerStats := map[peer.MusicianID]peer.MusicianStats{}
	ps := s.peers.Stats()
	for _, m := range ps.Musicians {
		peerStats[m.ID] = m
	}
	snap.MaxPeers = ps.MaxPeers
	snap.MusiciansNotFollowed = int(s.notFollowed.Load())
	snap.Dropped.Signals += ps.MalformedSignals + ps.MissingSender + ps.RefusedOffersDropped

	s.mu.Lock()
	snap.Room.Mode = s.mode.String()
	snap.Room.Tempo = s.tempo
	snap.Room.Playing = s.playing
	switch brightness := s.effectCfg.BrightnessCap; brightness {
	case 0:
		snap.Room.Brightness = effect.DefaultBrightnessCap // a zero Config field means the default
	case effect.Dark: // dark, held as Dark because 0 would mean the default
		snap.Room.Brightness = 0
	default:
		snap.Room.Brightness = float64(brightness)
	}
	palette := s.effectCfg.Palette
	musicians := make([]*musician, 0, len(s.musicians))
	away := make(map[*musician]bool, len(s.away))
	for _, m := range s.musicians {
		musicians = append(musicians, m)
	}
	for _, m := range s.away {
		away[m] = true
	}
	s.mu.Unlock()
	// A reloaded page's record shares its index with her old one, held away: the id keeps the
	// two in one order from one refresh to the next.
	slices.SortFunc(musicians, func(a, b *musician) int { return cmp.Or(a.index-b.index, strings.Compare(a.id, b.id)) })

	for _, m := range musicians {
		m.mu.Lock()
		ms := status.Musician{
			ID:       m.id,
			Name:     m.meta.Name,
			IsHost:   m.meta.IsHost,
			JoinedAt: m.meta.JoinedAt,
			WebRTC:   m.peerState.String(),
			Codec:    m.codec,
			Away:     away[m],
			Level:    float64(m.notes.Level),
			Notes:    []status.Note{},
		}
		for _, n := range m.notes.ActiveNotes() {
			ms.Notes = append(ms.Notes, status.Note{
				Name: analysis.NoteName(n.MIDI), MIDI: n.MIDI, Hz: round1(float64(n.Hz)), Velocity: round2(float64(n.Velocity)),
				Color: palette.NoteRGB(m.index, n.MIDI).Hex(),
			})
		}
		m.mu.Unlock()
		if st := m.stream.Load(); st != nil {
			as := st.Stats()
			ms.AudioDroppedMS = round1(float64(as.RingDropped) * 1000 / audio.SampleRate)
			ms.PacketsSkipped = as.Stale + as.OverBudget
		}
		// One refused by the cap has no PeerConnection (a stranger's holds only her offer): her
		// state reads "new" until a slot frees, and the page must say why.
		ms.WaitingForSlot = slices.Contains(ps.Waiting, peer.MusicianID(m.id))
		if p, ok := peerStats[peer.MusicianID(m.id)]; ok {
			ms.WebRTC = p.ConnectionState.String()
			ms.Packets = p.PacketsReceived
			ms.PacketsLost = p.PacketsLost
			if total := p.PacketsReceived + p.PacketsLost; total > 0 {
				ms.LossPercent = round2(100 * float64(p.PacketsLost) / float64(total))
			}
			ms.JitterMS = round2(float64(p.Jitter) / float64(time.Millisecond))
		}
		snap.Musicians = append(snap.Musicians, ms)
	}

	strips, lines := s.devices.view()
	for _, st := range strips {
		o := st.out.Stats()
		t := st.target
		d := status.Device{
			ID: st.key, Name: st.name, IP: t.Host, LEDs: t.LEDs, RGBW: t.RGBW, Protocol: t.Protocol.String(),
			Online: stripOnline(st, o, now), Driven: true, FPS: round1(o.FPS), Frames: o.FramesSent, Packets: o.Packets, Errors: o.SendErrors, Dropped: o.Dropped,
			Look: st.lookName(), DeviceLEDs: int(st.deviceLEDs.Load()),
		}
		if l, ok := lines[st.key]; ok && st.configured {
			// Its line's look-ups fail (the name, the JSON API): it streams to its last address.
			d.LastError, d.Attempts, d.NextAttempt = l.err, l.attempts, rebase(now, l.next)
		}
		snap.Devices = append(snap.Devices, d)
	}
	// A configured line no strip drives yet (its name does not resolve, its WLED does not answer,
	// its socket cannot be opened) is listed offline under the key and name its strip will have,
	// with why and when it is tried again: the operator sees the strip they configured is missing.
	waiting := make([]lineState, 0, len(lines))
	for _, l := range lines {
		if l.waiting {
			waiting = append(waiting, l)
		}
	}
	slices.SortFunc(waiting, func(a, b lineState) int { return strings.Compare(a.key, b.key) })
	for _, l := range waiting {
		t := l.target
		snap.Devices = append(snap.Devices, status.Device{
			ID: l.key, Name: l.name, IP: t.Host, LEDs: t.LEDs, RGBW: t.RGBW, Protocol: l.protocol.String(),
			LastError: l.err, Attempts: l.attempts, NextAttempt: rebase(now, l.next),
		})
	}
	// Devices discovery knows of but cannot drive yet (offline, unknown LED count) show too; one
	// a configured strip drives is that strip's entry already (Identify knows it by that name),
	// and one a configured line not driven yet names is that line's.
	known := map[string]bool{}
	for _, d := range snap.Devices {
		known[d.ID] = true
	}
	for _, d := range s.devices.registryDevices() {
		if known[d.Key] || standsFor(strips, d) || waitsFor(waiting, d) {
			continue
		}
		ip := ""
		if d.IP.IsValid() {
			ip = d.IP.String()
		}
		protocol := "" // not confirmed by its JSON API yet: no protocol chosen
		if d.Protocol != wled.ProtocolUnknown {
			protocol = d.Protocol.String()
		}
		snap.Devices = append(snap.Devices, status.Device{ID: d.Key, Name: d.Name, IP: ip, LEDs: d.LEDs, RGBW: d.RGBW, Protocol: protocol, Online: d.Online,
			LastError: deviceErrorText(d.LastError)})
	}

	ts := s.ticker.Stats()
	lat := s.loop.latency.summary()
	cpu, rss, g := s.proc.Sample(now)
	snap.Pipeline = status.Pipeline{
		Ticks:          ts.Ticks,
		LateTicks:      ts.LateTicks,
		FrameTimeP50MS: ms(ts.FrameTime.P50),
		FrameTimeP99MS: ms(ts.FrameTime.P99),
		IntervalP99MS:  ms(ts.Interval.P99),
		LatencyP50MS:   ms(lat.P50),
		LatencyP99MS:   ms(lat.P99),
		CPUPercent:     round1(cpu),
		RSSBytes:       rss,
		Goroutines:     g,
	}
	// The rate over the last seconds, not over the interval ring's last 600 ticks: at 6 fps those
	// span 100 s, and review 280's starved loop read 12-14 fps a minute after its strips fell to
	// 4.5-7. Its first second, before a whole one, reads from the ring.
	if recent := s.ticker.Recent(now); recent.Seconds > 0 {
		snap.Pipeline.FPS = round1(recent.FPS())
	} else if ts.Interval.Mean > 0 {
		snap.Pipeline.FPS = round1(float64(time.Second) / float64(ts.Interval.Mean))
	}
	snap.Health = s.health(now, realtimeHealthState(rt))
	return snap
}

// stripOnline is what the status page and /metrics say of st: online while discovery (or its
// configured line's look-ups) says the device answers and frames are reaching it (o, at now).
func stripOnline(st *strip, o wled.OutputStats, now time.Time) bool {
	sending := (o.LastSent.IsZero() || now.Sub(o.LastSent) < 2*time.Second) && !o.Failing
	return st.online.Load() && sending
}

// maxDeviceErrorRunes bounds a device's error on the status page, as discover's and
// test-pattern's tables bound theirs: it may quote what a device or a DNS server answered.
const maxDeviceErrorRunes = 160

// deviceErrorText is a device's error for the status page: printable (control and bidi
// characters escaped) and at most maxDeviceErrorRunes runes.
func deviceErrorText(err string) string { return printable.Escape(err, maxDeviceErrorRunes) }

// roomURL is the room's URL as musicians reach it now: Config.CurrentRoomURL's answer when set
// (and not empty), else the one given at start-up.
func (s *Session) roomURL() string {
	if s.cfg.CurrentRoomURL != nil {
		if u := s.cfg.CurrentRoomURL(); u != "" {
			return u
		}
	}
	return s.cfg.RoomURL
}

// health is /healthz: the loop must be ticking and the room joined. A loop falling behind (the
// CPU cannot keep up) is healthy with a reason: it still drives the strips and keeps the
// musicians, a restart would make it no faster, and a monitor should not see it come and go
// with the load; its WARN line and the reason say so. The loop counts as hung when the systemd
// watchdog stops pinging for it (sdnotify.HangAfter: half WatchdogSec, 5 s in the shipped unit,
// longer than three periods at the lowest output.fps). It was a second: review 280's loop at 1 %
// of a core still ticked once or twice a second, and /healthz flapped between 200 and 503.
func (s *Session) health(now time.Time, rtState string) status.Health {
	if since := s.ticker.SinceTick(now); since >= sdnotify.HangAfter() {
		return status.Health{Reason: "the frame loop has not ticked for " + since.Round(time.Second).String()}
	}
	if rtState != "joined" {
		return status.Health{Reason: "room not joined (realtime " + rtState + ")"}
	}
	if s.ticker.Behind() {
		p := s.ticker.Recent(now)
		return status.Health{OK: true, Reason: fmt.Sprintf("falling behind: %.0f %% of frames skipped over the last %d s (%.1f fps); the CPU cannot keep up",
			100*p.SkippedShare(), p.Seconds, p.FPS())}
	}
	return status.Health{OK: true}
}

// SinceTick is how long ago the frame loop's last tick started, or the loop was made if it has
// not ticked yet (for the systemd watchdog, which judges it against its own WatchdogSec).
func (s *Session) SinceTick() time.Duration { return s.ticker.SinceTick(s.clock.Now()) }

// Previews appends the pixels last sent to each device.
func (s *Session) Previews(dst []status.Preview) []status.Preview {
	for i, st := range s.devices.current() {
		var buf []byte
		if i < cap(dst) {
			buf = dst[:i+1][i].Pixels
		}
		n := st.frameBytes
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:st.out.CopyLastSent(buf[:n])]
		dst = append(dst, status.Preview{ID: st.key, RGBW: st.out.RGBW(), Pixels: buf})
	}
	return dst
}

// SetMode switches between auto, local and broadcast.
func (s *Session) SetMode(mode string) error {
	m, err := effect.ParseMode(mode)
	if err != nil {
		return err
	}
	s.mu.Lock()
	changed := s.mode != m
	s.mode = m
	s.mu.Unlock()
	if changed {
		s.log.Info("mode switched", "mode", m.String())
	}
	return nil
}

// SetBrightness changes the global brightness cap, 0–1.
func (s *Session) SetBrightness(v float64) error {
	if math.IsNaN(v) || v < 0 || v > 1 {
		return fmt.Errorf("brightness must be between 0 and 1 (got %v)", v)
	}
	s.mu.Lock()
	cfg := s.effectCfg
	cfg.BrightnessCap = float32(v)
	if cfg.BrightnessCap == 0 {
		// A zero field means "the default" to the renderer; dark is the smallest positive cap, for 0
		// and for whatever float32 rounds to 0.
		cfg.BrightnessCap = effect.Dark
	}
	s.mu.Unlock()
	return s.SetEffects(cfg)
}

// SetEffects replaces the effect settings of every strip (SIGHUP reload, controls).
func (s *Session) SetEffects(cfg effect.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.effectCfg = cfg
	s.mu.Unlock()
	s.loop.effectGen.Add(1)
	return nil
}

// SetBlackout turns every strip off (or back on).
func (s *Session) SetBlackout(on bool) error {
	s.loop.blackout.Store(on)
	s.log.Info("blackout", "on", on)
	return nil
}

// TestPattern shows a moving rainbow on every strip for d.
func (s *Session) TestPattern(d time.Duration) error {
	s.loop.testUntil.Store(s.loop.deadline(s.clock.Now().Add(d)))
	return nil
}

// ErrUnknownDevice is returned by Identify for a device that is not being driven.
var ErrUnknownDevice = errors.New("unknown device")

// Identify flashes one strip for three seconds.
func (s *Session) Identify(id string) error {
	for _, st := range s.devices.current() {
		if st.key == id {
			st.identifyUntil.Store(s.loop.deadline(s.clock.Now().Add(3 * time.Second)))
			return nil
		}
	}
	return fmt.Errorf("%w %q", ErrUnknownDevice, strings.TrimSpace(id))
}

// NoteColor is the colour musician index gives a note on the strips, for displays.
func (s *Session) NoteColor(musician, midi int) color.RGB {
	s.mu.Lock()
	p := s.effectCfg.Palette
	s.mu.Unlock()
	return p.NoteRGB(musician, midi)
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }
func round1(v float64) float64   { return math.Round(v*10) / 10 }
func round2(v float64) float64   { return math.Round(v*100) / 100 }
