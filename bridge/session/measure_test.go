//go:build measure

package session_test

// Measurements of the live pipeline against issue 4's figures (CPU and RSS, processing latency,
// frame pacing). They are not unit tests: each runs only when its environment variable is set,
// asserts nothing about timing, and logs its figures (lines starting "MEASURE") for
// docs/benchmarks/pipeline.md. .ci/measure runs all of them.
//
//	LEDBRIDGE_MEASURE_CPU=60s       TestMeasureCPU: the ledbridge binary, 4 musicians, 4 strips
//	LEDBRIDGE_MEASURE_LATENCY=1     TestMeasureLatency: note bursts → first lit DDP frame, in-process
//	LEDBRIDGE_MEASURE_PACING=10m    TestMeasurePacing: the ledbridge binary's frame intervals
//	LEDBRIDGE_MEASURE_CPU_PROFILE=60s TestMeasureCPUInProcess: the same load in-process, for -cpuprofile
//	LEDBRIDGE_MEASURE_BIN=PATH      (optional) the binary tests run instead of building cmd/ledbridge

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/ledbridge/ledbridge/analysis"
	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
	"github.com/ledbridge/ledbridge/bridge/session"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// measureEnv returns the value of the measurement's environment variable, or skips the test.
func measureEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("a measurement, not a unit test: set %s to run it (see .ci/measure)", name)
	}
	return v
}

func measureDuration(t *testing.T, name string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(measureEnv(t, name))
	if err != nil || d <= 0 {
		t.Fatalf("%s: want a duration such as 60s, got %q", name, os.Getenv(name))
	}
	return d
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// pct returns the nearest-rank q-quantile of sorted d.
func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(d)))) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// daemon is a running `ledbridge join` process hosting the room on its embedded server.
type daemon struct {
	cmd       *exec.Cmd
	hubURL    string
	statusURL string // "" when the status page is off

	mu     sync.Mutex
	stderr strings.Builder
}

func (d *daemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stderr.Len() < 1<<20 {
		d.stderr.Write(p)
	}
	return len(p), nil
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// startDaemon builds ledbridge without cgo and runs `join` on loopback, ICE on lo only, mDNS and
// discovery off, driving devices. statusPage turns the status page (and /metrics) on.
func startDaemon(t *testing.T, devices []string, statusPage bool) *daemon {
	t.Helper()
	requireLoopback(t)
	dir := t.TempDir()
	// LEDBRIDGE_MEASURE_BIN runs a binary built beforehand (to compare builds of the same tree
	// back to back, e.g. with and without PGO, without the build's CPU load in between).
	bin := os.Getenv("LEDBRIDGE_MEASURE_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "ledbridge")
		build := exec.Command("go", "build", "-o", bin, "../../cmd/ledbridge")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("webrtc:\n  network_types: [udp4]\n  interfaces: [lo]\n  mdns: disabled\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"join", testCode, "--config", cfg, "--no-discovery", "--listen", "127.0.0.1:0", "--status-addr", ""}
	if statusPage {
		args[len(args)-1] = "127.0.0.1:0"
	}
	for _, dev := range devices {
		args = append(args, "--device", dev)
	}
	d := &daemon{cmd: exec.Command(bin, args...)}
	d.cmd.Stderr = d
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("MEASURE daemon: %s %s (pid %d)", bin, strings.Join(args, " "), d.cmd.Process.Pid)
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
		}
	})
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		u := urlRE.FindString(line)
		switch {
		case u != "" && strings.HasPrefix(line, "Status page"):
			d.statusURL = u
		case u != "" && d.hubURL == "":
			d.hubURL = u
		}
		if d.hubURL != "" && (!statusPage || d.statusURL != "") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if d.hubURL == "" || statusPage && d.statusURL == "" {
		t.Fatalf("the daemon printed no room or status URL; stderr:\n%s", d.log())
	}
	return d
}

// procCPU reads a process's user+system CPU time from /proc/PID/stat (in clock ticks of 10 ms:
// Linux reports USER_HZ = 100 to user space on every architecture Go supports).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may contain spaces) start at state (field 3).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// procStatusKB reads a "Key:   N kB" line of /proc/PID/status.
func procStatusKB(t *testing.T, pid int, key string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return -1
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// frameSum is a frame's total brightness: the sum of its bytes.
func frameSum(px []byte) int {
	s := 0
	for _, v := range px {
		s += int(v)
	}
	return s
}

// fourStrips starts the four 300-LED DDP fake strips of the CPU measurements.
func fourStrips(t *testing.T) (strips []*wledtest.Fake, urls []string) {
	for i := range 4 {
		f := wledtest.New(t, wledtest.Config{LEDs: 300, Name: fmt.Sprintf("strip%d", i)})
		strips = append(strips, f)
		urls = append(urls, f.DDPURL())
	}
	return strips, urls
}

// TestMeasureCPU measures the ledbridge binary's CPU time and memory with 4 musicians streaming
// 128 kbit/s stereo Opus (CELT fullband, testdata/latency/music_stereo_cbr128.opus, looped) and 4
// DDP strips of 300 LEDs at 60 fps. The musicians and fake strips run in the test process, on
// the same cores: the daemon's figure is its own CPU time, the test process's is logged beside it.
func TestMeasureCPU(t *testing.T) {
	window := measureDuration(t, "LEDBRIDGE_MEASURE_CPU")
	strips, urls := fourStrips(t)
	d := startDaemon(t, urls, false)
	pid := d.cmd.Process.Pid

	fix := filepath.Join("..", "..", "testdata", "latency", "music_stereo_cbr128.opus")
	pkts := loadPackets(t, fix)
	bytes, stereo := 0, 0
	for _, p := range pkts {
		bytes += len(p)
		if p[0]&0x04 != 0 { // the TOC byte's stereo flag (RFC 6716 §3.1)
			stereo++
		}
	}
	t.Logf("MEASURE cpu: fixture %s: %d packets (%d stereo), mean %.0f bytes = %.1f kbit/s", filepath.Base(fix), len(pkts), stereo, float64(bytes)/float64(len(pkts)), float64(bytes)*8/(float64(len(pkts))*0.020)/1000)

	var players []*testMusician
	for i := range 4 {
		players = append(players, startMusician(t, musicianOpts{id: fmt.Sprintf("m%d", i), name: fmt.Sprintf("Musician %d", i), fixture: fix, offers: i%2 == 0, hubURL: d.hubURL, code: testCode}))
	}
	for _, m := range players {
		waitFor(t, 30*time.Second, m.id+" connected to the daemon", m.connected)
	}
	for _, f := range strips {
		waitFor(t, 10*time.Second, f.Config().Name+" shows the music", func() bool {
			fr := f.Frames()
			return len(fr) > 0 && frameSum(fr[len(fr)-1].Pixels) > 0
		})
	}
	time.Sleep(5 * time.Second) // let start-up work (builds, handshakes, GC of the first buffers) settle

	load0 := loadAvg()
	sent0 := int64(0)
	for _, m := range players {
		sent0 += m.sent.Load()
	}
	frames0 := make([]int, len(strips))
	for i, f := range strips {
		frames0[i] = f.FrameCount()
	}
	cpu0, self0, t0 := procCPU(t, pid), selfCPU(), time.Now()
	time.Sleep(window)
	cpu1, self1, t1 := procCPU(t, pid), selfCPU(), time.Now()
	load1 := loadAvg()
	elapsed := t1.Sub(t0)

	sent := int64(0)
	for _, m := range players {
		sent += m.sent.Load()
		if !m.connected() {
			t.Errorf("%s lost its connection during the measurement", m.id)
		}
	}
	sent -= sent0
	var fpsText []string
	for i, f := range strips {
		fpsText = append(fpsText, fmt.Sprintf("%.1f", float64(f.FrameCount()-frames0[i])/elapsed.Seconds()))
		if f.Malformed() > 0 {
			t.Errorf("%s: %d malformed packets", f.Config().Name, f.Malformed())
		}
	}
	cpuPct := 100 * float64(cpu1-cpu0) / float64(elapsed)
	t.Logf("MEASURE cpu: window %v, daemon CPU %v = %.2f %% of one core; test process (4 musicians, 4 fake strips) %.2f %% of one core",
		elapsed.Round(time.Millisecond), cpu1-cpu0, cpuPct, 100*float64(self1-self0)/float64(elapsed))
	t.Logf("MEASURE cpu: daemon VmRSS %d kB, VmHWM %d kB, threads %d", procStatusKB(t, pid, "VmRSS"), procStatusKB(t, pid, "VmHWM"), procStatusKB(t, pid, "Threads"))
	t.Logf("MEASURE cpu: packets sent %d (%.1f/s for 4 musicians), strip fps %s", sent, float64(sent)/elapsed.Seconds(), strings.Join(fpsText, " "))
	t.Logf("MEASURE cpu: load average at start %s, at end %s", load0, load1)
}

// TestMeasurePacing runs the ledbridge binary with one musician and one DDP strip of 300 LEDs and
// measures the intervals between the frames the strip receives, and the daemon's late ticks.
func TestMeasurePacing(t *testing.T) {
	window := measureDuration(t, "LEDBRIDGE_MEASURE_PACING")
	strip := wledtest.New(t, wledtest.Config{LEDs: 300, Name: "strip", MaxFrames: int(window.Seconds()*61) + 1000})
	d := startDaemon(t, []string{strip.DDPURL()}, true)
	m := startMusician(t, musicianOpts{id: "ana", name: "Ana", fixture: fixture("a3_220hz.opus"), offers: true, hubURL: d.hubURL, code: testCode})
	waitFor(t, 30*time.Second, "ana connected to the daemon", m.connected)
	waitFor(t, 10*time.Second, "the strip shows the music", func() bool {
		fr := strip.Frames()
		return len(fr) > 0 && frameSum(fr[len(fr)-1].Pixels) > 0
	})
	time.Sleep(3 * time.Second)

	metric := func(name string) float64 {
		resp, err := http.Get(d.statusURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		t.Fatalf("/metrics has no %s", name)
		return 0
	}
	// The daemon's own view of its tick intervals: p99 over its last 600 ticks, sampled every 10 s.
	var tickerP99 []float64
	pipelineP99 := func() {
		resp, err := http.Get(d.statusURL + "/api/status")
		if err != nil {
			return
		}
		defer resp.Body.Close()
		var s struct {
			Pipeline struct {
				IntervalP99MS float64 `json:"intervalP99Ms"`
			} `json:"pipeline"`
		}
		if json.NewDecoder(resp.Body).Decode(&s) == nil {
			tickerP99 = append(tickerP99, s.Pipeline.IntervalP99MS)
		}
	}

	load0 := loadAvg()
	late0, ticks0 := metric("ledbridge_loop_late_ticks_total"), metric("ledbridge_loop_ticks_total")
	cpu0 := procCPU(t, d.cmd.Process.Pid)
	t0 := time.Now()
	for time.Since(t0) < window {
		time.Sleep(min(10*time.Second, window-time.Since(t0)))
		pipelineP99()
	}
	t1 := time.Now()
	late1, ticks1 := metric("ledbridge_loop_late_ticks_total"), metric("ledbridge_loop_ticks_total")
	cpu1 := procCPU(t, d.cmd.Process.Pid)
	load1 := loadAvg()

	var iv []time.Duration
	var prev time.Time
	for _, f := range strip.Frames() {
		if f.Received.Before(t0) || f.Received.After(t1) {
			continue
		}
		if !prev.IsZero() {
			iv = append(iv, f.Received.Sub(prev))
		}
		prev = f.Received
	}
	if len(iv) == 0 {
		t.Fatal("no frames in the window")
	}
	slices.Sort(iv)
	var sum time.Duration
	over := map[time.Duration]int{}
	for _, v := range iv {
		sum += v
		for _, lim := range []time.Duration{18700 * time.Microsecond, 25 * time.Millisecond, 33 * time.Millisecond} {
			if v > lim {
				over[lim]++
			}
		}
	}
	elapsed := t1.Sub(t0)
	t.Logf("MEASURE pacing: window %v, %d frames received (%.2f fps), %d daemon ticks, %v late ticks (skipped slots)",
		elapsed.Round(time.Second), len(iv)+1, float64(len(iv))/prev.Sub(t0).Seconds(), int(ticks1-ticks0), late1-late0)
	t.Logf("MEASURE pacing: inter-frame interval at the strip: mean %s ms, p1 %s, p50 %s, p99 %s, p99.9 %s, min %s, max %s ms",
		ms(sum/time.Duration(len(iv))), ms(pct(iv, 0.01)), ms(pct(iv, 0.50)), ms(pct(iv, 0.99)), ms(pct(iv, 0.999)), ms(iv[0]), ms(iv[len(iv)-1]))
	t.Logf("MEASURE pacing: intervals > 18.7 ms: %d, > 25 ms: %d, > 33 ms: %d of %d",
		over[18700*time.Microsecond], over[25*time.Millisecond], over[33*time.Millisecond], len(iv))
	slices.Sort(tickerP99)
	if len(tickerP99) > 0 {
		t.Logf("MEASURE pacing: daemon ticker interval p99 per 10 s window (/api/status): median %.2f ms, worst %.2f ms over %d windows",
			tickerP99[len(tickerP99)/2], tickerP99[len(tickerP99)-1], len(tickerP99))
	}
	t.Logf("MEASURE pacing: daemon CPU %.2f %% of one core; load average at start %s, at end %s",
		100*float64(cpu1-cpu0)/float64(elapsed), load0, load1)
}

// burstOnsets decodes the fixture's packets with the bridge's own Opus decoder and returns the
// index of each packet that starts a burst: the first packet whose peak exceeds -40 dBFS after at
// least 10 packets (200 ms) below it.
func burstOnsets(t *testing.T, pkts [][]byte) []int {
	t.Helper()
	dec, err := audio.NewDecoder(audio.MimeTypeOpus, 1)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, audio.MaxPacketSamples)
	const thr = 0.01
	quiet := 0
	var onsets []int
	for i, p := range pkts {
		n, err := dec.Decode(p, pcm)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		var peak float32
		for _, v := range pcm[:n] {
			peak = max(peak, float32(math.Abs(float64(v))))
		}
		if peak >= thr {
			if quiet >= 10 {
				onsets = append(onsets, i)
			}
			quiet = 0
		} else {
			quiet++
		}
	}
	return onsets
}

// TestMeasureLatency streams note bursts (testdata/latency/note_bursts.opus) from one musician to
// an in-process session (room server, session and the fake strip all in the test process) in
// local mode, and measures, for every burst, the time from sending the RTP packet that carries
// the burst's first sound to the arrival of the first DDP frame whose brightness shows it.
func TestMeasureLatency(t *testing.T) {
	measureEnv(t, "LEDBRIDGE_MEASURE_LATENCY")
	pkts := loadPackets(t, filepath.Join("..", "..", "testdata", "latency", "note_bursts.opus"))
	onsets := burstOnsets(t, pkts)
	t.Logf("MEASURE latency: %d packets, %d burst onsets in the fixture", len(pkts), len(onsets))

	strip := wledtest.New(t, wledtest.Config{LEDs: 300, Name: "ddp-300", MaxFrames: len(pkts)*20/16 + 2000})
	clock := &wakeClock{}
	r := newRigWith(t, effect.ModeLocal, hub.Config{}, func(c *session.Config) {
		c.Devices = []string{strip.DDPURL()}
		c.Clock = clock
		// A dark idle look (idle: off), so that each burst's light is measured against a dark
		// strip: local mode shows the idle look until the first audible audio, and the first
		// burst's note would otherwise compete with a breath of the default look.
		c.Effect.Idle = effect.IdleOff
	})
	m := r.musician(musicianOpts{id: "ana", name: "Ana", offers: true}) // no fixture: we stream below
	waitFor(t, 30*time.Second, "ana connected to the bridge", m.connected)
	waitFor(t, 10*time.Second, "the bridge reports ana connected", func() bool {
		s, ok := r.musicianStatus("ana")
		return ok && s.WebRTC == "connected"
	})

	// Lead-in: 2 s of the fixture's first (silent) packets, so the jitter buffer has settled.
	sent := make([]time.Time, len(pkts))
	load0 := loadAvg()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range 100 {
		<-tick.C
		if err := m.track.WriteSample(media.Sample{Data: pkts[i%10], Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range pkts {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sent[i] = time.Now()
		if err := m.track.WriteSample(media.Sample{Data: p, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	load1 := loadAvg()
	if s, ok := r.musicianStatus("ana"); ok {
		t.Logf("MEASURE latency: bridge saw %d packets, %d lost, jitter %.2f ms", s.Packets, s.PacketsLost, s.JitterMS)
	}
	frames := strip.Frames()
	if strip.FrameCount() > len(frames) {
		t.Fatalf("the fake kept %d of %d frames", len(frames), strip.FrameCount())
	}

	// For each burst: the baseline is the brightest frame in the 100 ms before the onset packet
	// was sent (the previous note's tail has long faded: 500 ms of silence); the light shows the
	// note when a frame is brighter than the baseline by 5 % of the median burst peak.
	type burst struct {
		at        time.Time
		base, top int
	}
	bs := make([]burst, len(onsets))
	var peaks []int
	for k, p := range onsets {
		bs[k].at = sent[p]
		end := sent[p].Add(300 * time.Millisecond)
		for _, f := range frames {
			s := frameSum(f.Pixels)
			if f.Received.After(sent[p].Add(-100*time.Millisecond)) && f.Received.Before(sent[p]) {
				bs[k].base = max(bs[k].base, s)
			}
			if f.Received.After(sent[p]) && f.Received.Before(end) {
				bs[k].top = max(bs[k].top, s)
			}
		}
		peaks = append(peaks, bs[k].top)
	}
	slices.Sort(peaks)
	threshold := peaks[len(peaks)/2] / 20
	var lat []time.Duration
	litAt := make([]time.Time, len(bs))
	missed := 0
	for k, b := range bs {
		found := false
		for _, f := range frames {
			if !f.Received.After(b.at) {
				continue
			}
			if f.Received.Sub(b.at) > 300*time.Millisecond {
				break
			}
			if frameSum(f.Pixels) > b.base+threshold {
				lat = append(lat, f.Received.Sub(b.at))
				litAt[k] = f.Received
				found = true
				break
			}
		}
		if !found {
			missed++
		}
	}
	if len(lat) == 0 {
		t.Fatalf("no burst lit the strip (median peak brightness %d)", peaks[len(peaks)/2])
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, v := range lat {
		sum += v
	}
	t.Logf("MEASURE latency: %d onsets measured, %d not shown within 300 ms; threshold +%d (median burst peak %d, sum of bytes)", len(lat), missed, threshold, peaks[len(peaks)/2])
	t.Logf("MEASURE latency: RTP packet sent → first lit DDP frame received: mean %s ms, min %s, p50 %s, p90 %s, p99 %s, max %s ms",
		ms(sum/time.Duration(len(lat))), ms(lat[0]), ms(pct(lat, 0.5)), ms(pct(lat, 0.9)), ms(pct(lat, 0.99)), ms(lat[len(lat)-1]))
	t.Logf("MEASURE latency: pipeline %+v", r.sess.Snapshot().Pipeline)

	// Split each latency at the tick that rendered the lit frame (the last tick start before the
	// frame arrived): before it, the audio path (jitter buffer, decode) and the wait for ticks until
	// the analysis shows the note; after it, analysis, render, the device output and UDP.
	ticks := clock.tickStarts()
	var toFirstTick, toLitTick, afterTick []time.Duration
	for k, b := range bs {
		if k >= len(litAt) || litAt[k].IsZero() {
			continue
		}
		i, _ := slices.BinarySearchFunc(ticks, b.at, func(a, b time.Time) int { return a.Compare(b) })
		j, _ := slices.BinarySearchFunc(ticks, litAt[k], func(a, b time.Time) int { return a.Compare(b) })
		if i >= len(ticks) || j == 0 {
			continue
		}
		toFirstTick = append(toFirstTick, ticks[i].Sub(b.at))
		toLitTick = append(toLitTick, ticks[j-1].Sub(b.at))
		afterTick = append(afterTick, litAt[k].Sub(ticks[j-1]))
	}
	split := func(d []time.Duration) string {
		if len(d) == 0 {
			return "none"
		}
		slices.Sort(d)
		return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s ms", ms(pct(d, 0.5)), ms(pct(d, 0.9)), ms(pct(d, 0.99)), ms(d[len(d)-1]))
	}
	t.Logf("MEASURE latency: split over %d onsets (%d tick starts recorded): sent → first tick after it: %s", len(toFirstTick), len(ticks), split(toFirstTick))
	t.Logf("MEASURE latency: sent → start of the tick that rendered the lit frame: %s", split(toLitTick))
	t.Logf("MEASURE latency: that tick's start → lit frame received (analysis, render, output, UDP): %s", split(afterTick))
	// The same for every frame of the run, lit or not: what the device output and UDP add.
	var everyFrame []time.Duration
	for _, f := range frames {
		if j, _ := slices.BinarySearchFunc(ticks, f.Received, func(a, b time.Time) int { return a.Compare(b) }); j > 0 && f.Received.After(sent[0]) {
			everyFrame = append(everyFrame, f.Received.Sub(ticks[j-1]))
		}
	}
	slices.Sort(everyFrame)
	if len(everyFrame) > 0 {
		t.Logf("MEASURE latency: every frame, last tick start → frame received: n %d, min %s, p10 %s, %s", len(everyFrame), ms(everyFrame[0]), ms(pct(everyFrame, 0.1)), split(everyFrame))
	}
	t.Logf("MEASURE latency: load average at start %s, at end %s", load0, load1)
}

// TestMeasureLatencyOffline runs the same note bursts through the bridge's decoder, analyser and
// notes renderer in virtual time, with no network, jitter buffer or scheduling: packet p arrives
// at the end of its 20 ms, ticks fall every 800 samples, and each tick analyses all audio that
// has arrived. It splits the live figure into the wait for the next tick, the time until the
// analysis reports a note, and the time until the strip's brightness shows it.
func TestMeasureLatencyOffline(t *testing.T) {
	measureEnv(t, "LEDBRIDGE_MEASURE_LATENCY")
	pkts := loadPackets(t, filepath.Join("..", "..", "testdata", "latency", "note_bursts.opus"))
	onsets := burstOnsets(t, pkts)
	dec, err := audio.NewDecoder(audio.MimeTypeOpus, 1)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []float32
	buf := make([]float32, audio.MaxPacketSamples)
	for _, p := range pkts {
		n, err := dec.Decode(p, buf)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	const packet, tickSamples = 960, audio.SampleRate / 60
	at := func(samples int) time.Duration { return time.Duration(samples) * time.Second / audio.SampleRate }
	type frame struct {
		at     time.Duration // tick time, audio clock
		notes  int
		sum    int
		onset  bool
		peak   bool // PeakHz > 0
		attack bool
	}
	// 20 ms packets and 16.7 ms ticks meet in only 5 phases per 100 ms; run the whole fixture at
	// 17 tick phases 1 ms apart so the tick wait takes every value, as it does live.
	var wait, note, lit, extra []time.Duration
	var firstTicks, firstOnset, firstPeak, firstAttack int // what the first tick after an onset packet saw
	for phase := 0; phase < tickSamples; phase += audio.SampleRate / 1000 {
		an, err := analysis.New(analysis.Config{})
		if err != nil {
			t.Fatal(err)
		}
		rnd, err := effect.NewRenderer(effect.Config{}, effect.Strip{LEDs: 300})
		if err != nil {
			t.Fatal(err)
		}
		var frames []frame
		var feat analysis.Features
		px := make([]byte, 300*3)
		epoch := time.Unix(0, 0)
		written := 0
		for tick := tickSamples + phase; tick <= len(pcm); tick += tickSamples {
			avail := tick / packet * packet // whole packets arrived by this tick
			if avail > written {
				an.Write(pcm[written:avail])
				written = avail
			}
			an.Frame(&feat)
			n, err := rnd.Render(px, effect.Input{Now: epoch.Add(at(tick)), Look: effect.LookLocal, Playing: true, Sources: []effect.Source{{Features: &feat}}})
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, frame{at: at(tick), notes: feat.NumNotes, sum: frameSum(px[:n]), onset: feat.Onset, peak: feat.PeakHz > 0, attack: feat.Attack})
		}
		var peaks []int
		for _, p := range onsets {
			arrive := at((p + 1) * packet)
			top := 0
			for _, f := range frames {
				if f.at >= arrive && f.at < arrive+300*time.Millisecond {
					top = max(top, f.sum)
				}
			}
			peaks = append(peaks, top)
		}
		slices.Sort(peaks)
		threshold := peaks[len(peaks)/2] / 20
		for _, p := range onsets {
			arrive := at((p + 1) * packet)
			base := 0
			var w, nt, l time.Duration = -1, -1, -1
			for _, f := range frames {
				if f.at < arrive {
					if f.at > arrive-100*time.Millisecond {
						base = max(base, f.sum)
					}
					continue
				}
				if f.at > arrive+300*time.Millisecond {
					break
				}
				if w < 0 {
					w = f.at - arrive
					firstTicks++
					firstOnset += btoi(f.onset)
					firstPeak += btoi(f.peak)
					firstAttack += btoi(f.attack)
				}
				if nt < 0 && f.notes > 0 {
					nt = f.at - arrive
				}
				if l < 0 && f.sum > base+threshold {
					l = f.at - arrive
				}
			}
			wait = append(wait, w)
			if nt >= 0 {
				note = append(note, nt)
			}
			if l >= 0 {
				lit = append(lit, l)
				extra = append(extra, l-w)
			}
		}
	}
	summary := func(d []time.Duration) string {
		if len(d) == 0 {
			return "none"
		}
		slices.Sort(d)
		return fmt.Sprintf("n %d, p50 %s, p90 %s, p99 %s, max %s ms", len(d), ms(pct(d, 0.5)), ms(pct(d, 0.9)), ms(pct(d, 0.99)), ms(d[len(d)-1]))
	}
	t.Logf("MEASURE latency-offline: %d onsets × 17 tick phases; from the onset packet's arrival (virtual time, no network or jitter buffer):", len(onsets))
	t.Logf("MEASURE latency-offline: to the next tick: %s", summary(wait))
	t.Logf("MEASURE latency-offline: to the first tick whose Features have a note: %s", summary(note))
	t.Logf("MEASURE latency-offline: to the first frame brighter than the baseline by 5 %% of the median peak: %s", summary(lit))
	t.Logf("MEASURE latency-offline: of which after the first tick (analysis needs more audio): %s", summary(extra))
	t.Logf("MEASURE latency-offline: the first tick after an onset packet: Onset in %d, Attack in %d, PeakHz > 0 in %d of %d (the notes effect's first light needs both)", firstOnset, firstAttack, firstPeak, firstTicks)
}

// TestMeasureCPUInProcess is TestMeasureCPU's load (4 musicians of 128 kbit/s stereo Opus, 4 DDP
// strips of 300 LEDs) with the room server and session inside the test process, so that
// `go test -cpuprofile` can say where the bridge's CPU time goes. The profile also holds the
// musicians' and fake strips' work; read it by package (pprof -top, -focus).
func TestMeasureCPUInProcess(t *testing.T) {
	window := measureDuration(t, "LEDBRIDGE_MEASURE_CPU_PROFILE")
	strips, urls := fourStrips(t)
	r := newRigWith(t, effect.ModeAuto, hub.Config{}, func(c *session.Config) { c.Devices = urls })
	var players []*testMusician
	for i := range 4 {
		players = append(players, r.musician(musicianOpts{id: fmt.Sprintf("m%d", i), name: fmt.Sprintf("Musician %d", i), fixture: filepath.Join("..", "..", "testdata", "latency", "music_stereo_cbr128.opus"), offers: i%2 == 0}))
	}
	for _, m := range players {
		waitFor(t, 30*time.Second, m.id+" connected to the bridge", m.connected)
	}
	for _, f := range strips {
		waitFor(t, 10*time.Second, f.Config().Name+" shows the music", func() bool {
			fr := f.Frames()
			return len(fr) > 0 && frameSum(fr[len(fr)-1].Pixels) > 0
		})
	}
	cpu0, t0 := selfCPU(), time.Now()
	time.Sleep(window)
	t.Logf("MEASURE cpu-inprocess: window %v, whole test process (bridge + room server + 4 musicians + 4 fake strips) %.2f %% of one core; load average %s",
		time.Since(t0).Round(time.Millisecond), 100*float64(selfCPU()-cpu0)/float64(time.Since(t0)), loadAvg())
	t.Logf("MEASURE cpu-inprocess: pipeline %+v", r.sess.Snapshot().Pipeline)
}

// wakeClock is the system clock, recording when each sleep of the frame loop's ticker ended. The
// session uses its Clock for other timers too; the ticker's sleeps are told apart afterwards by
// their deadlines, which lie on one grid of whole periods.
type wakeClock struct {
	mu    sync.Mutex
	wakes []clockWake
}

type clockWake struct{ due, woke time.Time }

func (c *wakeClock) Now() time.Time { return time.Now() }

func (c *wakeClock) SleepUntil(ctx context.Context, due time.Time) error {
	if d := time.Until(due); d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	} else if ctx.Err() != nil {
		return ctx.Err()
	}
	woke := time.Now()
	c.mu.Lock()
	c.wakes = append(c.wakes, clockWake{due, woke})
	c.mu.Unlock()
	return nil
}

// tickStarts returns the wake-ups whose deadline is a whole number of 1/60 s periods (give or
// take 1 µs) from the next or previous deadline: the ticker's, in order.
func (c *wakeClock) tickStarts() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	due := map[int64]bool{}
	for _, w := range c.wakes {
		due[w.due.UnixNano()] = true
	}
	period := int64(time.Second / 60)
	onGrid := func(ns int64) bool {
		for _, k := range []int64{-2, -1, 1, 2} {
			for e := int64(-1000); e <= 1000; e += 1000 {
				if due[ns+k*period+e] {
					return true
				}
			}
		}
		return false
	}
	var out []time.Time
	for _, w := range c.wakes {
		if onGrid(w.due.UnixNano()) {
			out = append(out, w.woke)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
