// Package wledtest provides a fake WLED controller that speaks the real wire protocols on
// loopback: DDP on UDP, WLED's UDP realtime protocols (WARLS, DRGB, DRGBW, DNRGB), and the JSON API
// (/json/info, /json/state) over HTTP. It decodes packets into whole frames the way a WLED does
// (DDP push, DNRGB start offsets) and keeps strict books on anything malformed, so that any
// package's tests can check what really went over the wire. StartOutput runs a wled.Output
// for a test, stopped when the test ends.
package wledtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// Config describes the fake device. Every zero field has a default.
type Config struct {
	LEDs    int    // LED count reported and decoded into; default 30
	RGBW    bool   // 4 bytes per LED (DDP type 0x1B) instead of 3 (type 0x0B)
	Name    string // /json/info name; default "wledtest"
	MAC     string // /json/info mac; default a unique "02fc…" per fake
	Version string // /json/info ver; default "0.15.3"
	VID     int    // /json/info vid; default 2412100 (supports DDP)

	// Listen addresses ("127.0.0.1:0" when empty; port 0 picks a free port). Set one to "-" to
	// leave that listener off.
	DDPListen, RealtimeListen, HTTPListen string

	// MaxFrames bounds how many decoded frames are kept (oldest dropped); default 4096.
	MaxFrames int

	// SkipOutOfSequence turns on what WLED's "Skip out-of-sequence packets" option (off by
	// default) does to DDP: drop a packet whose sequence number is one of the four before the last
	// push packet's (1..15, round). Skipped counts them.
	SkipOutOfSequence bool

	// RealtimeTimeout is how long a DDP packet keeps the fake live: WLED's realtime timeout
	// setting (Sync settings "ET", cfg if.live.timeout), 2500 ms by default; 65 s (the setting's
	// maximum, and any longer value) is WLED's "never". UDP realtime packets carry their own
	// (the timeout byte: N keeps it live N×1000+1 ms, 255 for ever).
	RealtimeTimeout time.Duration

	// Now is the fake's clock, for its live state's timeout and Frame.Received; default time.Now.
	Now func() time.Time
}

// Frame is one frame as the fake device would show it.
type Frame struct {
	Protocol string    // "DDP", "WARLS", "DRGB", "DRGBW" or "DNRGB"
	Pixels   []byte    // the whole strip after this frame, LEDs × 3 (or 4 when RGBW) bytes
	Received time.Time // arrival of the frame's last packet
	Packets  int       // packets that made up the frame
	Complete bool      // every LED was written by this frame's packets
	Timeout  byte      // UDP realtime timeout byte (seconds); 0 for DDP
}

// StateRequest is one POST /json/state the fake received.
type StateRequest struct {
	Body []byte // raw JSON body
	Live *bool  // the "live" member, when present and boolean
}

// Fake is a running fake WLED. Create it with New or Start; all methods are safe for concurrent use.
type Fake struct {
	cfg       Config
	ch        int // bytes per LED
	ddpConn   *net.UDPConn
	rtConn    *net.UDPConn
	httpLn    net.Listener
	httpSrv   *http.Server
	wg        sync.WaitGroup
	closeOnce sync.Once

	packets   atomic.Int64
	malformed atomic.Int64

	// The mutex protects the following elements.
	mu         sync.Mutex
	info       wled.Info
	rawInfo    []byte // when non-nil, served verbatim by /json/info
	rawStatus  int
	dec        decoder
	frames     []Frame
	frameCount int
	reasons    []string
	releases   int
	seqGaps    int
	skipped    int
	states     []StateRequest
	changed    chan struct{} // closed and replaced whenever a frame is recorded
	// info.Live holds until liveUntil, or for ever with liveForever: WLED's realtimeTimeout
	// (realtimeLockLocked). It is ended lazily, by expireLocked, whenever live is read.
	liveUntil   time.Time
	liveForever bool
}

// defaultRealtimeTimeout is WLED's realtimeTimeoutMs default (wled.h), which DDP packets use.
const defaultRealtimeTimeout = 2500 * time.Millisecond

// realtimeNever is WLED's "never time out": a realtimeLock of 65000 ms (the settings' maximum,
// and {"live":true}) or of 255001 ms (timeout byte 255).
const realtimeNever = 65 * time.Second

var macCounter atomic.Uint32

// New starts a fake for a test and closes it in t.Cleanup. It fails the test if a socket cannot
// be opened.
func New(t testing.TB, cfg Config) *Fake {
	t.Helper()
	f, err := Start(cfg)
	if err != nil {
		t.Fatalf("wledtest: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// Start opens the fake's sockets and starts serving. Close stops it.
func Start(cfg Config) (*Fake, error) {
	if cfg.LEDs == 0 {
		cfg.LEDs = 30
	}
	if cfg.LEDs < 0 || cfg.LEDs > wled.MaxLEDs {
		return nil, fmt.Errorf("LEDs %d outside 1..%d", cfg.LEDs, wled.MaxLEDs)
	}
	if cfg.Name == "" {
		cfg.Name = "wledtest"
	}
	if cfg.MAC == "" {
		cfg.MAC = fmt.Sprintf("02fc%08x", macCounter.Add(1))
	}
	if cfg.Version == "" {
		cfg.Version = "0.15.3"
	}
	if cfg.VID == 0 {
		cfg.VID = 2412100
	}
	if cfg.MaxFrames <= 0 {
		cfg.MaxFrames = 4096
	}
	if cfg.RealtimeTimeout <= 0 {
		cfg.RealtimeTimeout = defaultRealtimeTimeout
	}
	cfg.RealtimeTimeout = min(cfg.RealtimeTimeout, realtimeNever) // the settings' range ends there
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := &Fake{cfg: cfg, ch: 3, changed: make(chan struct{})}
	if cfg.RGBW {
		f.ch = 4
	}
	f.dec = newDecoder(cfg.LEDs, f.ch)
	f.dec.skipOutOfSeq = cfg.SkipOutOfSequence
	var err error
	if f.ddpConn, err = listenUDP(cfg.DDPListen); err != nil {
		return nil, fmt.Errorf("DDP listener: %w", err)
	}
	if f.rtConn, err = listenUDP(cfg.RealtimeListen); err != nil {
		f.closeSockets()
		return nil, fmt.Errorf("realtime listener: %w", err)
	}
	if cfg.HTTPListen != "-" {
		addr := cfg.HTTPListen
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if f.httpLn, err = net.Listen("tcp", addr); err != nil {
			f.closeSockets()
			return nil, fmt.Errorf("HTTP listener: %w", err)
		}
	}
	f.info = wled.Info{
		Name:    cfg.Name,
		Version: cfg.Version,
		VID:     cfg.VID,
		MAC:     cfg.MAC,
		IP:      "127.0.0.1",
		Arch:    "esp32",
		LEDs:    wled.LEDsInfo{Count: cfg.LEDs, RGBW: cfg.RGBW, LC: 1, FPS: 42},
		UDPPort: 21324,
	}
	if cfg.RGBW {
		f.info.LEDs.LC = 3
	}
	if f.rtConn != nil {
		f.info.UDPPort = f.rtConn.LocalAddr().(*net.UDPAddr).Port
	}
	if f.ddpConn != nil {
		f.wg.Add(1)
		go f.readLoop(f.ddpConn, true)
	}
	if f.rtConn != nil {
		f.wg.Add(1)
		go f.readLoop(f.rtConn, false)
	}
	if f.httpLn != nil {
		f.httpSrv = &http.Server{Handler: f.handler(), ReadHeaderTimeout: 5 * time.Second}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			_ = f.httpSrv.Serve(f.httpLn)
		}()
	}
	return f, nil
}

func listenUDP(addr string) (*net.UDPConn, error) {
	if addr == "-" {
		return nil, nil
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(4 << 20) // absorb bursts while the race detector slows the reader
	return c, nil
}

func (f *Fake) closeSockets() {
	if f.ddpConn != nil {
		_ = f.ddpConn.Close()
	}
	if f.rtConn != nil {
		_ = f.rtConn.Close()
	}
	if f.httpLn != nil {
		_ = f.httpLn.Close()
	}
}

// Close stops all listeners and waits for the fake's goroutines to exit.
func (f *Fake) Close() error {
	f.closeOnce.Do(func() {
		if f.httpSrv != nil {
			_ = f.httpSrv.Close()
		}
		f.closeSockets()
		f.wg.Wait()
	})
	return nil
}

func (f *Fake) readLoop(c *net.UDPConn, ddp bool) {
	defer f.wg.Done()
	buf := make([]byte, 65536) // larger than any datagram, so oversize packets are seen as such
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		f.handlePacketFrom(buf[:n], ddp, f.cfg.Now(), from.Addr())
	}
}

func (f *Fake) handlePacket(pkt []byte, ddp bool, now time.Time) {
	f.handlePacketFrom(pkt, ddp, now, netip.Addr{})
}

// handlePacketFrom takes one datagram that from sent; a packet that locks realtime mode makes
// from the live sender (info.lip), as WLED's realtimeIP.
func (f *Fake) handlePacketFrom(pkt []byte, ddp bool, now time.Time, from netip.Addr) {
	f.packets.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	var res result
	if ddp {
		res = f.dec.ddp(pkt)
	} else {
		res = f.dec.realtime(pkt)
	}
	if res.err != nil {
		f.malformed.Add(1)
		if len(f.reasons) < 64 {
			f.reasons = append(f.reasons, res.err.Error())
		}
		return
	}
	if res.skipped {
		f.skipped++
		return
	}
	if res.seqGap {
		f.seqGaps++
	}
	if res.release {
		f.releases++
		f.exitRealtimeLocked()
		return
	}
	// Every packet WLED takes pixels from locks realtime mode, a frame's last or not.
	if ddp {
		f.realtimeLockLocked(now, f.cfg.RealtimeTimeout, wled.LiveMode(wled.ProtocolDDP))
	} else { // every UDP realtime protocol locks one mode: DRGB stands for them all
		f.realtimeLockLocked(now, time.Duration(pkt[1])*time.Second+time.Millisecond, wled.LiveMode(wled.ProtocolDRGB)) // 255 → 255001 ms: never
	}
	// WLED sets realtimeIP from each packet it takes pixels from (e131.cpp, udp.cpp) and
	// reports it as an IPv4 address, so an IPv4-mapped source is shown unmapped.
	f.info.LiveIP = ""
	if from.IsValid() {
		f.info.LiveIP = from.Unmap().String()
	}
	if res.frame == nil {
		return
	}
	fr := *res.frame
	fr.Received = now
	fr.Pixels = append([]byte(nil), fr.Pixels...)
	f.frames = append(f.frames, fr)
	if len(f.frames) >= 2*f.cfg.MaxFrames {
		f.frames = append(f.frames[:0], f.frames[len(f.frames)-f.cfg.MaxFrames:]...)
	}
	f.frameCount++
	close(f.changed)
	f.changed = make(chan struct{})
}

// realtimeLockLocked is WLED's realtimeLock (udp.cpp): live, in mode lm, for d from now, or for
// ever when d is WLED's "never"; once live for ever, no later lock shortens it.
func (f *Fake) realtimeLockLocked(now time.Time, d time.Duration, lm string) {
	f.expireLocked(now)
	if !f.liveForever {
		f.liveForever = d == realtimeNever || d == 255*time.Second+time.Millisecond // byte 66 (66001 ms) is not
		f.liveUntil = now.Add(d)
	}
	f.info.Live, f.info.LiveMode = true, lm
}

// exitRealtimeLocked is WLED's exitRealtime: a release, {"live":false}, or the timeout run out.
func (f *Fake) exitRealtimeLocked() {
	f.info.Live, f.info.LiveMode, f.info.LiveIP = false, "", ""
	f.liveForever, f.liveUntil = false, time.Time{}
}

// expireLocked ends realtime mode whose timeout passed, as WLED's loop does ("millis() >
// realtimeTimeout"): live through the deadline's millisecond, not after it.
func (f *Fake) expireLocked(now time.Time) {
	if f.info.Live && !f.liveForever && now.After(f.liveUntil) {
		f.exitRealtimeLocked()
	}
}

// DDPAddr is the DDP listener's "127.0.0.1:port" ("" when off).
func (f *Fake) DDPAddr() string { return connAddr(f.ddpConn) }

// RealtimeAddr is the UDP realtime listener's "127.0.0.1:port" ("" when off).
func (f *Fake) RealtimeAddr() string { return connAddr(f.rtConn) }

// HTTPAddr is the JSON API's "127.0.0.1:port" ("" when off).
func (f *Fake) HTTPAddr() string {
	if f.httpLn == nil {
		return ""
	}
	return f.httpLn.Addr().String()
}

func connAddr(c *net.UDPConn) string {
	if c == nil {
		return ""
	}
	return c.LocalAddr().String()
}

// URL names the fake as a wled:// device target: its JSON API, with ?ddpport= pointing DDP at the
// fake's DDP port (a real WLED always uses 4048, which tests cannot bind).
func (f *Fake) URL() string {
	u := "wled://" + f.HTTPAddr()
	if f.ddpConn != nil {
		u += "?ddpport=" + strconv.Itoa(f.ddpConn.LocalAddr().(*net.UDPAddr).Port)
	}
	return u
}

// DDPURL names the fake as a ddp:// device target with its LED count and colour order.
func (f *Fake) DDPURL() string {
	u := "ddp://" + f.DDPAddr() + "?leds=" + strconv.Itoa(f.cfg.LEDs)
	if f.cfg.RGBW {
		u += "&rgbw=1"
	}
	return u
}

// RealtimeURL names the fake as a UDP realtime target with the given scheme ("dnrgb", "drgb", …).
func (f *Fake) RealtimeURL(scheme string) string {
	return scheme + "://" + f.RealtimeAddr() + "?leds=" + strconv.Itoa(f.cfg.LEDs)
}

// Config returns the fake's configuration with defaults filled in.
func (f *Fake) Config() Config { return f.cfg }

// Frames returns copies of the recorded frames, oldest first (at most MaxFrames).
func (f *Fake) Frames() []Frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	start := 0
	if len(f.frames) > f.cfg.MaxFrames {
		start = len(f.frames) - f.cfg.MaxFrames
	}
	out := make([]Frame, len(f.frames)-start)
	copy(out, f.frames[start:])
	return out
}

// FrameCount is the number of frames decoded since the fake started (not bounded by MaxFrames).
func (f *Fake) FrameCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frameCount
}

// WaitFrames waits until at least n frames have been decoded and returns Frames(), or returns an
// error after timeout.
func (f *Fake) WaitFrames(n int, timeout time.Duration) ([]Frame, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		f.mu.Lock()
		count, ch := f.frameCount, f.changed
		f.mu.Unlock()
		if count >= n {
			return f.Frames(), nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return f.Frames(), fmt.Errorf("wledtest: %d of %d frames after %v (%d packets, %d malformed: %v)",
				count, n, timeout, f.Packets(), f.Malformed(), f.MalformedReasons())
		}
	}
}

// Packets is the number of UDP packets received on both ports.
func (f *Fake) Packets() int { return int(f.packets.Load()) }

// Malformed is the number of packets rejected by the strict decoder.
func (f *Fake) Malformed() int { return int(f.malformed.Load()) }

// MalformedReasons describes the first 64 rejected packets.
func (f *Fake) MalformedReasons() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reasons...)
}

// Releases counts UDP realtime packets with timeout byte 0 ("leave realtime mode now").
func (f *Fake) Releases() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.releases
}

// SequenceGaps counts breaks in the DDP numbering: a frame's first packet whose number is not one
// more (1..15, round) than the last push packet's, or a packet whose number is not that of the
// frame in progress (counted once: that frame's rest was lost and the packet began another).
// Every packet of a frame carries the same number; see wled.Sender.
func (f *Fake) SequenceGaps() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seqGaps
}

// Skipped counts DDP packets dropped by Config.SkipOutOfSequence.
func (f *Fake) Skipped() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.skipped
}

// StateRequests returns the POST /json/state requests received so far.
func (f *Fake) StateRequests() []StateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]StateRequest(nil), f.states...)
}

// Info returns what /json/info currently reports.
func (f *Fake) Info() wled.Info {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expireLocked(f.cfg.Now())
	return f.info
}

// SetInfo changes what /json/info reports (e.g. an old vid, another name). Live set by it holds
// until SetInfo, a release or {"live":false} ends it, as {"live":true} does on a WLED.
func (f *Fake) SetInfo(change func(*wled.Info)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expireLocked(f.cfg.Now())
	wasLive := f.info.Live
	change(&f.info)
	switch {
	case f.info.Live && !wasLive:
		f.liveForever = true
	case !f.info.Live:
		f.liveForever, f.liveUntil = false, time.Time{}
		f.info.LiveIP = "" // WLED's exitRealtime forgets the sender
	}
}

// SetRawInfo makes /json/info answer with this status and body verbatim (to imitate a device
// that is not a WLED); a nil body restores the normal reply.
func (f *Fake) SetRawInfo(status int, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rawStatus, f.rawInfo = status, body
}

const maxStateBody = 16 << 10

func (f *Fake) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json/info", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		f.expireLocked(f.cfg.Now())
		status, raw, info := f.rawStatus, f.rawInfo, f.info
		f.mu.Unlock()
		if raw != nil {
			if status == 0 {
				status = http.StatusOK
			}
			w.WriteHeader(status)
			_, _ = w.Write(raw)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(infoBody(info))
	})
	mux.HandleFunc("GET /json/state", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		f.expireLocked(f.cfg.Now())
		live := f.info.Live
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"on": true, "bri": 128, "live": live})
	})
	mux.HandleFunc("POST /json/state", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxStateBody+1))
		var obj map[string]json.RawMessage
		if err != nil || len(body) > maxStateBody || json.Unmarshal(body, &obj) != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":9}`)
			return
		}
		req := StateRequest{Body: body}
		if raw, ok := obj["live"]; ok {
			var live bool
			if json.Unmarshal(raw, &live) == nil {
				req.Live = &live
			}
		}
		f.mu.Lock()
		f.states = append(f.states, req)
		if req.Live != nil {
			// WLED's json.cpp: {"live":true} is realtimeLock(65000), live for ever (mode
			// "generic": lm ""); {"live":false} is exitRealtime.
			if *req.Live {
				f.realtimeLockLocked(f.cfg.Now(), realtimeNever, "")
			} else {
				f.exitRealtimeLocked()
			}
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true}`)
	})
	return mux
}

// infoBody is info as WLED 0.15's /json/info puts it (wled00/json.cpp serializeInfo), its keys
// written here rather than taken from wled.Info's tags, so that a mis-tagged field in the client
// shows up against the fake (review 314). Keys the client does not read are there too, as on a
// device.
func infoBody(info wled.Info) []byte {
	body := map[string]any{
		"ver": info.Version, "vid": info.VID, "cn": "Kōsen", "release": "ESP32",
		"leds": map[string]any{
			"count": info.LEDs.Count, "pwr": 0, "fps": info.LEDs.FPS, "maxpwr": 850, "maxseg": 32,
			"bootps": 0, "lc": info.LEDs.LC, "rgbw": info.LEDs.RGBW, "wv": 0, "cct": 0,
		},
		"str": false, "name": info.Name, "udpport": info.UDPPort, "simplifiedui": false,
		"live": info.Live, "liveseg": -1, "lm": info.LiveMode, "lip": info.LiveIP, "ws": 0,
		"fxcount": 187, "palcount": 71, "cpalcount": 0,
		"wifi": map[string]any{"bssid": "AA:BB:CC:DD:EE:FF", "rssi": -52, "signal": 96, "channel": 6, "ap": false},
		"arch": info.Arch, "core": "v3.3.6-16-gcc5440f6a2", "freeheap": 171232, "uptime": 12873,
		"brand": "WLED", "product": "FOSS", "mac": info.MAC, "ip": info.IP,
	}
	if info.LEDs.SegLC != nil { // before 0.14 a device does not say
		body["leds"].(map[string]any)["seglc"] = info.LEDs.SegLC
	}
	b, _ := json.Marshal(body)
	return b
}
