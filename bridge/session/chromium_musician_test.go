package session_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/analysis/color"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// supabaseUMD is the browser bundle of the supabase-js that testdata/realtime-interop pins;
// musician.mjs serves it to the page.
var supabaseUMD = filepath.Join("..", "..", "testdata", "realtime-interop", "node_modules", "@supabase", "supabase-js", "dist", "umd", "supabase.js")

// pageReport is what testdata/browser/musician.html recorded (its window.report).
type pageReport struct {
	Status                  string
	Vsn                     string
	Bridge                  string
	FirstOfferBy            string
	OffersSent              int
	OffersReceived          int
	AnswersSent             int
	AnswersReceived         int
	CandidatesSent          int
	CandidatesReceived      int
	EndOfCandidatesReceived bool
	ConnectionState         string
	LocalSDP                string
	RemoteSDP               string
	Errors                  []string
	Events                  []json.RawMessage
	Stats                   struct {
		PacketsSent int
		BytesSent   int
		Codec       string
	}
}

// musicianLine is one JSON line musician.mjs printed.
type musicianLine struct {
	Event         string
	Step          string
	Op            string
	Report        *pageReport
	Result        *pageReport
	PageErrors    []string
	Error         string
	BrowserFailed bool
}

// chromiumMusician is one musician played by testdata/browser/musician.mjs: a page in headless
// Chromium with supabase-js and a WebRTC connection to the bridge.
type chromiumMusician struct {
	t      *testing.T
	id     string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan musicianLine
	stderr bytes.Buffer // written by exec until Wait returns; read after exited is closed
	exited chan struct{}
	err    error // Wait's, once exited is closed
	killed context.Context
}

// startChromiumMusician starts musician.mjs; the whole process group (node and Chromium) is killed
// after timeout, whatever state it is in.
func startChromiumMusician(t *testing.T, nodePath string, opts map[string]any, timeout time.Duration) *chromiumMusician {
	t.Helper()
	raw, _ := json.Marshal(opts)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	m := &chromiumMusician{t: t, id: opts["id"].(string), lines: make(chan musicianLine, 64), exited: make(chan struct{}), killed: ctx}
	m.cmd = exec.CommandContext(ctx, nodePath, "musician.mjs", string(raw))
	m.cmd.Dir = browserDir
	m.cmd.Env = append(os.Environ(), "DEBUG=pw:browser") // Chromium's own stderr, via playwright
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	m.cmd.Cancel = func() error { return syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL) }
	m.cmd.WaitDelay = 5 * time.Second
	m.cmd.Stderr = &m.stderr
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node: %v", err)
	}
	go func() {
		defer cancel()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var l musicianLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Logf("%s: %s", m.id, sc.Bytes())
				continue
			}
			m.lines <- l
		}
		close(m.lines)
		m.err = m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(m.stop)
	return m
}

// next returns the script's next event other than progress, or false once it has exited.
func (m *chromiumMusician) next() (musicianLine, bool) {
	for l := range m.lines {
		if l.Event == "step" {
			m.t.Logf("%s: %s", m.id, l.Step)
			continue
		}
		return l, true
	}
	return musicianLine{}, false
}

// waitConnected waits for the page's connection to the bridge. It returns the page's report, or
// an error saying why not and whether the browser itself failed (worth one retry).
func (m *chromiumMusician) waitConnected() (*pageReport, bool, error) {
	for {
		l, ok := m.next()
		switch {
		case !ok:
			m.stop()
			if m.killed.Err() != nil {
				return nil, true, errors.New("the browser script was killed at its hard timeout")
			}
			return nil, true, fmt.Errorf("the browser script exited without a result: %v", m.err)
		case l.Event == "connected":
			return l.Report, false, nil
		case l.Error != "":
			m.stop()
			return l.Result, l.BrowserFailed, fmt.Errorf("%s (page errors %q)", l.Error, l.PageErrors)
		}
	}
}

// command sends one command and waits for the script to have carried it out.
func (m *chromiumMusician) command(cmd map[string]any) musicianLine {
	m.t.Helper()
	raw, _ := json.Marshal(cmd)
	if _, err := m.stdin.Write(append(raw, '\n')); err != nil {
		m.t.Fatalf("%s: command %s: %v\nChromium's stderr (last lines):\n%s", m.id, raw, err, m.logTail())
	}
	for {
		l, ok := m.next()
		if !ok {
			m.t.Fatalf("%s: the browser script ended during %s\nChromium's stderr (last lines):\n%s", m.id, raw, m.logTail())
		}
		if l.Event == "done" && l.Op == cmd["op"] {
			return l
		}
		if l.Error != "" {
			m.t.Fatalf("%s: %s during %s\nChromium's stderr (last lines):\n%s", m.id, l.Error, raw, m.logTail())
		}
	}
}

// stop ends the script (closing its stdin asks it to finish) and waits for it.
func (m *chromiumMusician) stop() {
	_ = m.stdin.Close()
	for range m.lines {
	}
	<-m.exited
}

// logTail is the end of Chromium's and node's stderr; only once the script has exited.
func (m *chromiumMusician) logTail() string {
	select {
	case <-m.exited:
		return lastLines(m.stderr.String(), 30)
	default:
		return "(the script is still running)"
	}
}

// saveLog keeps Chromium's stderr in the artifacts folder once the script has exited.
func (m *chromiumMusician) saveLog(dir, name string) string {
	m.stop()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, m.stderr.Bytes(), 0o644); err != nil {
		m.t.Error(err)
	}
	return path
}

// joinChromium opens the page for musician id and waits until its WebRTC connection to the bridge
// is up, retrying once (with a fresh peerId, as a reloaded tab has) if the browser itself failed.
func joinChromium(t *testing.T, r *rig, nodePath, chromiumPath, out, id string, opts map[string]any) (*chromiumMusician, *pageReport) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		o := map[string]any{
			"chromium": chromiumPath, "url": r.hubURL, "room": testCode, "id": fmt.Sprintf("%s-%d", id, attempt),
			"connectTimeoutMs": 30000,
		}
		for k, v := range opts {
			o[k] = v
		}
		m := startChromiumMusician(t, nodePath, o, 150*time.Second)
		rep, browserFailed, err := m.waitConnected()
		if err == nil {
			t.Logf("%s connected: first offer by %s, %d offers sent, %d received, %d/%d candidates sent/received",
				m.id, rep.FirstOfferBy, rep.OffersSent, rep.OffersReceived, rep.CandidatesSent, rep.CandidatesReceived)
			writeSDPs(t, out, m.id, rep)
			return m, rep
		}
		logPath := m.saveLog(out, fmt.Sprintf("chromium-%s.log", m.id))
		if rep != nil {
			writeSDPs(t, out, m.id, rep)
		}
		if browserFailed && attempt == 1 {
			t.Logf("attempt %d: the browser failed (%v); Chromium's stderr is in %s, last lines:\n%s", attempt, err, logPath, m.logTail())
			waitFor(t, 15*time.Second, "the bridge released "+m.id, func() bool { _, ok := r.musicianStatus(m.id); return !ok })
			continue
		}
		t.Fatalf("%s in Chromium: %v\npage report: %s\nChromium's stderr (%s), last lines:\n%s", m.id, err, describePage(rep), logPath, m.logTail())
	}
}

// writeSDPs keeps the page's last local and remote descriptions with the artifacts.
func writeSDPs(t *testing.T, dir, id string, rep *pageReport) {
	for name, sdp := range map[string]string{"local": rep.LocalSDP, "remote": rep.RemoteSDP} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.sdp", id, name)), []byte(sdp), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func describePage(rep *pageReport) string {
	if rep == nil {
		return "(none)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "channel %s, bridge %q, connection %s, first offer by %q, errors %q\nevents:", rep.Status, rep.Bridge, rep.ConnectionState, rep.FirstOfferBy, rep.Errors)
	for _, e := range rep.Events {
		fmt.Fprintf(&b, "\n  %s", e)
	}
	fmt.Fprintf(&b, "\nlocal SDP:\n%s\nremote SDP:\n%s", rep.LocalSDP, rep.RemoteSDP)
	return b.String()
}

// pitchClassShare samples the bridge's notes for the musician for d and returns the share of
// frames in which pitch class pc sounded, and the share of the most frequent other pitch class.
func pitchClassShare(r *rig, id string, pc int, d time.Duration) (share, other float64, counts map[int]int) {
	counts = map[int]int{}
	frames := 0
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		m, ok := r.musicianStatus(id)
		if !ok {
			continue
		}
		frames++
		seen := map[int]bool{}
		for _, n := range m.Notes {
			seen[n.MIDI%12] = true
		}
		for k := range seen {
			counts[k]++
		}
	}
	if frames == 0 {
		return 0, 0, counts
	}
	for k, n := range counts {
		if k != pc {
			other = max(other, float64(n)/float64(frames))
		}
	}
	return float64(counts[pc]) / float64(frames), other, counts
}

// stripHues is, over the frames received since from, how many lit, saturated LEDs show each pitch
// class's hue (note mode: pitch class k at 30·k degrees), after undoing the strip's gamma 2.2.
func stripHues(frames []wledtest.Frame, from time.Time, leds, bpl int) (hues map[int]int, lit int) {
	hues = map[int]int{}
	for _, f := range frames {
		if f.Received.Before(from) || len(f.Pixels) != leds*bpl {
			continue
		}
		for i := 0; i < leds; i++ {
			p := f.Pixels[i*bpl:]
			if int(p[0])+int(p[1])+int(p[2]) < 60 {
				continue
			}
			lit++
			lin := func(v byte) float32 { return float32(math.Pow(float64(v)/255, 1/2.2)) }
			hue, sat := color.HueOf(color.RGBF{R: lin(p[0]), G: lin(p[1]), B: lin(p[2])})
			if sat >= 0.2 {
				hues[int(math.Round(float64(hue)/30))%12]++
			}
		}
	}
	return hues, lit
}

// hexHue is the hue of a "#rrggbb" colour.
func hexHue(hex string) float64 {
	var r, g, b int
	if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return math.NaN()
	}
	h, _ := color.HueOf(color.RGBF{R: float32(r) / 255, G: float32(g) / 255, B: float32(b) / 255})
	return float64(h)
}

// checkHears asserts that the bridge hears pitch class pc from the musician, shows it in its
// snapshot with that pitch class's colour, and lights the DDP strip in that colour.
func checkHears(t *testing.T, r *rig, id string, pc int, name string) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("the bridge hears %s from %s", name, id), func() bool {
		m, ok := r.musicianStatus(id)
		return ok && len(m.Notes) > 0 && m.Notes[0].MIDI%12 == pc
	})
	share, other, counts := pitchClassShare(r, id, pc, 3*time.Second)
	t.Logf("%s: pitch classes over 3 s (frames each sounded in): %v", id, counts)
	if share < 0.8 {
		t.Errorf("%s: %s (pitch class %d) detected in %.0f%% of frames, want most", id, name, pc, 100*share)
	}
	if other > 0.2 {
		t.Errorf("%s: another pitch class detected in %.0f%% of frames while %s plays a pure %s", id, 100*other, id, name)
	}
	m, _ := r.musicianStatus(id)
	for _, n := range m.Notes {
		if n.MIDI%12 != pc {
			continue
		}
		if h := hexHue(n.Color); math.Abs(h-float64(30*pc)) > 15 {
			t.Errorf("%s: the snapshot colours %s %s (hue %.0f), want pitch class %d's hue %d", id, n.Name, n.Color, h, pc, 30*pc)
		}
	}

	from := time.Now()
	time.Sleep(time.Second)
	hues, lit := stripHues(r.ddp.Frames(), from, 300, 3)
	total := 0
	for _, n := range hues {
		total += n
	}
	t.Logf("%s: the DDP strip's lit LEDs over 1 s: %d, by pitch-class hue %v", id, lit, hues)
	if total == 0 {
		t.Fatalf("%s: no coloured LED on the DDP strip while %s sounds", id, name)
	}
	if s := float64(hues[pc]) / float64(total); s < 0.8 {
		t.Errorf("%s: %.0f%% of the strip's coloured LEDs show %s's hue, want most (%v)", id, 100*s, name, hues)
	}
}

// checkBridgeSide asserts what the bridge reports of the page's connection: Opus (Chromium's and
// PROTOCOL.md §4's first choice) and trickled candidates both ways.
func checkBridgeSide(t *testing.T, r *rig, id string, rep *pageReport) {
	t.Helper()
	s, _ := r.musicianStatus(id)
	t.Logf("bridge side: %s %s, codec %s, packets %d, level %.3f", s.Name, s.WebRTC, s.Codec, s.Packets, s.Level)
	if s.Codec != "opus" {
		t.Errorf("%s: the bridge receives %q from Chromium, want opus", id, s.Codec)
	}
	if rep.CandidatesSent == 0 || rep.CandidatesReceived == 0 {
		t.Errorf("%s: no trickle ICE: %d candidates sent by the page, %d received from the bridge", id, rep.CandidatesSent, rep.CandidatesReceived)
	}
}

// TestChromiumMusician plays a musician in headless Chromium, as the product's musicians are
// Chrome tabs: supabase-js (its browser bundle) joins the embedded LAN room server, tracks Presence
// as a musician and negotiates WebRTC with the bridge over webrtc-signal broadcasts with trickle
// ICE, sending a Web Audio sine. The bridge must connect, hear the note, and light the fake WLED
// strip in the note's colour; the colour follows when the tone changes. First the page offers;
// then a page sends its microphone (getUserMedia on Chromium's fake device playing a WAV), with
// the browser's audio processing; last a page on Realtime vsn 1.0.0 waits for the bridge's offer,
// answers it, and is closed without leaving.
func TestChromiumMusician(t *testing.T) {
	chromiumPath, nodePath := requireBrowser(t)
	if _, err := os.Stat(supabaseUMD); err != nil {
		requireOrSkip(t, "testdata/realtime-interop has no node_modules (cd testdata/realtime-interop && npm ci)")
	}
	out := artifactDir(t)
	r := newRigWith(t, effect.ModeAuto, hub.Config{}, func(sc *session.Config) {
		sc.Peer.OfferDelay = 2 * time.Second // PROTOCOL.md §4
	})

	t.Run("page offers", func(t *testing.T) {
		m, rep := joinChromium(t, r, nodePath, chromiumPath, out, "chrome-offers", map[string]any{"name": "Chrome A4", "host": true, "hz": 440, "mode": "offer"})
		if rep.FirstOfferBy != "page" || rep.OffersReceived != 0 {
			t.Errorf("the page offered first? first offer by %q, %d offers from the bridge", rep.FirstOfferBy, rep.OffersReceived)
		}
		waitFor(t, 10*time.Second, "the bridge reports "+m.id+" connected", func() bool {
			s, ok := r.musicianStatus(m.id)
			return ok && s.WebRTC == "connected" && s.Packets > 0
		})
		checkBridgeSide(t, r, m.id, rep)
		checkHears(t, r, m.id, 9, "A4")

		// The colour follows the note: C5 instead of A4.
		m.command(map[string]any{"op": "tone", "hz": 523.25})
		checkHears(t, r, m.id, 0, "C5")

		// Muted (the track disabled: Chromium sends silence), the note goes, and its light.
		m.command(map[string]any{"op": "mute", "on": true})
		waitFor(t, 5*time.Second, "the bridge hears no note from muted "+m.id, func() bool {
			s, ok := r.musicianStatus(m.id)
			return ok && len(s.Notes) == 0
		})
		from := time.Now()
		time.Sleep(2 * time.Second)
		hues, lit := stripHues(r.ddp.Frames(), from.Add(time.Second), 300, 3)
		s, _ := r.musicianStatus(m.id)
		t.Logf("%s muted: level %.3f, %s, the DDP strip's lit LEDs over 1 s: %d, by pitch-class hue %v", m.id, s.Level, s.WebRTC, lit, hues)
		if hues[0] > 0 {
			t.Errorf("%s muted: %d LEDs still show C's hue a second after the note stopped", m.id, hues[0])
		}
		m.command(map[string]any{"op": "mute", "on": false})
		checkHears(t, r, m.id, 0, "C5")

		last := m.command(map[string]any{"op": "leave"}).Report
		t.Logf("page stats: %+v", last.Stats)
		waitFor(t, 15*time.Second, "the bridge released "+m.id, func() bool { _, ok := r.musicianStatus(m.id); return !ok })
		m.saveLog(out, fmt.Sprintf("chromium-%s.log", m.id))
	})

	t.Run("microphone", func(t *testing.T) {
		// The microphone as the web app opens it (getUserMedia, default constraints), with
		// Chromium's fake capture device playing an A4 sine from a file.
		wav := filepath.Join(t.TempDir(), "a4.wav")
		writeSineWAV(t, wav, 440, 10*time.Second)
		m, rep := joinChromium(t, r, nodePath, chromiumPath, out, "chrome-mic", map[string]any{"name": "Chrome mic", "source": "mic", "wav": wav, "mode": "offer"})
		waitFor(t, 10*time.Second, "the bridge reports "+m.id+" connected", func() bool {
			s, ok := r.musicianStatus(m.id)
			return ok && s.WebRTC == "connected" && s.Packets > 0
		})
		checkBridgeSide(t, r, m.id, rep)
		// getUserMedia's default processing (noise suppression, gain control) takes a steady tone
		// for noise and turns it down over a few seconds (level 0.2 → 0.04 here): the bridge
		// must still hear it once that has settled.
		s, _ := r.musicianStatus(m.id)
		time.Sleep(3 * time.Second)
		settled, _ := r.musicianStatus(m.id)
		t.Logf("%s: level %.3f at first, %.3f 3 s later", m.id, s.Level, settled.Level)
		checkHears(t, r, m.id, 9, "A4")
		m.command(map[string]any{"op": "leave"})
		waitFor(t, 15*time.Second, "the bridge released "+m.id, func() bool { _, ok := r.musicianStatus(m.id); return !ok })
		m.saveLog(out, fmt.Sprintf("chromium-%s.log", m.id))
	})

	t.Run("bridge offers", func(t *testing.T) {
		m, rep := joinChromium(t, r, nodePath, chromiumPath, out, "chrome-answers", map[string]any{"name": "Chrome A3", "hz": 220, "mode": "answer", "offerAfterMs": 6000, "vsn": "1.0.0"})
		if rep.Vsn != "1.0.0" {
			t.Errorf("the page's supabase-js speaks Realtime vsn %q, want 1.0.0", rep.Vsn)
		}
		if rep.FirstOfferBy != "bridge" || rep.OffersSent != 0 || rep.AnswersSent == 0 {
			t.Errorf("the bridge should have offered and the page answered: first offer by %q, %d offers and %d answers sent by the page", rep.FirstOfferBy, rep.OffersSent, rep.AnswersSent)
		}
		if !strings.Contains(rep.LocalSDP, "a=sendonly") && !strings.Contains(rep.LocalSDP, "a=sendrecv") {
			t.Errorf("the page's answer does not send audio:\n%s", rep.LocalSDP)
		}
		waitFor(t, 10*time.Second, "the bridge reports "+m.id+" connected", func() bool {
			s, ok := r.musicianStatus(m.id)
			return ok && s.WebRTC == "connected" && s.Packets > 0
		})
		checkBridgeSide(t, r, m.id, rep)
		checkHears(t, r, m.id, 9, "A3")
		m.command(map[string]any{"op": "close"}) // the tab closes without leaving
		waitFor(t, 15*time.Second, "the bridge released "+m.id, func() bool { _, ok := r.musicianStatus(m.id); return !ok })
		m.saveLog(out, fmt.Sprintf("chromium-%s.log", m.id))
	})
}

// writeSineWAV writes a 48 kHz mono 16-bit WAV of a sine at hz, for Chromium's fake microphone
// (which loops it).
func writeSineWAV(t *testing.T, path string, hz float64, d time.Duration) {
	t.Helper()
	const rate = 48000
	n := int(d.Seconds() * rate)
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(1)) // mono
	le(uint32(rate))
	le(uint32(2 * rate))
	le(uint16(2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(2 * n))
	for i := 0; i < n; i++ {
		le(int16(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*hz*float64(i)/rate)))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
